"""What a web process keeps of the PostgreSQL search tables: the vocabulary and what is derived from it.

Query analysis without Kiwi needs the index's morpheme vocabulary (search.analysis.segment, strip_particle),
초성 needs the commonest morpheme per initials (search.initials), query intent needs the providers' names
and brands (search.intent); they are read from `search_terms` and `search_courses` once per generation of
`search_state` (bumped by every write), at most every SEARCH_PG_SNAPSHOT_SECONDS, and handed to those
modules as the small part of the Whoosh `Version` they use (`vocabulary()`, `derived()`, and the provider
columns intent reads). Everything else a search reads comes from SQL at query time.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import numpy as np
from flask import current_app
from sqlalchemy import text

from hrdnet.extensions import db

_cache: dict[str, Snapshot] = {}
_lock = threading.Lock()


class Snapshot:
    """One generation of the search tables' vocabulary, with what intent and 초성 derive from it."""

    def __init__(self, generation: int, vocabulary: Counter, runs: int, courses: int, avg_title_len: float = 1.0):
        self.generation = generation
        self.avg_title_len = avg_title_len or 1.0
        self._vocabulary = vocabulary
        self.runs = runs
        self.courses = courses
        self.loaded_at = time.monotonic()
        self.lock = threading.Lock()
        self._derived: dict[str, object] = {}
        self._providers: tuple[np.ndarray, list[str]] | None = None

    def vocabulary(self) -> Counter:
        return self._vocabulary

    def known(self, word: str) -> bool:
        return self._vocabulary.get(word, 0) > 0

    def derived(self, name: str, build: Callable[[Snapshot], object]):
        value = self._derived.get(name)
        if value is None:
            with self.lock:
                value = self._derived.get(name)
                if value is None:
                    value = self._derived[name] = build(self)
        return value

    # What search.intent._providers reads of a Version: one "document" per course, its provider's name.

    def _course_providers(self) -> tuple[np.ndarray, list[str]]:
        if self._providers is None:
            rows = db.session.execute(text("SELECT provider_id, provider FROM search_courses ORDER BY course_id")).all()
            self._providers = (np.asarray([r[0] for r in rows], dtype=np.int64), [r[1] for r in rows])
        return self._providers

    @property
    def cols(self) -> dict[str, np.ndarray]:
        ids, _names = self._course_providers()
        return {"provider_id": ids, "is_course": np.ones(len(ids), dtype=bool)}

    @property
    def live(self) -> np.ndarray:
        return np.ones(len(self._course_providers()[0]), dtype=bool)

    def course_text(self, docnum: int) -> tuple[str, str]:
        return "", self._course_providers()[1][docnum]


def current() -> Snapshot | None:
    """The snapshot of the tables' current generation (None before the first build)."""
    return current_and_generation()[0]


def current_and_generation() -> tuple[Snapshot | None, int]:
    """The snapshot, and the tables' generation as read now (the snapshot's may be up to
    SEARCH_PG_SNAPSHOT_SECONDS older: what is cached with the rows' answers is keyed on this one)."""
    state = db.session.execute(
        text("SELECT generation, built_at, runs, courses FROM search_state WHERE id = 1")
    ).one_or_none()
    if state is None or state.built_at is None:
        return None, 0
    key = str(db.engine.url)
    found = _cache.get(key)
    max_age = float(current_app.config.get("SEARCH_PG_SNAPSHOT_SECONDS", 30))
    if found is not None and (found.generation == state.generation or time.monotonic() - found.loaded_at < max_age):
        return found, int(state.generation)
    with _lock:
        found = _cache.get(key)
        if found is None or found.generation != state.generation:
            vocabulary = Counter(
                dict(db.session.execute(text("SELECT term, df FROM search_terms WHERE kind = 'm' AND df > 0")).all())
            )
            runs = db.session.scalar(text("SELECT count(*) FROM search_runs"))
            courses, avg_title_len = db.session.execute(
                text("SELECT count(*), avg(title_len) FROM search_courses")
            ).one()
            found = _cache[key] = Snapshot(
                int(state.generation), vocabulary, int(runs), int(courses), float(avg_title_len or 1.0)
            )
    return found, int(state.generation)
