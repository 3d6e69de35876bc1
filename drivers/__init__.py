"""Card readers: :class:`verifier.transport.CardTransport` implementations and the emulated CCCD chip.

* ``pcsc.py``: PC/SC readers through pyscard; ``pcsc_watch.py``: their card insert/remove events;
  ``pcsc_codes.py``: the PC/SC return codes both map onto :mod:`verifier.errors`;
* ``nfc.py``: NFC readers through nfcpy;
* ``open.py``: the transport a ``reader.name`` spec names, and the list of attached readers;
* ``emulator/``: the emulated chip (card-side BAC, PACE, chip and active authentication), card
  profiles and their personalisation, the demo PKI and demo card;
* ``vpcd.py``, ``nfc_card.py``: serve an emulated card to pcscd (vsmartcard vpcd) or nfcpy's udp driver.
* ``scripted.py``: a scripted card for tests that asserts the exact APDUs sent and answers scripted responses.

Imports the verifier protocol core, pyscard and nfcpy only (never the service, biometrics or sync).
"""
