"""The catalog's answer to "which organisation is this?" for accounts (hrdnet.auth.organisations)."""

from __future__ import annotations

from sqlalchemy import select

from courses.models import Ministry, Provider
from hrdnet.auth.organisations import OrganisationLookup
from hrdnet.extensions import db


def _provider_id(provider_id: int) -> int | None:
    return db.session.scalar(select(Provider.id).where(Provider.id == provider_id))


def _ministry_id(code: str) -> int | None:
    return db.session.scalar(select(Ministry.id).where(Ministry.code == code))


LOOKUP = OrganisationLookup(provider_id=_provider_id, ministry_id=_ministry_id)
