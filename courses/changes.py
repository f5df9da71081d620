"""Telling the rest of the site that catalog rows changed: outbox items written in the same transaction as
the change, delivered after commit (hrdnet.outbox). The catalog does not know who listens; the topic names
and payloads are the contract (the search index is the listener today, see search/indexer.py):

    "search.runs"     {"run_ids": [int, …]}   these runs changed (at most CHUNK ids per item)
    "search.courses"  {"course_ids": [int, …]} every run of these courses needs another look
    "search.provider" {"provider_id": int}    every run of this provider needs another look

Call these wherever a run, a course or a provider changes — seats taken by an enrolment included.
"""

from __future__ import annotations

from collections.abc import Iterable

from hrdnet import outbox

CHUNK = 1000


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    ordered = sorted({int(i) for i in ids})
    return [ordered[i:i + CHUNK] for i in range(0, len(ordered), CHUNK)]


def runs_changed(run_ids: Iterable[int]) -> None:
    for chunk in _chunks(run_ids):
        outbox.enqueue("search.runs", {"run_ids": chunk})


def courses_changed(course_ids: Iterable[int]) -> None:
    for chunk in _chunks(course_ids):
        outbox.enqueue("search.courses", {"course_ids": chunk})


def provider_changed(provider_id: int) -> None:
    outbox.enqueue("search.provider", {"provider_id": int(provider_id)})
