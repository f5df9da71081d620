"""Results beside money: completion, dropout and employment per provider and per programme.

Completion and dropout come from this site's enrolments that ended (수료 completed, 미수료 incomplete, 중도탈락
dropped; a withdrawal inside the free window is not a result). Employment comes from the feeds: each run's
3- and 6-month employment rates weighted by its completers (the feed's sample). A rate computed from fewer
than SMALL_CELL people is not shown ("10명 미만"): with so few, a rate identifies people and says little.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from courses.models import Course, Programme, Provider, Run
from hrdnet.extensions import db
from vouchers.audit import spend
from vouchers.audit.scope import Scope
from vouchers.audit.spend import Filters
from vouchers.enrolments.models import Enrolment, EnrolmentStatus

SMALL_CELL = 10
SUPPRESSED = "10명 미만"
ENDED = (EnrolmentStatus.COMPLETED, EnrolmentStatus.INCOMPLETE, EnrolmentStatus.DROPPED)


@dataclass
class Outcome:
    key: str
    label: str
    spent: int = 0
    ended: int = 0
    completed: int = 0
    dropped: int = 0
    employed_sample: int = 0
    employed_3m_weighted: float = 0.0
    employed_6m_weighted: float = 0.0
    employed_6m_sample: int = 0

    def _rate(self, part: float, whole: int) -> float | str | None:
        if whole == 0:
            return None
        if whole < SMALL_CELL:
            return SUPPRESSED
        return round(100 * part / whole, 1)

    @property
    def completion_rate(self):
        return self._rate(self.completed, self.ended)

    @property
    def dropout_rate(self):
        return self._rate(self.dropped, self.ended)

    @property
    def employment_3m(self):
        return self._rate(self.employed_3m_weighted / 100, self.employed_sample)

    @property
    def employment_6m(self):
        return self._rate(self.employed_6m_weighted / 100, self.employed_6m_sample)

    @property
    def learners(self) -> int | str:
        return self.ended if self.ended >= SMALL_CELL or self.ended == 0 else SUPPRESSED

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "label": self.label,
            "spent": self.spent,
            "learners": self.learners,
            "completion_rate": self.completion_rate,
            "dropout_rate": self.dropout_rate,
            "employment_rate_3m": self.employment_3m,
            "employment_rate_6m": self.employment_6m,
        }


def outcomes(group_by: str, scope: Scope) -> list[Outcome]:
    """Per provider or programme in scope: money spent, local completion and dropout, feed employment."""
    if group_by not in ("provider", "programme"):
        raise ValueError("group_by must be provider or programme")
    column = Course.provider_id if group_by == "provider" else Run.programme_id
    rows: dict = defaultdict(lambda: Outcome("", ""))
    ended = select(column, Enrolment.status).select_from(Enrolment).join(Run, Run.id == Enrolment.run_id)
    for key, status in db.session.execute(_in_scope(ended, scope).where(Enrolment.status.in_(ENDED))):
        row = rows[key]
        row.ended += 1
        row.completed += status == EnrolmentStatus.COMPLETED
        row.dropped += status == EnrolmentStatus.DROPPED
    feed = select(column, Run.employment_rate_3m, Run.employment_rate_6m, Run.completers).select_from(Run)
    for key, rate3, rate6, completers in db.session.execute(_in_scope(feed, scope).where(Run.completers > 0)):
        row = rows[key]
        if rate3 is not None:
            row.employed_sample += completers
            row.employed_3m_weighted += rate3 * completers
        if rate6 is not None:
            row.employed_6m_sample += completers
            row.employed_6m_weighted += rate6 * completers
    for line in spend.lines(group_by, Filters(ministry_id=scope.ministry_id)):
        if line.key:
            rows[int(line.key)].spent = line.spent
    labels = _labels(group_by, [k for k in rows if k is not None])
    out = []
    for key, row in rows.items():
        row.key, row.label = ("" if key is None else str(key)), labels.get(key, "미지정")
        out.append(row)
    return sorted(out, key=lambda r: (-r.spent, r.label))


def _in_scope(query, scope: Scope):
    """Join a query that has `runs` to its course and programme, limited to the reader's ministry."""
    query = query.join(Course, Course.id == Run.course_id).outerjoin(Programme, Programme.id == Run.programme_id)
    if scope.ministry_id is not None:
        query = query.where(Programme.ministry_id == scope.ministry_id)
    return query


def _labels(group_by: str, keys: list[int]) -> dict[int, str]:
    if not keys:
        return {}
    model = Provider if group_by == "provider" else Programme
    return dict(db.session.execute(select(model.id, model.name).where(model.id.in_(keys))).all())
