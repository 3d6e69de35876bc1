"""Click command groups of the chipid CLI, one module per area (``chipid sync`` and ``chipid backend`` live in ``sync/``)."""
