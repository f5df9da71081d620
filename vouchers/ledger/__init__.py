"""The voucher ledger: accounts, balanced append-only transfers and holds (models, operations)."""
