"""A deliberately naive enrolment, for tests/vouchers/enrolments/test_races.py ONLY. Never import it elsewhere.

It makes the two mistakes vouchers.enrolments is built to avoid, each a read-then-write:

- the seat check: it reads the run's seats left in one transaction, decides in Python, and in another
  transaction writes `local_enrolled = <what it read> + 1` with no guard in the UPDATE (the real code's
  UPDATE … WHERE capacity − source_enrolled − local_enrolled > 0 is the guard);
- the balance check: it reads the card's balance, decides in Python, and writes the balance it computed
  into a plain column with no CHECK and no trigger (the real ledger's balance is kept by a trigger and
  floored by a CHECK, so the database refuses an overdraft whoever writes).

It refuses with the same domain errors as the real service (RunFull, InsufficientBalance), so the same race
harness and the same judges apply to both. The race harness must catch it overselling and overspending; if
it could not, its passing the real enrolment would prove nothing.

It writes only test data: the `local_enrolled` column of a run row the test made, and its own two tables
(naive_card_balances, naive_enrolments). The application is not changed in any way.
"""

from __future__ import annotations

import time

from sqlalchemy import text

from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from vouchers import errors

# The work a real service does between its check and its write (pricing, the card's status, the hold):
# that is the window a read-then-write race falls into. The sleep only widens it so the test is reliable.
THINK_SECONDS = 0.03


class NaiveEnrolment:
    """Naive seat and balance checks over the real `runs` table and two plain tables of its own."""

    def install(self) -> None:
        key = "BIGSERIAL PRIMARY KEY" if db.engine.dialect.name == "postgresql" else "INTEGER PRIMARY KEY"
        with db.engine.begin() as conn:
            conn.execute(
                text("CREATE TABLE naive_card_balances (card_id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)")
            )  # no CHECK: nothing stops it going below zero
            conn.execute(
                text(
                    f"CREATE TABLE naive_enrolments (id {key}, user_id BIGINT NOT NULL, "
                    "run_id BIGINT NOT NULL, card_id BIGINT, card_draw BIGINT NOT NULL)"
                )
            )

    def open_card(self, card_id: int, balance: int) -> None:
        with db.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO naive_card_balances (card_id, balance) VALUES (:card, :balance)"),
                {"card": card_id, "balance": balance},
            )

    def enrol(self, user_id: int, run_id: int, *, card_id: int | None = None, card_draw: int = 0) -> bool:
        """Check the seat and the balance, think, then write what was decided: the bug under test."""
        with unit_of_work():  # the read: no lock, a snapshot that is stale by the time it is used
            seat = db.session.execute(
                text(
                    "SELECT capacity - source_enrolled - local_enrolled AS seats_left, local_enrolled FROM runs "
                    "WHERE id = :run"
                ),
                {"run": run_id},
            ).one()
            balance = None
            if card_draw:
                balance = db.session.execute(
                    text("SELECT balance FROM naive_card_balances WHERE card_id = :card"), {"card": card_id}
                ).scalar_one()
        if seat.seats_left <= 0:
            raise errors.RunFull()
        if balance is not None and balance < card_draw:
            raise errors.InsufficientBalance()
        time.sleep(THINK_SECONDS)
        with unit_of_work(write_lock=True):  # the write: takes the lock, but too late, and checks nothing
            db.session.execute(
                text("UPDATE runs SET local_enrolled = :taken WHERE id = :run"),
                {"taken": seat.local_enrolled + 1, "run": run_id},
            )
            if balance is not None:
                db.session.execute(
                    text("UPDATE naive_card_balances SET balance = :balance WHERE card_id = :card"),
                    {"balance": balance - card_draw, "card": card_id},
                )
            db.session.execute(
                text(
                    "INSERT INTO naive_enrolments (user_id, run_id, card_id, card_draw) "
                    "VALUES (:user, :run, :card, :draw)"
                ),
                {"user": user_id, "run": run_id, "card": card_id, "draw": card_draw},
            )
        return True

    def enrolled(self, run_id: int | None = None) -> int:
        query = "SELECT count(*) FROM naive_enrolments" + (" WHERE run_id = :run" if run_id is not None else "")
        with db.engine.connect() as conn:
            return conn.execute(text(query), {"run": run_id}).scalar_one()

    def balance(self, card_id: int) -> int:
        with db.engine.connect() as conn:
            return conn.execute(
                text("SELECT balance FROM naive_card_balances WHERE card_id = :card"), {"card": card_id}
            ).scalar_one()

    def drawn(self, card_id: int) -> int:
        with db.engine.connect() as conn:
            return conn.execute(
                text("SELECT coalesce(sum(card_draw), 0) FROM naive_enrolments WHERE card_id = :card"),
                {"card": card_id},
            ).scalar_one()
