"""Reference data shipped in courses/data/: NCS codes, region codes (with old codes), ministries, programmes,
and the programmes' default application windows (application_windows.toml).

sync() upserts the shipped files into the database; the catalog migration runs it, and
`hrdnet catalog reference` runs it again after the files are updated. It only adds and renames, never
deletes: runs keep pointing at codes a later revision retired.
"""

from __future__ import annotations

import csv
import hashlib
import tomllib
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


# -- application windows (모집 기간) ---------------------------------------------------------------------------

APPLICATION_WINDOWS_FILE = DATA / "application_windows.toml"


class ApplicationWindowsError(ValueError):
    """application_windows.toml cannot be used: bad TOML, a missing or unknown key, or a value out of range."""


@dataclass(frozen=True)
class WindowDays:
    """A default window in days before the start date: it opens `opens` days before and closes `closes` days
    before (both days included)."""

    opens: int
    closes: int


@dataclass(frozen=True)
class ApplicationWindowRules:
    """The defaults of application_windows.toml (docs/catalog.md explains them)."""

    default: WindowDays
    by_programme: dict[str, WindowDays]
    closing_soon_days: int  # 마감 임박 when the window closes within this many days …
    closing_soon_seats: int  # … or this many seats or fewer are left
    version: str  # a short hash of the file: the search index stores windows computed from it

    def days_for(self, programme_code: str | None) -> WindowDays:
        return self.by_programme.get(programme_code or "", self.default)


@cache
def application_window_rules() -> ApplicationWindowRules:
    return parse_application_windows(APPLICATION_WINDOWS_FILE.read_bytes(), source=str(APPLICATION_WINDOWS_FILE))


def parse_application_windows(raw: bytes, *, source: str) -> ApplicationWindowRules:
    """Read the file strictly: a misspelt key or an unknown programme code is an error naming the file and the
    key, never a silently ignored value."""
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ApplicationWindowsError(f"{source}: not a readable TOML file: {error}") from error
    _only(data, {"format", "closing_soon", "default", "windows"}, source)
    if data.get("format") != 1:
        raise ApplicationWindowsError(f"{source}: format must be 1")
    soon = _section(data, "closing_soon", source)
    _only(soon, {"days_before_close", "seats_left"}, f"{source}: [closing_soon]")
    known = {row["code"] for row in read_csv("programmes.csv")}
    by_programme: dict[str, WindowDays] = {}
    for index, entry in enumerate(data.get("windows", [])):
        where = f"{source}: [[windows]] #{index + 1}"
        if not isinstance(entry, dict):
            raise ApplicationWindowsError(f"{where}: must be a table")
        _only(entry, {"name", "programmes", "opens_days_before_start", "closes_days_before_start"}, where)
        codes = entry.get("programmes")
        if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
            raise ApplicationWindowsError(f"{where}: programmes must be a list of programme codes")
        for code in codes:
            if code not in known:
                raise ApplicationWindowsError(f"{where}: unknown programme {code!r} (courses/data/programmes.csv)")
            if code in by_programme:
                raise ApplicationWindowsError(f"{where}: programme {code!r} has two windows")
            by_programme[code] = _window_days(entry, where)
    default = _section(data, "default", source)
    _only(default, {"opens_days_before_start", "closes_days_before_start"}, f"{source}: [default]")
    return ApplicationWindowRules(
        default=_window_days(default, f"{source}: [default]"),
        by_programme=by_programme,
        closing_soon_days=_whole(soon, "days_before_close", f"{source}: [closing_soon]"),
        closing_soon_seats=_whole(soon, "seats_left", f"{source}: [closing_soon]"),
        version=hashlib.sha256(raw).hexdigest()[:12],
    )


def _only(table: dict, allowed: set[str], where: str) -> None:
    extra = set(table) - allowed
    if extra:
        raise ApplicationWindowsError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")


def _section(data: dict, key: str, source: str) -> dict:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ApplicationWindowsError(f"{source}: missing [{key}]")
    return value


def _whole(table: dict, key: str, where: str) -> int:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ApplicationWindowsError(f"{where}: {key} must be a whole number of days or seats (0 or more)")
    return value


def _window_days(table: dict, where: str) -> WindowDays:
    opens = _whole(table, "opens_days_before_start", where)
    closes = _whole(table, "closes_days_before_start", where)
    if opens < closes:
        raise ApplicationWindowsError(
            f"{where}: a window cannot close before it opens (opens {opens} < closes {closes})"
        )
    return WindowDays(opens, closes)


# -- syncing the tables --------------------------------------------------------------------------------------


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
