"""Names of the codes runs carry (region, NCS, programme, ministry), from the reference tables, and the
providers' addresses (the places a query may name that are no region: 판교, 가산, 송도).

Read from the database at most every LABELS_MAX_AGE seconds per database, and shared by facets, result
lines and the matching of category names. Names are not in the index, so renaming a programme needs no
reindex.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from hrdnet.extensions import db

LABELS_MAX_AGE = 300.0


@dataclass(frozen=True)
class Labels:
    ministries: dict[str, str]
    programmes: dict[str, str]
    regions: dict[str, str]
    ncs: dict[str, str]
    loaded_at: float
    places: dict[int, str] = field(default_factory=dict)  # provider id -> its address


_cache: dict[str, Labels] = {}
_lock = threading.Lock()


def current() -> Labels:
    """Names of codes (reference tables; read at most every five minutes per database)."""
    from courses.models import Ministry, NcsCode, Programme, Provider, Region

    key = str(current_app.config.get("SQLALCHEMY_DATABASE_URI"))
    found = _cache.get(key)
    if found is not None and time.monotonic() - found.loaded_at < LABELS_MAX_AGE:
        return found
    with _lock:
        labels = Labels(
            dict(db.session.execute(select(Ministry.code, Ministry.name)).all()),
            dict(db.session.execute(select(Programme.code, Programme.name)).all()),
            dict(db.session.execute(select(Region.code, Region.name)).all()),
            dict(db.session.execute(select(NcsCode.code, NcsCode.name)).all()),
            time.monotonic(),
            dict(db.session.execute(select(Provider.id, Provider.address).where(Provider.address.is_not(None))).all()),
        )
        _cache[key] = labels
    return labels


def region_name(code: str | None, labels: Labels) -> str | None:
    """서울특별시 강남구 (a 시·군·구 with its 시·도), or the 시·도 alone."""
    if not code:
        return None
    sido = labels.regions.get(code[:2])
    name = labels.regions.get(code) if len(code) == 5 else None
    return f"{sido} {name}" if sido and name else (name or sido)
