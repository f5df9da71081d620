"""A deliberately naive card ledger, for tests/vouchers/ledger/test_races.py ONLY. Never import it elsewhere.

It does what the house style calls a bug ("a check-then-insert in Python is a bug"): it reads the balance
in one transaction, decides in Python, and writes the balance it computed in another. Its tables have no
CHECK and no trigger. The race harness must catch it overspending; if the harness could not, its passing
the real ledger would prove nothing.

Two versions of the same mistake:
- `NaiveLedger`: its own tables (naive_cards, naive_holds), the balance a plain column it overwrites.
- `NaiveOnRealSchema`: the same read-then-write code posting raw SQL into the real ledger tables. There the
  database refuses the overspend on its own (the trigger-kept balance and its CHECK), which is the point of
  putting the rule in the database.
"""

from __future__ import annotations

import time

from sqlalchemy import text
from sqlalchemy.engine import Engine

# The work a real service does between reading and writing (pricing, seat checks, a payment call), which
# is where a read-then-write race happens. Without it the race still happens, only less reliably.
THINK_SECONDS = 0.005


class NaiveLedger:
    def __init__(self, engine: Engine):
        self.engine = engine

    def install(self) -> None:
        key = "BIGSERIAL PRIMARY KEY" if self.engine.dialect.name == "postgresql" else "INTEGER PRIMARY KEY"
        with self.engine.begin() as conn:
            conn.execute(text("CREATE TABLE naive_cards (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)"))
            conn.execute(text(f"CREATE TABLE naive_holds (id {key}, card_id BIGINT NOT NULL, amount BIGINT NOT NULL)"))

    def open_card(self, card_id: int, amount: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO naive_cards (id, balance) VALUES (:id, :amount)"), {"id": card_id, "amount": amount}
            )

    def hold(self, card_id: int, amount: int) -> bool:
        """True when held. Reads, thinks, then writes the balance it computed: the bug under test."""
        with self.engine.connect() as conn:
            with conn.begin():
                balance = conn.execute(text("SELECT balance FROM naive_cards WHERE id = :id"), {"id": card_id}).scalar()
            if balance < amount:
                return False
            time.sleep(THINK_SECONDS)
            with conn.begin():
                conn.execute(
                    text("UPDATE naive_cards SET balance = :balance WHERE id = :id"),
                    {"balance": balance - amount, "id": card_id},
                )
                conn.execute(
                    text("INSERT INTO naive_holds (card_id, amount) VALUES (:id, :amount)"),
                    {"id": card_id, "amount": amount},
                )
        return True

    def balance(self, card_id: int) -> int:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT balance FROM naive_cards WHERE id = :id"), {"id": card_id}).scalar()

    def held(self, card_id: int) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                text("SELECT coalesce(sum(amount), 0) FROM naive_holds WHERE card_id = :id"), {"id": card_id}
            ).scalar()


class NaiveOnRealSchema:
    """The same read-then-write mistake, writing raw SQL into the real ledger's tables."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def hold(self, key: str, available_id: int, held_id: int, amount: int) -> bool:
        with self.engine.connect() as conn:
            with conn.begin():
                balance = conn.execute(
                    text("SELECT balance FROM accounts WHERE id = :id"), {"id": available_id}
                ).scalar()
            if balance < amount:
                return False
            time.sleep(THINK_SECONDS)
            with conn.begin():
                conn.execute(
                    text(
                        "INSERT INTO transfers (key, kind, entry_count, total, memo, created_at) "
                        "VALUES (:key, 'hold', 2, :amount, '보류', CURRENT_TIMESTAMP)"
                    ),
                    {"key": key, "amount": amount},
                )
                for seq, account, side in ((1, available_id, "debit"), (2, held_id, "credit")):
                    conn.execute(
                        text(
                            "INSERT INTO entries (transfer_id, seq, account_id, side, amount) "
                            "VALUES ((SELECT id FROM transfers WHERE key = :key), :seq, :account, :side, "
                            ":amount)"
                        ),
                        {"key": key, "seq": seq, "account": account, "side": side, "amount": amount},
                    )
                conn.execute(
                    text(
                        "INSERT INTO holds (transfer_id, available_account_id, held_account_id, amount, "
                        "expires_at, created_at) VALUES ((SELECT id FROM transfers WHERE key = :key), "
                        ":available, :held, :amount, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"key": key, "available": available_id, "held": held_id, "amount": amount},
                )
        return True
