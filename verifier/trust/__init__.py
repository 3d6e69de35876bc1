"""Trust store (CSCA master lists, certificates, CRLs) and passive authentication."""
