"""The pawn ledger: SQLite, hash chain, signed checkpoints, encryption at rest."""
