"""CardTransport implementations (PC/SC, NFC) and the emulated CCCD chip."""
