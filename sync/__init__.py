"""Ledger delivery to the police backend, both ends.

Shop side: ``relay.py`` (the outbox relay), ``enrollment.py`` (device enrolment), ``client.py``
(pinned HTTPS). Shared: ``batch.py`` (the signed batch format). Police side: ``backend/`` (ingest,
storage on SQLite or PostgreSQL, inspector API and pages). Command lines: ``cli.py`` (``chipid
sync`` = ``python -m sync``) and ``backend/cli.py`` (``chipid backend`` = ``python -m sync.backend``).
``testing.py`` holds the helpers of the sync tests and benchmarks.

Imports of verifier: the ledger types, the settings, the shared CLI options and the errors; never
the counter service, readers or cameras.
"""
