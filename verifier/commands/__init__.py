"""Click command groups of the chipid CLI, one module per area."""
