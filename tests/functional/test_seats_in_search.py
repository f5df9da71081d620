"""Seats taken or returned by enrolments reach the search index within one worker pass.

courses/changes.py says every run change, seats included, is announced through the outbox; the index's
`seats_left` and its "남은 자리" facet are only as true as those announcements. Here a learner takes the last
seat of a run through the real API, one `hrdnet worker --once` runs, and the search API shows the run full;
cancelling (before the start, so the seat comes back) and one more pass show the seat again.
"""

from __future__ import annotations

from hrdnet.auth import services as auth_services
from hrdnet.db import unit_of_work
from hrdnet.extensions import db


def _reindex(runner) -> None:
    """Build the search index through its published command (hrdnet search reindex)."""
    result = runner.invoke(args=["search", "reindex", "--procs", "1"])
    assert result.exit_code == 0, result.output


def _bearer(user) -> dict:
    with unit_of_work(write_lock=True):
        token = auth_services.issue_api_token(user, "seats test").token
    return {"Authorization": f"Bearer {token}"}


def _seen_by_search(client, run_id: int) -> tuple[int | None, int, bool]:
    """(the run's seats_left in the results, the '남은 자리 있음' facet count, whether seats=1 still finds it)."""
    everything = client.get("/api/v1/courses?per_page=100&include_closed=1").get_json()  # a full run is 마감
    item = next((item for item in everything["items"] if item["run_id"] == run_id), None)
    with_seats = sum(value["count"] for value in everything["facets"].get("seats", []))
    still_listed = any(
        item["run_id"] == run_id for item in client.get("/api/v1/courses?per_page=100&seats=1").get_json()["items"]
    )
    return (item["seats_left"] if item else None), with_seats, still_listed


def _worker_pass(runner) -> None:
    db.session.remove()  # the worker works in its own transactions, as the real process would
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output


def test_taking_and_returning_a_seat_reaches_the_index_in_one_worker_pass(app, client, runner, world):  # noqa: F811
    learner = world.learner()
    last_seat = world.run(capacity=1)
    others = world.run(capacity=30)
    run_id, other_id = last_seat.id, others.id
    headers = _bearer(learner)
    _reindex(runner)
    assert _seen_by_search(client, run_id) == (1, 2, True)

    enrolled = client.post("/api/v1/enrolments", json={"run_id": run_id}, headers=headers)
    assert enrolled.status_code == 201 and enrolled.get_json()["status"] == "confirmed"
    _worker_pass(runner)
    assert _seen_by_search(client, run_id) == (0, 1, False)
    assert _seen_by_search(client, other_id)[0] == 30  # only the run that changed

    cancelled = client.post(f"/api/v1/enrolments/{enrolled.get_json()['enrolment_id']}/cancel", headers=headers)
    assert cancelled.status_code == 200
    _worker_pass(runner)
    assert _seen_by_search(client, run_id) == (1, 2, True)
