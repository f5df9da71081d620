"""Telling the rest of the site that catalog rows changed: outbox items written in the same transaction as
the change, delivered after commit (hrdnet.outbox). The catalog does not know who listens; the topic names
(what changed, never who listens) and payloads are the contract (the search index is the listener today, see
search/indexer.py):

    "catalog.runs_changed"     {"run_ids": [int, …]}    these runs changed (at most CHUNK ids per item)
    "catalog.courses_changed"  {"course_ids": [int, …]} every run of these courses needs another look
    "catalog.provider_changed" {"provider_id": int}     every run of this provider needs another look

Call these wherever a run, a course or a provider changes — seats taken or returned by an enrolment included
(vouchers.enrolments.operations.take_seat and return_seat).
"""

from __future__ import annotations

from collections.abc import Iterable

from hrdnet import outbox

CHUNK = 1000
RUNS_CHANGED = "catalog.runs_changed"
COURSES_CHANGED = "catalog.courses_changed"
PROVIDER_CHANGED = "catalog.provider_changed"


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    ordered = sorted({int(i) for i in ids})
    return [ordered[i : i + CHUNK] for i in range(0, len(ordered), CHUNK)]


def runs_changed(run_ids: Iterable[int]) -> None:
    for chunk in _chunks(run_ids):
        outbox.enqueue(RUNS_CHANGED, {"run_ids": chunk})


def courses_changed(course_ids: Iterable[int]) -> None:
    for chunk in _chunks(course_ids):
        outbox.enqueue(COURSES_CHANGED, {"course_ids": chunk})


def provider_changed(provider_id: int) -> None:
    outbox.enqueue(PROVIDER_CHANGED, {"provider_id": int(provider_id)})
