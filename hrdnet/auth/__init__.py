"""Accounts, roles, login (with TOTP for admins and auditors) and API tokens."""
