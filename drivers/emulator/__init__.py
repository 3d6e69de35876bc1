"""The emulated CCCD chip: card-side protocol, personalisation, test PKI, attachment to vpcd and nfcpy."""
