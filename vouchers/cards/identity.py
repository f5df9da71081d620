"""Identity verification (본인인증) behind an adapter.

A real deployment plugs in a licensed verification service (PASS, 공동인증서, 간편인증…): it confirms a
person and returns their CI (연계정보), a stable 88-character identifier of that person across services.
We never store the CI: `person_key()` turns it into a keyed hash (HMAC-SHA256 with IDENTITY_KEY_SECRET),
which is stable for the same person, cannot be reversed, and is what the audit log records.

The development stand-in (`IDENTITY_BACKEND=local`) treats name + birth date + phone as the person, so the
same details always give the same person and different details a different one. It exists so that the card
flow is real end to end without an external service; production refuses to start with it (config.py).
Anyone who knows a person's details passes it, so it gives no `strong` proof: a second login of a person who
is already linked waits for an admin's review (vouchers.cards.verify_identity).

`IDENTITY_BACKEND=none` is for a deployment that has no verification service contracted yet: learners cannot
verify themselves, and admins issue cards from the command line (`hrdnet cards issue`).
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from flask import current_app

from vouchers.errors import IdentityUnavailable


@dataclass(frozen=True)
class VerifiedIdentity:
    ci: str  # the verification service's connecting information; never stored
    birth_date: date
    # True only when the service itself proved the person is present (a challenge on their own phone or
    # certificate); then a further login of the same person may be linked without an admin's review.
    strong: bool = False


class IdentityVerifier(Protocol):
    def verify(self, *, name: str, birth_date: date, phone: str) -> VerifiedIdentity:
        """Confirm the person (the real services do this with a challenge on their phone or certificate)."""


class LocalIdentityVerifier:
    """Development and test stand-in: the CI is derived from the details given."""

    def verify(self, *, name: str, birth_date: date, phone: str) -> VerifiedIdentity:
        digits = "".join(ch for ch in phone if ch.isdigit())
        details = "|".join((unicodedata.normalize("NFC", name.strip()), birth_date.isoformat(), digits))
        return VerifiedIdentity(ci=hashlib.sha512(details.encode()).hexdigest()[:88], birth_date=birth_date)


class NoIdentityVerifier:
    """No verification service: every self-service verification is refused with a Korean explanation."""

    def verify(self, *, name: str, birth_date: date, phone: str) -> VerifiedIdentity:
        raise IdentityUnavailable()


_BACKENDS = {"local": LocalIdentityVerifier, "none": NoIdentityVerifier}
# Backends that only stand in for a real service during development; production refuses them (config.py).
DEVELOPMENT_BACKENDS = frozenset({"local"})


def verifier() -> IdentityVerifier:
    name = current_app.config["IDENTITY_BACKEND"]
    try:
        return _BACKENDS[name]()
    except KeyError:
        raise RuntimeError(f"unknown IDENTITY_BACKEND {name!r}; known: {', '.join(_BACKENDS)}") from None


def person_key(ci: str) -> str:
    """The pseudonymous key of a person: HMAC-SHA256 of the CI, hex (64 characters)."""
    secret = current_app.config["IDENTITY_KEY_SECRET"].encode()
    return hmac.new(secret, ci.encode(), hashlib.sha256).hexdigest()
