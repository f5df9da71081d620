"""Logins of one person verifying at the same moment: exactly one is linked, the others wait for review.

Without the person's row lock, every racer saw "no other login yet" and linked itself, so the review that
stops a stranger from reaching a card (tests/functional/test_identity_linking.py) could be raced past.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from hrdnet.access import Role
from hrdnet.auth import services
from hrdnet.auth.models import User
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from tests.conftest import PASSWORD
from tests.support.races import race
from tests.support.vouchers import ACTOR
from vouchers.cards import operations as cards
from vouchers.cards.models import IdentityLink, LinkStatus, Person

pytestmark = pytest.mark.both_dbs

LOGINS = 8


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": LOGINS + 2, "max_overflow": 0, "pool_timeout": 60}}


def test_logins_of_one_person_racing_to_verify_link_exactly_one(app, db_backend):
    """The person is known already (their earlier login was erased), so no insert orders the racers."""
    details = {"name": "동시에", "birth_date": date(1990, 5, 17), "phone": "010-4444-5555"}
    with unit_of_work(write_lock=True):
        first = services.create_user(email="erased@example.com", role=Role.LEARNER, name="홍길동", password=PASSWORD)
        cards.verify_identity(first.id, **details, actor=ACTOR)
        user_ids = [
            services.create_user(
                email=f"same-person-{k}@example.com", role=Role.LEARNER, name="홍길동", password=PASSWORD
            ).id
            for k in range(LOGINS)
        ]
    with unit_of_work(write_lock=True):
        db.session.delete(db.session.get(User, first.id))  # cascades to its identity link; the person stays

    def attempt(i: int):
        with unit_of_work(write_lock=True):
            return cards.verify_identity(user_ids[i], **details, actor=ACTOR)

    result = race(app, attempt, n=LOGINS)

    assert result.succeeded == LOGINS, result.summary()
    statuses = dict(db.session.execute(select(IdentityLink.status, func.count()).group_by(IdentityLink.status)).all())
    assert statuses == {LinkStatus.ACTIVE: 1, LinkStatus.PENDING: LOGINS - 1}
    assert db.session.scalar(select(func.count()).select_from(Person)) == 1
