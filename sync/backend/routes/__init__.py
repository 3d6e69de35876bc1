"""The police backend's HTTP API, one router per area (mounted by :func:`sync.backend.app.create_app`).

* :mod:`.health`: ``GET /api/v1/health`` (like the counter's) and ``/healthz``, no authentication;
* :mod:`.devices`: device enrolment, signed batch ingest, a device's chain head,
  enrolment tokens (admin);
* :mod:`.sessions`: inspector login and logout;
* :mod:`.inspector`: ledger search, person history, shops, export bundles, alerts;
* :mod:`.watchlist`: the watchlist;
* :mod:`.deps`: who is asking (bearer token or page cookie) and the database.
"""
