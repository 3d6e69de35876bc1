"""The police backend service: ingest, storage, inspector API."""
