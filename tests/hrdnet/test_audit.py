"""The hash-chained audit log: append-only in the database, and every kind of tampering is named."""

from datetime import UTC, datetime

import pytest
from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from hrdnet import audit
from hrdnet.db import unit_of_work
from hrdnet.extensions import db

pytestmark = pytest.mark.both_dbs


def _append(n: int) -> None:
    with unit_of_work(write_lock=True):
        for i in range(n):
            audit.append("test.event", actor="system", subject_type="thing", subject_id=i, data={"n": i})


def _as_attacker(sql: str, **params) -> None:
    """Change the log the way someone with DDL rights could: switch the guard off, edit, switch it on."""
    db.session.rollback()  # end the test's own read snapshot, as a separate run of verify would start fresh
    dialect = db.engine.dialect.name
    with db.engine.begin() as conn:
        if dialect == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        conn.execute(text(sql), params)
        if dialect == "postgresql":
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))


def test_an_intact_log_verifies_and_reports_its_head(app, runner):
    _append(5)
    verdict = audit.verify()
    assert verdict.ok and verdict.count == 5
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert "5 entries" in result.output and verdict.head_hash in result.output


def test_the_database_refuses_update_and_delete(app):
    _append(2)
    for statement in ("UPDATE audit_log SET action = 'x' WHERE id = 1", "DELETE FROM audit_log WHERE id = 2"):
        with pytest.raises(DatabaseError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(statement))
    assert audit.verify().ok


def test_postgresql_refuses_truncate_too(app, db_backend):
    if db_backend != "postgresql":
        return  # SQLite has no TRUNCATE; its DELETE trigger covers "DELETE FROM audit_log"
    with pytest.raises(DatabaseError, match="append-only"):
        with db.engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_log"))


@pytest.mark.parametrize(
    ("tamper", "bad_id", "words"),
    [
        ("UPDATE audit_log SET data = '[99]' WHERE id = 3", 3, "edited"),
        ("DELETE FROM audit_log WHERE id = 3", 4, "deleted"),
        ("UPDATE audit_log SET id = id + 100 WHERE id >= 3", 103, "deleted"),
    ],
)
def test_edit_and_delete_are_named_at_the_first_bad_entry(app, runner, tamper, bad_id, words):
    _append(5)
    _as_attacker(tamper)
    verdict = audit.verify()
    assert not verdict.ok and verdict.bad_id == bad_id and words in verdict.reason
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"entry {bad_id}" in result.output


def test_an_entry_slipped_in_outside_the_application_is_named(app):
    """A row written straight into the table (with a self-consistent hash of its own) breaks the chain.

    In the middle of the chain an insertion would also have to rewrite the next entry's previous hash
    (UNIQUE), which the next test's edit check catches; here it goes in at the end with a made-up link.
    """
    _append(3)
    at = audit.utcnow()
    fake_prev = "f" * 64
    forged_hash = audit.entry_hash(4, at, "forged", "system", "thing", "x", "{}", fake_prev)
    _as_attacker(
        "INSERT INTO audit_log (id, at, action, actor, subject_type, subject_id, data, prev_hash, hash) "
        "VALUES (4, :at, 'forged', 'system', 'thing', 'x', '{}', :prev, :hash)",
        at=at.replace(tzinfo=None),
        prev=fake_prev,
        hash=forged_hash,
    )
    verdict = audit.verify()
    assert not verdict.ok and verdict.bad_id == 4
    assert "inserted" in verdict.reason


def test_rewriting_a_link_to_make_room_for_an_insertion_is_named_as_an_edit(app):
    _append(3)
    _as_attacker("UPDATE audit_log SET prev_hash = :fake WHERE id = 2", fake="e" * 64)
    verdict = audit.verify()
    assert not verdict.ok and verdict.bad_id == 2


def test_reordered_entries_are_named(app):
    _append(4)
    _as_attacker("UPDATE audit_log SET id = -1 WHERE id = 2")
    _as_attacker("UPDATE audit_log SET id = 2 WHERE id = 3")
    _as_attacker("UPDATE audit_log SET id = 3 WHERE id = -1")
    verdict = audit.verify()
    assert not verdict.ok and verdict.bad_id == 2 and "reordered" in verdict.reason


def test_entries_removed_from_the_end_are_caught_with_a_recorded_head(app, runner):
    _append(4)
    head = audit.verify().head_hash
    _as_attacker("DELETE FROM audit_log WHERE id = 4")
    assert audit.verify().ok  # the shortened chain is self-consistent ...
    result = runner.invoke(args=["audit", "verify", "--expect-head", head])
    assert result.exit_code == 1  # ... but not the chain whose head was written down elsewhere
    assert "expected" in result.output


def test_a_unique_previous_hash_stops_a_forked_chain(app):
    _append(1)
    head = db.session.execute(text("SELECT hash FROM audit_log WHERE id = 1")).scalar()
    with pytest.raises(DatabaseError):
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO audit_log (id, at, action, actor, subject_type, subject_id, data, "
                    "prev_hash, hash) VALUES (7, '2026-01-01 00:00:00', 'a', 'b', 'c', 'd', '{}', "
                    ":prev, 'f')"
                ),
                {"prev": "0" * 64},
            )
    assert head


def test_signup_leaves_only_pseudonymous_keys_in_the_log(app, client):
    from tests.conftest import csrf_token

    client.post(
        "/signup",
        data={
            "email": "private.person@example.com",
            "name": "홍길동",
            "phone": "010-1234-5678",
            "birth_date": "1990-05-17",
            "password": "a-long-password-1",
            "password_confirm": "a-long-password-1",
            "agree_privacy": "y",
            "csrf_token": csrf_token(client, "/signup"),
        },
    )
    from hrdnet.auth.models import User

    user = db.session.scalar(db.select(User).where(User.email == "private.person@example.com"))
    rows = db.session.execute(text("SELECT action, actor, subject_type, subject_id, data FROM audit_log")).all()
    assert [r.action for r in rows] == ["user.signup"]
    # Who: the random pseudonym, nothing derived from the person. What: the data fields, checked for every
    # personal value (the hashes are left out: random hex may contain any digits, "5678" included).
    assert (rows[0].actor, rows[0].subject_type, rows[0].subject_id) == (user.pseudonym, "user", user.pseudonym)
    for personal in (
        "private.person",
        "example.com",
        "홍길동",
        "010-1234-5678",
        "01012345678",
        "5678",
        "1990-05-17",
        "19900517",
    ):
        assert personal not in rows[0].data


def _actions() -> list[str]:
    return list(db.session.scalars(text("SELECT action FROM audit_log ORDER BY id")))


def test_the_hot_path_chains_its_entries_at_commit_and_drops_those_rolled_back(app, db_backend):
    """A unit of work holding the money lock shared (the enrolment hot path) appends at COMMIT, so the chain's
    lock is held for one INSERT; what a savepoint or the transaction rolled back never reaches the chain."""
    if db_backend != "postgresql":
        pytest.skip("SQLite's write lock already serialises the whole unit of work: it appends at once")
    with unit_of_work(write_lock=True):
        audit.lock_chain(shared=True)
        audit.append("test.kept", actor="system", subject_type="thing", subject_id=1)
        savepoint = db.session.begin_nested()
        audit.append("test.undone", actor="system", subject_type="thing", subject_id=2)
        savepoint.rollback()
        inner = db.session.begin_nested()
        audit.append("test.kept_too", actor="system", subject_type="thing", subject_id=3)
        inner.commit()
        assert _actions() == []  # nothing written (nor the chain locked) before COMMIT
    assert _actions() == ["test.kept", "test.kept_too"]
    with pytest.raises(RuntimeError):
        with unit_of_work(write_lock=True):
            audit.lock_chain(shared=True)
            audit.append("test.rolled_back", actor="system", subject_type="thing", subject_id=4)
            raise RuntimeError("the unit of work fails")
    _append(1)  # an ordinary append continues the chain after the deferred ones
    db.session.rollback()
    assert _actions() == ["test.kept", "test.kept_too", "test.event"]
    assert audit.verify().ok


def _forge_from(entry_id: int, key_id: str | None, secret: str | None) -> None:
    """Edit entry `entry_id` and re-hash it and every later entry so the links fit, as someone with write
    access to the table would, signing with `key_id`: `secret` is their guess (None: unkeyed SHA-256)."""
    rows = db.session.execute(
        text("SELECT id, at, action, actor, subject_type, subject_id, data, prev_hash FROM audit_log ORDER BY id")
    ).all()
    config = current_app.config
    real, config["AUDIT_KEYS"] = config["AUDIT_KEYS"], [f"{key_id}:{secret}"] if key_id else []
    try:
        prev, updates = None, []
        for row in rows:
            if row.id < entry_id:
                continue
            data = '{"forged":true}' if row.id == entry_id else row.data
            at = datetime.fromisoformat(str(row.at)).replace(tzinfo=UTC)
            prev = prev or row.prev_hash
            digest = audit.entry_hash(
                row.id, at, row.action, row.actor, row.subject_type, row.subject_id, data, prev, key_id
            )
            updates.append({"id": row.id, "data": data, "prev": prev, "hash": digest, "key": key_id})
            prev = digest
    finally:
        config["AUDIT_KEYS"] = real
    for update in reversed(updates):  # from the end: the UNIQUE hashes never collide on the way
        _as_attacker(
            "UPDATE audit_log SET data = :data, prev_hash = :prev, hash = :hash, key_id = :key WHERE id = :id",
            **update,
        )


@pytest.mark.parametrize(
    ("key_id", "secret", "words"),
    [("dev", "a-guessed-secret", "edited"), (None, None, "unkeyed after keyed entries")],
)
def test_write_access_alone_cannot_recompute_the_keyed_chain(app, key_id, secret, words):
    _append(4)
    _forge_from(3, key_id, secret)
    verdict = audit.verify()
    assert not verdict.ok and verdict.bad_id == 3 and words in verdict.reason, verdict


def test_a_rotated_key_signs_new_entries_and_the_old_one_still_verifies_its_own(app):
    _append(2)
    old = current_app.config["AUDIT_KEYS"]
    current_app.config["AUDIT_KEYS"] = ["k2:" + "n3wS3cr3t-" * 5, *old]
    _append(2)
    db.session.rollback()
    assert _key_ids() == ["dev", "dev", "k2", "k2"]
    assert audit.verify().ok
    current_app.config["AUDIT_KEYS"] = current_app.config["AUDIT_KEYS"][:1]  # the old key dropped too soon
    verdict = audit.verify()
    assert not verdict.ok and verdict.bad_id == 1 and "not in AUDIT_KEYS" in verdict.reason


def _key_ids() -> list[str]:
    return list(db.session.scalars(text("SELECT key_id FROM audit_log ORDER BY id")))
