"""Who may rate, rating, the summaries, the provider's reply and an admin hiding abusive text.

Only a learner whose enrolment ended completed (수료) rates, once, within RATING_WINDOW_DAYS of the day the
training ended for them. Scores are shown only from MIN_RATINGS ratings on: a run (or course) with fewer
shows its count and no score, so one or two votes never read as a verdict. Ratings carry no name: the page
shows the score, the text and the month. Services flush, never commit; hiding is written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from courses.models import Run
from hrdnet import audit
from hrdnet.errors import Conflict, DomainError, NotFound
from hrdnet.extensions import db
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments.models import Enrolment, EnrolmentStatus
from vouchers.ratings.models import Rating

RATING_WINDOW_DAYS = 90
MIN_RATINGS = 3
COMMENT_MAX = 1000


class RatingNotAllowed(DomainError):
    status, code, message = 403, "rating_not_allowed", "수료한 훈련생만 수료 후 90일 안에 평가할 수 있습니다."


class AlreadyRated(Conflict):
    code, message = "already_rated", "이미 이 회차를 평가했습니다."


class RatingNotFound(NotFound):
    code, message = "rating_not_found", "평가를 찾을 수 없습니다."


class InvalidRating(DomainError):
    status, code, message = 422, "invalid_rating", "점수는 1~5 사이의 정수여야 합니다."


def ended_on(enrolment: Enrolment, run: Run) -> date:
    """The day training ended for this learner: the day they left (80%이상수료, 조기취업), else the run's end."""
    return enrolment.left_on or run.end_date


def may_rate(enrolment: Enrolment, run: Run, today: date) -> bool:
    return (
        enrolment.status == EnrolmentStatus.COMPLETED
        and ended_on(enrolment, run) <= today <= ended_on(enrolment, run) + timedelta(days=RATING_WINDOW_DAYS)
        and rating_of(enrolment.id) is None
    )


def rating_of(enrolment_id: int) -> Rating | None:
    return db.session.scalar(select(Rating).where(Rating.enrolment_id == enrolment_id))


def rate(enrolment_id: int, user_id: int, *, score: int, comment: str, today: date, actor: str) -> Rating:
    enrolment = enrolments.own(enrolment_id, user_id)  # someone else's: not found
    run = db.session.get(Run, enrolment.run_id)
    if not isinstance(score, int) or not 1 <= score <= 5 or len(comment) > COMMENT_MAX:
        raise InvalidRating()
    if rating_of(enrolment.id) is not None:
        raise AlreadyRated()
    if not may_rate(enrolment, run, today):
        raise RatingNotAllowed()
    rating = Rating(
        enrolment_id=enrolment.id, run_id=run.id, course_id=run.course_id, score=score, comment=comment.strip()
    )
    db.session.add(rating)
    db.session.flush()
    audit.append("rating.created", actor=actor, subject_type="rating", subject_id=rating.id, data={"score": score})
    return rating


def reply(rating_id: int, *, provider_id: int | None, text: str, now: datetime, actor: str) -> Rating:
    """The run's provider answers a rating (once; a second reply replaces the first)."""
    rating = db.session.get(Rating, rating_id)
    run = db.session.get(Run, rating.run_id) if rating else None
    if rating is None or provider_id is None or run.course.provider_id != provider_id:
        raise RatingNotFound()
    rating.reply, rating.replied_at = text.strip()[:COMMENT_MAX], now
    db.session.flush()
    audit.append("rating.replied", actor=actor, subject_type="rating", subject_id=rating.id, data={})
    return rating


def hide(rating_id: int, *, reason: str, now: datetime, actor: str) -> Rating:
    """An admin hides abusive text; the score still counts. Logged with the reason."""
    rating = db.session.get(Rating, rating_id)
    if rating is None:
        raise RatingNotFound()
    rating.hidden_at, rating.hidden_reason = now, reason.strip()[:200]
    db.session.flush()
    audit.append(
        "rating.hidden", actor=actor, subject_type="rating", subject_id=rating.id, data={"reason": rating.hidden_reason}
    )
    return rating


@dataclass(frozen=True)
class Summary:
    count: int
    average: float | None  # None below MIN_RATINGS

    @property
    def shown(self) -> bool:
        return self.average is not None


def _summary(where) -> Summary:
    count, average = db.session.execute(select(func.count(Rating.id), func.avg(Rating.score)).where(where)).one()
    return Summary(count, round(float(average), 1) if count >= MIN_RATINGS else None)


def run_summary(run_id: int) -> Summary:
    return _summary(Rating.run_id == run_id)


def course_summary(course_id: int) -> Summary:
    return _summary(Rating.course_id == course_id)


def comments(run_id: int, limit: int = 20) -> list[Rating]:
    return list(
        db.session.scalars(select(Rating).where(Rating.run_id == run_id).order_by(Rating.id.desc()).limit(limit))
    )
