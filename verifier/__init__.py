"""chipid: read, verify and record Vietnamese CCCD chip cards at the counter.

The protocol core, sans-I/O (stdlib and crypto libraries only; talks to a card through
:class:`verifier.transport.CardTransport`):

* ``icao/``: ICAO 9303 MRZ, TLV, BAC, PACE, secure messaging, chip and active authentication,
  the LDS files (``icao/lds/``);
* ``cccd/``: Vietnamese specifics: the 12-digit ID number, the printed QR code, DG13, access keys;
* ``trust/``: certificates, CRLs, CSCA master lists, the trust store, passive authentication;
* ``inspection.py`` (parse what was read, run the checks), ``verdict.py`` (graded checks and the
  verdict policy), ``report.py`` (the clerk's rendering), ``errors.py`` (the one exception tree).

The counter service on top: ``scan.py`` (one card read, end to end), ``ledger/`` (the pawn
ledger), ``users.py``, ``api/`` (REST API and web pages), ``config.py`` (every setting),
``face_settings.py``, and the ``chipid`` command line (``cli.py``, ``commands/``, ``cli_options.py``).
Who may import whom: ``[tool.importlinter]`` in ``pyproject.toml``.
"""

__version__ = "0.1.0"
