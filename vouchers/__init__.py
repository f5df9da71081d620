"""Lifelong Learning Card accounts: cards, the ledger, quotes, enrolments and payments."""
