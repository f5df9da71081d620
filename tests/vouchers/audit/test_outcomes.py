"""Outcomes beside money: completion and dropout from ended enrolments, employment from the feeds weighted by
completers, and every rate behind fewer than 10 people shown as "10명 미만"."""

from __future__ import annotations

from sqlalchemy import update

from hrdnet.access import Role
from hrdnet.extensions import db
from tests.support.audit import NOW, D, sixty_day_run
from tests.support.pages import text_of
from vouchers.audit import outcomes
from vouchers.audit.scope import Scope
from vouchers.enrolments.models import Enrolment


def ended(world, run, completed: int, dropped: int) -> None:
    """Enrolments on the run that ended so (their status set directly: the lifecycle is tested elsewhere)."""
    for n in range(completed + dropped):
        enrolment = world.enrol(world.learner(on=D), run, today=D, now=NOW, pay=False)
        status = "completed" if n < completed else "dropped"
        db.session.execute(update(Enrolment).where(Enrolment.id == enrolment.id).values(status=status))
    db.session.commit()


def test_rates_per_provider_with_small_cells_suppressed(client, world, login_as):
    big = sixty_day_run(world, "C0061", capacity=40)
    small = sixty_day_run(world, "C0061")
    elsewhere = sixty_day_run(world, "MSS-DGA")
    ended(world, big, completed=9, dropped=3)
    ended(world, small, completed=2, dropped=2)
    big.completers, big.employment_rate_3m, big.employment_rate_6m = 20, 50.0, 70.0
    second = world.run(programme="C0061", course=big.course, completers=10, employment_rate_3m=80.0)
    small.completers, small.employment_rate_3m = 5, 90.0
    elsewhere.completers, elsewhere.employment_rate_3m = 30, 10.0
    db.session.commit()
    moel = big.programme.ministry_id

    rows = {row.key: row for row in outcomes.outcomes("provider", Scope(moel))}
    assert set(rows) == {str(big.course.provider_id), str(small.course.provider_id)}  # not MSS's provider
    assert rows[str(big.course.provider_id)].as_dict() | {"spent": 0} == {
        "key": str(big.course.provider_id),
        "label": big.course.provider.name,
        "spent": 0,
        "learners": 12,
        "completion_rate": 75.0,
        "dropout_rate": 25.0,
        "employment_rate_3m": 60.0,  # (20 × 50 + 10 × 80) / 30
        "employment_rate_6m": 70.0,
    }
    small_row = rows[str(small.course.provider_id)]
    assert (small_row.learners, small_row.completion_rate, small_row.employment_3m) == ("10명 미만",) * 3
    assert second.course_id == big.course_id

    login_as(Role.AUDITOR, ministry_code="MOEL")
    shown = text_of(client.get("/audit/outcomes"))
    assert "75.0%" in shown and "10명 미만" in shown and "60.0%" in shown
