"""ICAO 9303 protocol core: MRZ, TLV, BAC, PACE, secure messaging, LDS. Sans-I/O."""
