"""The approval workflow of a run submission: one transition table and the one function that applies it.

    draft ──submit──▶ submitted ──approve──▶ approved
      ▲ save            │  └────reject──▶ rejected
      └──────────────── save (a new revision) ◀── approved | rejected

Editing (save) or submitting again after a decision starts a new revision (courses.portal.services); while
it waits, the public keeps seeing the last approved one. Withdrawing takes the run out of the catalog.
"""

from __future__ import annotations

from courses.portal.models import Submission
from hrdnet.errors import Conflict

TRANSITIONS: dict[tuple[str, str], str] = {
    ("draft", "save"): "draft",
    ("draft", "submit"): "submitted",
    ("draft", "withdraw"): "withdrawn",
    ("submitted", "approve"): "approved",
    ("submitted", "reject"): "rejected",
    ("submitted", "withdraw"): "withdrawn",
    ("approved", "save"): "draft",
    ("approved", "submit"): "submitted",
    ("approved", "withdraw"): "withdrawn",
    ("rejected", "save"): "draft",
    ("rejected", "submit"): "submitted",
    ("rejected", "withdraw"): "withdrawn",
}
EVENTS = ("save", "submit", "approve", "reject", "withdraw")
STATE_LABELS = {
    "draft": "작성 중",
    "submitted": "승인 대기",
    "approved": "승인",
    "rejected": "반려",
    "withdrawn": "철회",
}
EVENT_LABELS = {"save": "저장", "submit": "승인 요청", "approve": "승인", "reject": "반려", "withdraw": "철회"}
# A new revision starts when the provider edits after a decision (what was decided is never rewritten).
NEW_REVISION_FROM = ("approved", "rejected")


class IllegalTransition(Conflict):
    code = "illegal_transition"

    def __init__(self, state: str, event: str):
        super().__init__(
            f"{STATE_LABELS.get(state, state)} 상태에서는 {EVENT_LABELS.get(event, event)}할 수 없습니다.",
            details={"state": state, "event": event},
        )


def next_state(state: str, event: str) -> str:
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition(state, event) from None


def apply(submission: Submission, event: str) -> str:
    """Move the submission by the event; returns the state it left. Raises IllegalTransition."""
    before = submission.state
    submission.state = next_state(before, event)
    return before
