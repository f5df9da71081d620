"""Run submissions through the approval workflow, and publishing approved runs to the catalog.

Services take plain values (ids, typed field values, the actor's pseudonym) and flush, never commit; the
caller's unit of work (with the write lock: every action is audit-logged) commits. Scoping is in the
queries: a provider reaches only its own submissions, an auditor only those of its ministry's programmes
(`ministry_id=None` is an admin); anything else is "not found", never someone else's data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from courses import calendar, changes, errors, matching
from courses.models import Course, NcsCode, Programme, Provider, Run
from courses.portal import fields, rules, workflow
from courses.portal.models import ProviderNotice, ProviderStaff, Revision, Submission
from hrdnet import audit, mail
from hrdnet.auth.models import User
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow


def _log(action: str, submission: Submission, actor: str, **data) -> None:
    audit.append(
        action,
        actor=actor,
        subject_type="run_submission",
        subject_id=submission.id,
        data={"provider_id": submission.provider_id, "revision": submission.head, "state": submission.state, **data},
    )


# -- the provider's side ---------------------------------------------------------------------------------


def provider(provider_id: int) -> Provider:
    found = db.session.get(Provider, provider_id)
    if found is None:
        raise errors.ProviderNotFound()
    return found


def _verified_provider(provider_id: int) -> Provider:
    found = provider(provider_id)
    if not found.verified:
        raise errors.ProviderNotVerified()
    return found


def own_submission(submission_id: int, provider_id: int) -> Submission:
    submission = db.session.get(Submission, submission_id)
    if submission is None or submission.provider_id != provider_id:
        raise errors.SubmissionNotFound()
    return submission


def head_revision(submission: Submission) -> Revision:
    return _revision(submission.id, submission.head)


def _revision(submission_id: int, number: int) -> Revision:
    return db.session.scalar(select(Revision).where(Revision.submission_id == submission_id, Revision.number == number))


def save(
    provider_id: int, values: dict, *, actor: str, submission_id: int | None = None, submit: bool = False
) -> Submission:
    """Save a draft (incomplete is fine) or submit it (every rule checked); a new submission when no id.

    After a decision (approved or rejected) the edit becomes a new revision; the approved one stays public.
    """
    _verified_provider(provider_id)
    if submission_id is None:
        submission = Submission(provider_id=provider_id, state="draft", head=0)
        db.session.add(submission)
    else:
        submission = own_submission(submission_id, provider_id)
    event = "submit" if submit else "save"
    workflow.next_state(submission.state, event)  # refuse before touching anything
    if submit:
        problems = rules.check(values, provider_id=provider_id, run_id=submission.run_id)
        if problems:
            raise errors.SubmissionInvalid(details=problems)
    revision = _editable_revision(submission, actor)
    revision.data = fields.to_json(values)
    workflow.apply(submission, event)
    submission.title = (values.get("title") or "").strip()[:300] or "(제목 없음)"
    submission.programme_id = _programme_id(values.get("programme"))
    if submit:
        now = utcnow()
        submission.submitted_at = revision.submitted_at = now
        submission.dedupe_key = rules.dedupe_key(values)
    _flush_unique(submission)
    _log("submission.submitted" if submit else "submission.saved", submission, actor)
    return submission


def _editable_revision(submission: Submission, actor: str) -> Revision:
    """The head revision while it is a draft never submitted; otherwise a new one."""
    if submission.head:
        head = head_revision(submission)
        if head.submitted_at is None and head.decision is None:
            return head
    submission.head += 1
    db.session.flush()
    revision = Revision(submission_id=submission.id, number=submission.head, author=actor, data="{}")
    db.session.add(revision)
    return revision


def _programme_id(code: str | None) -> int | None:
    return db.session.scalar(select(Programme.id).where(Programme.code == code)) if code else None


def _flush_unique(submission: Submission) -> None:
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise errors.DuplicateSubmission() from None


def withdraw(submission_id: int, provider_id: int, *, actor: str) -> Submission:
    """Take a submission back; an approved run leaves the catalog (one with learners needs 폐강 instead)."""
    submission = own_submission(submission_id, provider_id)
    workflow.next_state(submission.state, "withdraw")
    if submission.run_id is not None:
        run = db.session.get(Run, submission.run_id)
        if run.local_enrolled > 0:
            raise errors.RunHasLearners()
        run.status = "withdrawn"
        changes.runs_changed([run.id])
    workflow.apply(submission, "withdraw")
    submission.dedupe_key = None
    _log("submission.withdrawn", submission, actor)
    return submission


def provider_submissions(provider_id: int) -> list[Submission]:
    return db.session.scalars(
        select(Submission).where(Submission.provider_id == provider_id).order_by(Submission.updated_at.desc())
    ).all()


def notices(provider_id: int, limit: int = 10) -> list[ProviderNotice]:
    return db.session.scalars(
        select(ProviderNotice)
        .where(ProviderNotice.provider_id == provider_id)
        .order_by(ProviderNotice.id.desc())
        .limit(limit)
    ).all()


# -- the auditor's side ----------------------------------------------------------------------------------


def _in_scope(ministry_id: int | None):
    """Submissions an auditor of this ministry may see (None: an admin, every ministry)."""
    query = select(Submission)
    if ministry_id is not None:
        query = query.join(Programme, Programme.id == Submission.programme_id).where(
            Programme.ministry_id == ministry_id
        )
    return query


def queue(ministry_id: int | None, limit: int = 200) -> list[Submission]:
    """Submissions waiting for a decision, oldest first."""
    return db.session.scalars(
        _in_scope(ministry_id)
        .where(Submission.state == "submitted")
        .order_by(Submission.submitted_at, Submission.id)
        .limit(limit)
    ).all()


def pending_count(ministry_id: int | None) -> int:
    subquery = _in_scope(ministry_id).where(Submission.state == "submitted").subquery()
    return db.session.scalar(select(func.count()).select_from(subquery))


def scoped_submission(submission_id: int, ministry_id: int | None) -> Submission:
    submission = db.session.scalar(_in_scope(ministry_id).where(Submission.id == submission_id))
    if submission is None:
        raise errors.SubmissionNotFound()
    return submission


@dataclass(frozen=True)
class Review:
    submission: Submission
    revision: Revision
    changes: list[fields.Change]
    first: bool  # nothing approved yet: every field is new

    @property
    def changed(self) -> list[fields.Change]:
        return [c for c in self.changes if c.changed]


def review(submission: Submission) -> Review:
    """The head revision against the last approved one, field by field."""
    head = head_revision(submission)
    approved = _revision(submission.id, submission.approved).values if submission.approved else None
    return Review(submission, head, fields.diff(approved, head.values), approved is None)


def decide(submission_id: int, *, approve: bool, reason: str, ministry_id: int | None, actor: str) -> Submission:
    """Approve (the run enters the catalog) or reject with a reason; the provider is told either way."""
    submission = scoped_submission(submission_id, ministry_id)
    reason = (reason or "").strip()
    if not approve and not reason:
        raise errors.ReasonRequired()
    workflow.apply(submission, "approve" if approve else "reject")
    revision = head_revision(submission)
    now = utcnow()
    revision.decision = "approved" if approve else "rejected"
    revision.reason, revision.decided_by, revision.decided_at = reason or None, actor, now
    submission.decided_at = now
    if approve:
        run = _publish(submission, fields.typed(revision.values))
        submission.approved, submission.run_id, submission.reason = submission.head, run.id, None
        message = f"'{submission.title}' 회차가 승인되어 공개되었습니다."
    else:
        submission.reason = reason
        submission.dedupe_key = _approved_key(submission)
        message = f"'{submission.title}' 회차가 반려되었습니다. 사유: {reason}"
    _notify(submission, message)
    _log(f"submission.{revision.decision}", submission, actor, run_id=submission.run_id)
    return submission


def _approved_key(submission: Submission) -> str | None:
    """While a run is public its approved title and start date stay taken; otherwise nothing is."""
    if not submission.approved:
        return None
    return rules.dedupe_key(fields.typed(_revision(submission.id, submission.approved).values))


def _notify(submission: Submission, message: str) -> None:
    notify_provider(submission.provider_id, message, submission_id=submission.id)


def notify_provider(
    provider_id: int, message: str, *, submission_id: int | None = None, key: str | None = None
) -> bool:
    """Tell a provider in the portal and by e-mail to each active staff account. With a `key`, only once
    (the database's unique key decides); returns False when that notice was already sent."""
    try:
        with db.session.begin_nested():
            db.session.add(
                ProviderNotice(provider_id=provider_id, submission_id=submission_id, message=message, key=key)
            )
            db.session.flush()
    except IntegrityError:
        return False
    staff = db.session.scalars(select(User.email).where(User.provider_id == provider_id, User.active.is_(True))).all()
    # From SITE_URL, never from the request's Host header (a forged Host must not reach an e-mail).
    # (A plain path, not url_for: the CLI, the worker and the demo loader notify too, outside any request.)
    path = f"/provider/submissions/{submission_id}" if submission_id else "/provider/"
    link = f"{current_app.config['SITE_URL']}{path}"
    for email in staff:
        mail.queue(email, "[hrdnet] 훈련기관 알림", "submission_decided", message=message, link=link)
    return True


# -- publishing ------------------------------------------------------------------------------------------


def _publish(submission: Submission, values: dict) -> Run:
    """Write the approved revision into the catalog (a new run, or the run it updates) and tell the index."""
    course = _course_for(submission, values)
    programme_id = _programme_id(values["programme"])
    run = db.session.get(Run, submission.run_id) if submission.run_id else None
    if run is not None and run.status == "cancelled":
        raise errors.RunCancelled()
    if run is None:
        number = db.session.scalar(select(func.coalesce(func.max(Run.run_number), 0)).where(Run.course_id == course.id))
        run = Run(run_number=number + 1, source_enrolled=0, local_enrolled=0)
    days = rules.scheduled_days(values)
    run.course_id, run.programme_id = course.id, programme_id
    run.start_date, run.end_date = values["start_date"], values["end_date"]
    run.weekend, run.mode = values["weekend"], values["mode"]
    run.days, run.hours = len(days), len(days) * values["hours_per_day"]
    run.fee, run.support_amount, run.capacity = values["fee"], values["support_amount"], values["capacity"]
    run.apply_from, run.apply_until = values["apply_from"], values["apply_until"]
    run.ncs_code, run.region_code, run.address = values["ncs"], values["region"], values["address"]
    run.status = "open"
    calendar.set_provider_schedule(run, days)
    db.session.add(run)
    db.session.flush()
    changes.runs_changed([run.id])
    return run


def _course_for(submission: Submission, values: dict) -> Course:
    """The provider's course of this title (one course, many runs), made on its first approved run."""
    key = matching.match_key(values["title"], submission.provider_id)
    course = db.session.scalar(
        select(Course).where(Course.provider_id == submission.provider_id, Course.match_key == key).limit(1)
    )
    if course is None:
        course = Course(provider_id=submission.provider_id, match_key=key, title=values["title"])
        db.session.add(course)
    course.title, course.ncs_code = values["title"], values["ncs"]
    course.summary, course.contents = values["summary"], values["contents"]
    course.certificate, course.target_learners = values["certificate"], values["target_learners"]
    db.session.flush()
    if submission.run_id is None:
        changes.courses_changed([course.id])
    return course


def revision_values(submission: Submission, number: int | None = None) -> dict:
    """Typed values of a revision (the head by default), e.g. to fill the edit form."""
    return fields.typed(json.loads(_revision(submission.id, number or submission.head).data))


def search_ncs(text: str, limit: int = 20) -> list[dict]:
    """NCS 세분류 (level 4) by a part of its Korean name, or by a code prefix."""
    text = text.strip()[:50]
    if not text:
        return []
    query = select(NcsCode.code, NcsCode.name).where(NcsCode.level == 4)
    if text.isdigit():
        query = query.where(NcsCode.code.startswith(text))
    else:
        query = query.where(NcsCode.name.contains(text, autoescape=True))
    return [
        {"code": code, "name": name} for code, name in db.session.execute(query.order_by(NcsCode.code).limit(limit))
    ]


# -- staff duties ----------------------------------------------------------------------------------------


def takes_attendance(user_id: int) -> bool:
    """Staff who record attendance (and so see learners' names unmasked), as their provider's admin decided."""
    return bool(db.session.scalar(select(ProviderStaff.takes_attendance).where(ProviderStaff.user_id == user_id)))


def is_provider_admin(user_id: int) -> bool:
    """The provider's own admin: manages its staff and may cancel its runs (폐강)."""
    return bool(db.session.scalar(select(ProviderStaff.is_admin).where(ProviderStaff.user_id == user_id)))
