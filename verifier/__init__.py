"""chipid: read, verify and record Vietnamese CCCD chip cards at the counter."""

__version__ = "0.1.0"
