"""The police backend service: ingest, storage, inspector API and pages, its command line (``cli.py``)."""
