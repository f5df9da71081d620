"""The cross-ministry catalog: ministries, programmes, providers, courses and runs."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """What the catalog gives the shell: the organisations accounts belong to."""
    from courses.organisations import LOOKUP
    from hrdnet.auth import organisations

    organisations.register(app, LOOKUP)
