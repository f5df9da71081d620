"""Integers from the outside world, bounded to what the database can hold.

Python integers have no limit, database columns do: primary keys are `Integer` (PostgreSQL int4, at most
2**31 - 1) and ledger entry ids `BigInteger` (int8). A 20-digit number passed on to a query makes the
driver raise (psycopg: "integer out of range"; SQLite: OverflowError), which used to be a 500. So every
integer that comes from an address is checked here, once, before any query sees it:

- route converters: `<int:...>` is replaced app-wide by `BoundedIntegerConverter`, whose maximum is int4's.
  A larger id matches no route, so it is a plain 404 (and the OpenAPI document gets `maximum` for free,
  flask-smorest reads the converter's bounds).
- query parameters: `page_number()` for listings (lenient: a bad page is page 1, a huge one the last we
  serve) and `query_int()` for everything else (400 for a value that is not an integer in range).
"""

from __future__ import annotations

import re

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

INT4_MAX = 2**31 - 1  # sqlalchemy.Integer on PostgreSQL: every primary key of the site
INT8_MAX = 2**63 - 1  # sqlalchemy.BigInteger: ledger entry ids and amounts
PAGE_MAX = 10_000  # deeper than any listing of the site; keeps OFFSET far from overflow
_INTEGER = re.compile(r"-?[0-9]{1,19}")  # ASCII digits only (str.isdigit() also takes "²", which int() refuses)


class BoundedIntegerConverter(IntegerConverter):
    """`<int:...>` with int4's maximum, so an id the database cannot hold is a 404, never a 500."""

    def __init__(
        self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = INT4_MAX, signed: bool = False
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_app(app: Flask) -> None:
    """Replace the `int` converter before any route is added (rules bind their converter when added)."""
    app.url_map.converters["int"] = BoundedIntegerConverter


def fits(value: int, high: int = INT4_MAX, low: int = 1) -> bool:
    """Whether an id the caller parsed can be looked up at all (ids start at 1)."""
    return low <= value <= high


def page_number(name: str = "page") -> int:
    """A listing's page from the query string: 1 when missing or malformed, at most PAGE_MAX.

    Nobody types page numbers; they come from links, old bookmarks or hand-edited addresses, so a bad one
    shows the first page (a page past the end is an empty page) rather than an error.
    """
    value = request.args.get(name, 1, type=int)
    return min(max(value, 1), PAGE_MAX)


def query_int(name: str, *, high: int = INT4_MAX, low: int = 1) -> int | None:
    """An optional integer query parameter: None when missing or empty, 400 when not an integer in range."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not _INTEGER.fullmatch(raw) or not low <= int(raw) <= high:
        abort(400)
    return int(raw)
