"""Reference data shipped in courses/data/: NCS codes, region codes (with old codes), ministries, programmes.

sync() upserts the shipped files into the database; the catalog migration runs it, and
`hrdnet catalog reference` runs it again after the files are updated. It only adds and renames, never
deletes: runs keep pointing at codes a later revision retired.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

DATA = Path(__file__).parent / "data"


def read_csv(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@dataclass(frozen=True)
class RegionAliases:
    """Old region code → current code(s) (e.g. 29110 → 12210 after the 2026 광주·전남 merger)."""

    mapping: dict[str, tuple[str, ...]]

    def current(self, code: str | None) -> str | None:
        """Today's code for a code a feed sent. A split district maps to its 시·도: which successor a run
        belongs to cannot be known from the old code alone."""
        successors = self.mapping.get(code or "")
        if not successors:
            return code
        return successors[0] if len(successors) == 1 else successors[0][:2]


@cache
def region_aliases() -> RegionAliases:
    mapping: dict[str, tuple[str, ...]] = {}
    for row in read_csv("regions.csv"):
        for old in filter(None, row["old_code"].split(";")):
            mapping[old] = (*mapping.get(old, ()), row["code"])
    return RegionAliases(mapping)


@cache
def region_names() -> dict[str, str]:
    return {row["code"]: row["name"] for row in read_csv("regions.csv")}


@cache
def ncs_names() -> dict[str, str]:
    return {row["code"]: row["name"] for row in read_csv("ncs.csv")}


def sync(session: Session) -> dict[str, int]:
    """Upsert every reference table from the shipped files; returns rows added per table."""
    from courses.models import Ministry, NcsCode, Programme, Region, RegionAlias

    added = {}
    added["ncs_codes"] = _upsert(
        session,
        NcsCode,
        "code",
        [
            {"code": r["code"], "level": int(r["level"]), "name": r["name"], "parent_code": r["parent_code"] or None}
            for r in read_csv("ncs.csv")
        ],
    )
    added["regions"] = _upsert(
        session,
        Region,
        "code",
        [
            {"code": r["code"], "level": int(r["level"]), "name": r["name"], "parent_code": r["parent_code"] or None}
            for r in read_csv("regions.csv")
        ],
    )
    session.flush()
    known_aliases = set(session.execute(select(RegionAlias.old_code, RegionAlias.code)).all())
    new_aliases = [
        RegionAlias(old_code=old, code=new)
        for old, successors in region_aliases().mapping.items()
        for new in successors
        if (old, new) not in known_aliases
    ]
    session.add_all(new_aliases)
    added["region_aliases"] = len(new_aliases)
    added["ministries"] = _upsert(session, Ministry, "code", read_csv("ministries.csv"))
    session.flush()
    ministry_ids = dict(session.execute(select(Ministry.code, Ministry.id)).all())
    added["programmes"] = _upsert(
        session,
        Programme,
        "code",
        [
            {
                "code": r["code"],
                "name": r["name"],
                "ministry_id": ministry_ids[r["ministry"]],
                "voucher_kind": r["voucher_kind"],
                "pricing_rule": r["pricing_rule"] or None,
            }
            for r in read_csv("programmes.csv")
        ],
    )
    session.flush()
    return added


def _upsert(session: Session, model, key: str, rows: list[dict]) -> int:
    existing = {getattr(obj, key): obj for obj in session.scalars(select(model))}
    added = 0
    for row in rows:
        obj = existing.get(row[key])
        if obj is None:
            session.add(model(**row))
            added += 1
        else:
            for name, value in row.items():
                setattr(obj, name, value)
    return added
