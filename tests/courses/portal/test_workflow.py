"""The approval workflow is one table: every (state, event) pair either moves as the table says or is refused."""

from __future__ import annotations

import itertools

import pytest

from courses.portal import workflow
from courses.portal.models import STATES, Submission

ALLOWED = sorted(workflow.TRANSITIONS.items())
REFUSED = sorted(
    (state, event)
    for state, event in itertools.product(STATES, workflow.EVENTS)
    if (state, event) not in workflow.TRANSITIONS
)


@pytest.mark.parametrize(("move", "target"), ALLOWED, ids=[f"{s}-{e}" for (s, e), _ in ALLOWED])
def test_an_allowed_transition_moves_to_its_target(move, target):
    state, event = move
    submission = Submission(state=state)
    assert workflow.apply(submission, event) == state
    assert submission.state == target


@pytest.mark.parametrize(("state", "event"), REFUSED, ids=[f"{s}-{e}" for s, e in REFUSED])
def test_every_other_transition_is_refused_and_changes_nothing(state, event):
    submission = Submission(state=state)
    with pytest.raises(workflow.IllegalTransition) as refused:
        workflow.apply(submission, event)
    assert submission.state == state
    assert refused.value.status == 409 and "할 수 없습니다" in refused.value.message


def test_the_table_speaks_only_of_known_states_and_events():
    for (state, event), target in workflow.TRANSITIONS.items():
        assert state in STATES and target in STATES and event in workflow.EVENTS
    # a withdrawn submission is final; an auditor's decision needs a submission to decide on
    assert not [move for move in workflow.TRANSITIONS if move[0] == "withdrawn"]
    assert {s for s, e in workflow.TRANSITIONS if e in ("approve", "reject")} == {"submitted"}
