"""TOTP secrets encrypted at rest with Fernet keys from configuration (TOTP_ENCRYPTION_KEYS).

The first key encrypts; every listed key decrypts, so a key is rotated by putting a new one first, running
`hrdnet users rotate-totp-key` (re-encrypts every stored secret with the first key), then dropping the old
one. A database copy without the keys gives no second factor.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class UnreadableSecret(RuntimeError):
    """A stored secret none of the configured keys decrypts (a key was dropped before rotating)."""


def _keys() -> MultiFernet:
    keys = current_app.config["TOTP_ENCRYPTION_KEYS"]
    if not keys:
        raise RuntimeError("TOTP_ENCRYPTION_KEYS is empty")
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(secret: str) -> str:
    return _keys().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _keys().decrypt(token.encode()).decode()
    except InvalidToken:
        raise UnreadableSecret("no configured TOTP_ENCRYPTION_KEYS key decrypts a stored secret") from None


def decrypt_or_none(token: str | None) -> str | None:
    return None if token is None else decrypt(token)


def reencrypt(token: str) -> str:
    """The same secret, encrypted with the first key (MultiFernet.rotate)."""
    try:
        return _keys().rotate(token.encode()).decode()
    except InvalidToken:
        raise UnreadableSecret("no configured TOTP_ENCRYPTION_KEYS key decrypts a stored secret") from None
