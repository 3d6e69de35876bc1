"""LDS file parsers and encoders (ICAO 9303-10). Sans-I/O, frozen dataclasses, raw bytes kept."""
