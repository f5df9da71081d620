"""How accounts find the organisation they belong to, without the shell importing the catalog.

Provider staff belong to a provider and auditors to a ministry; both are the catalog's (courses.models).
The catalog registers its lookups when the app is built (courses.init_app), so imports keep going one way:
courses → hrdnet, never back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app

_KEY = "hrdnet_organisations"


@dataclass(frozen=True)
class OrganisationLookup:
    provider_id: Callable[[int], int | None]  # the id of the provider with this id, if it exists
    ministry_id: Callable[[str], int | None]  # the id of the ministry with this code (upper case)


def register(app: Flask, lookup: OrganisationLookup) -> None:
    app.extensions[_KEY] = lookup


def lookup() -> OrganisationLookup:
    return current_app.extensions[_KEY]
