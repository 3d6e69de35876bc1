"""Vietnamese CCCD specifics: the 12-digit ID number, the printed QR code, DG13, access-key candidates."""
