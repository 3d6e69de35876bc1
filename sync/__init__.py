"""Ledger delivery to the police backend: outbox relay, batch format, backend service."""
