"""ledger: double-entry voucher ledger (accounts, transfers, entries, holds) enforced by the database

Revision ID: 14c27cd67550
Revises: eec4d7b51e71
Create Date: 2026-11-25 18:43:09.118326

What the database itself refuses, on SQLite and PostgreSQL alike (docs/ledger.md explains each rule):
- an entry of zero or negative won (CHECK);
- a transfer that does not balance: its entries are numbered 1..entry_count and the closing one is refused
  unless debits = credits = the declared total; a deferred foreign key from the transfer to its closing entry
  fails the COMMIT of a transfer left unfinished (PostgreSQL also re-checks every transfer at COMMIT in a
  deferred constraint trigger);
- an UPDATE or DELETE of a transfer, entry or hold (append-only triggers);
- a change to an account except the balance cache, and that only by the entries trigger;
- an account below zero when its kind is floored (the cached balance's CHECK, kept by the entries trigger,
  so concurrent spenders queue on the account row and the second one is refused);
- a hold not placed by its own transfer, money leaving a held account other than by settling one of its
  holds, a settlement of the wrong amount, and a second settlement of the same hold (UNIQUE).

Never alter these tables with batch_alter_table on SQLite: it rebuilds the table and silently drops its
triggers. `hrdnet ledger verify` reports a missing trigger.
"""
from alembic import op
import sqlalchemy as sa
import hrdnet.models_base
from hrdnet.migration_helpers import drop_append_only, make_append_only


revision = '14c27cd67550'
down_revision = 'eec4d7b51e71'
branch_labels = None
depends_on = None

APPEND_ONLY = ('transfers', 'entries', 'holds')

ACCOUNT_KINDS = [
    # code, owner_type, normal side, may go negative, label
    ('card_available', 'card', 'credit', False, '카드 사용 가능 잔액'),
    ('card_held', 'card', 'credit', False, '카드 결제 대기(보류) 금액'),
    ('programme_budget', 'programme', 'credit', True, '사업 예산(카드 지원 재원)'),
    ('learner_copay', 'programme', 'credit', True, '훈련생 자비부담금 수납'),
    ('provider_payable', 'provider', 'credit', True, '훈련기관 지급 예정액'),
    ('provider_settled', 'provider', 'credit', False, '훈련기관 지급 완료액'),
    ('penalty', 'programme', 'credit', False, '중도탈락 제재 차감액'),
    ('expired', 'programme', 'credit', False, '유효기간 만료 소멸액'),
]

TRANSFER_KINDS = [
    ('issue', '카드 발급'),
    ('top_up', '지원 한도 추가'),
    ('hold', '수강 신청 금액 보류'),
    ('capture', '훈련비 결제'),
    ('release', '보류 해제'),
    ('hold_expiry', '결제 기한이 지나 보류 해제'),
    ('refund', '훈련비 환급'),
    ('penalty', '중도탈락 제재 차감'),
    ('expire', '유효기간 만료로 소멸'),
    ('copay', '자비부담금 납부'),
    ('settle', '훈련기관 지급'),
]

# -- SQLite -----------------------------------------------------------------------------------------------
# Triggers run for every writer (there is no PRAGMA that turns them off). Foreign keys need
# PRAGMA foreign_keys=ON, which the application sets on every connection; `hrdnet ledger verify` re-checks
# everything the foreign keys guard, for a database someone edited with them off.

SQLITE_TRIGGERS = [
    """CREATE TRIGGER entries_check BEFORE INSERT ON entries
    BEGIN
        SELECT RAISE(ABORT, 'ledger: entry for an unknown transfer')
         WHERE NOT EXISTS (SELECT 1 FROM transfers WHERE id = NEW.transfer_id);
        SELECT RAISE(ABORT, 'ledger: the transfer is closed: all its entries are written')
          FROM transfers t WHERE t.id = NEW.transfer_id AND NEW.seq > t.entry_count;
        SELECT RAISE(ABORT, 'ledger: only a capture, release or hold expiry settles a hold')
          FROM transfers t WHERE t.id = NEW.transfer_id AND t.hold_id IS NOT NULL
           AND t.kind NOT IN ('capture', 'release', 'hold_expiry');
        SELECT RAISE(ABORT, 'ledger: money leaves a held account only by settling one of its holds')
          FROM accounts a, transfers t
         WHERE a.id = NEW.account_id AND t.id = NEW.transfer_id AND a.kind = 'card_held' AND NEW.side = 'debit'
           AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.id = t.hold_id AND h.held_account_id = NEW.account_id);
        SELECT RAISE(ABORT, 'ledger: only a hold transfer puts money into a held account')
          FROM accounts a, transfers t
         WHERE a.id = NEW.account_id AND t.id = NEW.transfer_id AND a.kind = 'card_held' AND NEW.side = 'credit'
           AND t.kind <> 'hold';
        SELECT RAISE(ABORT, 'ledger: the closing entry came before all the others were written')
          FROM transfers t WHERE t.id = NEW.transfer_id AND NEW.seq = t.entry_count
           AND (SELECT count(*) FROM entries WHERE transfer_id = t.id) <> t.entry_count - 1;
        SELECT RAISE(ABORT, 'ledger: the transfer does not balance')
          FROM transfers t WHERE t.id = NEW.transfer_id AND NEW.seq = t.entry_count
           AND ((SELECT coalesce(sum(amount), 0) FROM entries WHERE transfer_id = t.id AND side = 'debit')
                  + (CASE WHEN NEW.side = 'debit' THEN NEW.amount ELSE 0 END) <> t.total
             OR (SELECT coalesce(sum(amount), 0) FROM entries WHERE transfer_id = t.id AND side = 'credit')
                  + (CASE WHEN NEW.side = 'credit' THEN NEW.amount ELSE 0 END) <> t.total);
        SELECT RAISE(ABORT, 'ledger: settling a hold must take exactly the held amount')
          FROM transfers t JOIN holds h ON h.id = t.hold_id
         WHERE t.id = NEW.transfer_id AND NEW.seq = t.entry_count
           AND (SELECT coalesce(sum(amount), 0) FROM entries
                 WHERE transfer_id = t.id AND account_id = h.held_account_id AND side = 'debit')
               + (CASE WHEN NEW.account_id = h.held_account_id AND NEW.side = 'debit' THEN NEW.amount ELSE 0 END)
               <> h.amount;
    END""",
    # The balance cache: the only writer of accounts.balance. The CHECK on accounts refuses an overdraft.
    """CREATE TRIGGER entries_apply AFTER INSERT ON entries
    BEGIN
        UPDATE accounts
           SET balance = balance + (CASE WHEN normal_side = NEW.side THEN NEW.amount ELSE -NEW.amount END),
               last_entry_id = NEW.id
         WHERE id = NEW.account_id;
    END""",
    """CREATE TRIGGER accounts_open BEFORE INSERT ON accounts
    BEGIN
        SELECT RAISE(ABORT, 'ledger: an account opens with a zero balance')
         WHERE NEW.balance <> 0 OR NEW.last_entry_id IS NOT NULL;
    END""",
    # SQLite cannot tell a trigger's UPDATE from anyone else's, so an UPDATE must name a newer entry of this
    # account (last_entry_id) and move the balance by exactly that entry: only entries_apply can do that,
    # because it runs the moment each entry is written (writers are serialised, so entry ids only grow).
    """CREATE TRIGGER accounts_guard BEFORE UPDATE ON accounts
    BEGIN
        SELECT RAISE(ABORT, 'ledger: an account''s identity never changes')
         WHERE NEW.id IS NOT OLD.id OR NEW.kind IS NOT OLD.kind OR NEW.owner_type IS NOT OLD.owner_type
            OR NEW.owner_id IS NOT OLD.owner_id OR NEW.currency IS NOT OLD.currency
            OR NEW.normal_side IS NOT OLD.normal_side OR NEW.may_go_negative IS NOT OLD.may_go_negative
            OR NEW.created_at IS NOT OLD.created_at;
        SELECT RAISE(ABORT, 'ledger: an account balance changes only through entries')
         WHERE NEW.last_entry_id IS NULL
            OR (OLD.last_entry_id IS NOT NULL AND NEW.last_entry_id <= OLD.last_entry_id)
            OR NOT EXISTS (SELECT 1 FROM entries e WHERE e.id = NEW.last_entry_id AND e.account_id = OLD.id
                              AND NEW.balance = OLD.balance
                                  + (CASE WHEN e.side = OLD.normal_side THEN e.amount ELSE -e.amount END));
    END""",
    """CREATE TRIGGER accounts_no_delete BEFORE DELETE ON accounts
    BEGIN
        SELECT RAISE(ABORT, 'accounts is append-only: DELETE refused');
    END""",
    """CREATE TRIGGER holds_check BEFORE INSERT ON holds
    BEGIN
        SELECT RAISE(ABORT, 'ledger: a hold must be placed by its own hold transfer of the same amount')
         WHERE NOT EXISTS (SELECT 1 FROM transfers t WHERE t.id = NEW.transfer_id AND t.kind = 'hold'
                              AND t.entry_count = 2 AND t.total = NEW.amount)
            OR NOT EXISTS (SELECT 1 FROM entries e WHERE e.transfer_id = NEW.transfer_id
                              AND e.account_id = NEW.available_account_id AND e.side = 'debit'
                              AND e.amount = NEW.amount)
            OR NOT EXISTS (SELECT 1 FROM entries e WHERE e.transfer_id = NEW.transfer_id
                              AND e.account_id = NEW.held_account_id AND e.side = 'credit'
                              AND e.amount = NEW.amount);
        SELECT RAISE(ABORT, 'ledger: a hold moves money from a card''s available account to its held account')
         WHERE NOT EXISTS (SELECT 1 FROM accounts a JOIN accounts b
                              ON b.owner_type = a.owner_type AND b.owner_id = a.owner_id
                            WHERE a.id = NEW.available_account_id AND a.kind = 'card_available'
                              AND b.id = NEW.held_account_id AND b.kind = 'card_held');
    END""",
]
SQLITE_TRIGGER_NAMES = ['entries_check', 'entries_apply', 'accounts_open', 'accounts_guard', 'accounts_no_delete',
                        'holds_check']

# -- PostgreSQL -------------------------------------------------------------------------------------------
# The same rules as plpgsql functions, plus a constraint trigger deferred to COMMIT that re-checks each
# transfer whole. Messages match SQLite's so that callers and tests see one wording.

PG_FUNCTIONS = [
    """CREATE FUNCTION ledger_entry_check() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        t transfers%ROWTYPE;
        h holds%ROWTYPE;
        account_kind text;
        written integer;
        debits bigint;
        credits bigint;
        taken bigint;
    BEGIN
        SELECT * INTO t FROM transfers WHERE id = NEW.transfer_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'ledger: entry for an unknown transfer' USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.seq > t.entry_count THEN
            RAISE EXCEPTION 'ledger: the transfer is closed: all its entries are written'
                USING ERRCODE = 'check_violation';
        END IF;
        IF t.hold_id IS NOT NULL THEN
            IF t.kind NOT IN ('capture', 'release', 'hold_expiry') THEN
                RAISE EXCEPTION 'ledger: only a capture, release or hold expiry settles a hold'
                    USING ERRCODE = 'check_violation';
            END IF;
            SELECT * INTO h FROM holds WHERE id = t.hold_id;
        END IF;
        SELECT kind INTO account_kind FROM accounts WHERE id = NEW.account_id;
        IF account_kind = 'card_held' THEN
            IF NEW.side = 'debit' AND (t.hold_id IS NULL OR h.held_account_id IS DISTINCT FROM NEW.account_id) THEN
                RAISE EXCEPTION 'ledger: money leaves a held account only by settling one of its holds'
                    USING ERRCODE = 'check_violation';
            END IF;
            IF NEW.side = 'credit' AND t.kind <> 'hold' THEN
                RAISE EXCEPTION 'ledger: only a hold transfer puts money into a held account'
                    USING ERRCODE = 'check_violation';
            END IF;
        END IF;
        IF NEW.seq = t.entry_count THEN
            SELECT count(*), coalesce(sum(amount) FILTER (WHERE side = 'debit'), 0),
                   coalesce(sum(amount) FILTER (WHERE side = 'credit'), 0)
              INTO written, debits, credits FROM entries WHERE transfer_id = t.id;
            IF written <> t.entry_count - 1 THEN
                RAISE EXCEPTION 'ledger: the closing entry came before all the others were written'
                    USING ERRCODE = 'check_violation';
            END IF;
            IF NEW.side = 'debit' THEN debits := debits + NEW.amount; ELSE credits := credits + NEW.amount; END IF;
            IF debits <> t.total OR credits <> t.total THEN
                RAISE EXCEPTION 'ledger: the transfer does not balance (debits %, credits %, total %)',
                    debits, credits, t.total USING ERRCODE = 'check_violation';
            END IF;
            IF t.hold_id IS NOT NULL THEN
                SELECT coalesce(sum(amount), 0) INTO taken FROM entries
                 WHERE transfer_id = t.id AND account_id = h.held_account_id AND side = 'debit';
                IF NEW.account_id = h.held_account_id AND NEW.side = 'debit' THEN taken := taken + NEW.amount; END IF;
                IF taken <> h.amount THEN
                    RAISE EXCEPTION 'ledger: settling a hold must take exactly the held amount'
                        USING ERRCODE = 'check_violation';
                END IF;
            END IF;
        END IF;
        RETURN NEW;
    END $$""",
    """CREATE FUNCTION ledger_entry_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE accounts
           SET balance = balance + (CASE WHEN normal_side = NEW.side THEN NEW.amount ELSE -NEW.amount END),
               last_entry_id = NEW.id
         WHERE id = NEW.account_id;
        RETURN NULL;
    END $$""",
    # pg_trigger_depth() is 1 for an UPDATE someone issued and 2 for the UPDATE that ledger_entry_apply makes.
    """CREATE FUNCTION ledger_account_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            IF NEW.balance <> 0 OR NEW.last_entry_id IS NOT NULL THEN
                RAISE EXCEPTION 'ledger: an account opens with a zero balance' USING ERRCODE = 'check_violation';
            END IF;
            RETURN NEW;
        END IF;
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'accounts is append-only: DELETE refused' USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF (NEW.id, NEW.kind, NEW.owner_type, NEW.owner_id, NEW.currency, NEW.normal_side, NEW.may_go_negative,
            NEW.created_at) IS DISTINCT FROM (OLD.id, OLD.kind, OLD.owner_type, OLD.owner_id, OLD.currency,
            OLD.normal_side, OLD.may_go_negative, OLD.created_at) THEN
            RAISE EXCEPTION 'ledger: an account''s identity never changes' USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF pg_trigger_depth() < 2 THEN
            RAISE EXCEPTION 'ledger: an account balance changes only through entries'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END $$""",
    """CREATE FUNCTION ledger_hold_check() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM transfers t WHERE t.id = NEW.transfer_id AND t.kind = 'hold'
                          AND t.entry_count = 2 AND t.total = NEW.amount)
           OR NOT EXISTS (SELECT 1 FROM entries e WHERE e.transfer_id = NEW.transfer_id
                             AND e.account_id = NEW.available_account_id AND e.side = 'debit' AND e.amount = NEW.amount)
           OR NOT EXISTS (SELECT 1 FROM entries e WHERE e.transfer_id = NEW.transfer_id
                             AND e.account_id = NEW.held_account_id AND e.side = 'credit' AND e.amount = NEW.amount)
        THEN
            RAISE EXCEPTION 'ledger: a hold must be placed by its own hold transfer of the same amount'
                USING ERRCODE = 'check_violation';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM accounts a JOIN accounts b ON b.owner_type = a.owner_type AND b.owner_id = a.owner_id
                        WHERE a.id = NEW.available_account_id AND a.kind = 'card_available'
                          AND b.id = NEW.held_account_id AND b.kind = 'card_held') THEN
            RAISE EXCEPTION 'ledger: a hold moves money from a card''s available account to its held account'
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END $$""",
    # At COMMIT: the whole transfer balances and has all its entries; a hold transfer has its hold.
    """CREATE FUNCTION ledger_transfer_complete() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        written integer;
        debits bigint;
        credits bigint;
    BEGIN
        SELECT count(*), coalesce(sum(amount) FILTER (WHERE side = 'debit'), 0),
               coalesce(sum(amount) FILTER (WHERE side = 'credit'), 0)
          INTO written, debits, credits FROM entries WHERE transfer_id = NEW.id;
        IF written <> NEW.entry_count OR debits <> NEW.total OR credits <> NEW.total THEN
            RAISE EXCEPTION 'ledger: the transfer does not balance at commit (% of % entries, debits %, credits %, total %)',
                written, NEW.entry_count, debits, credits, NEW.total USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.kind = 'hold' AND NOT EXISTS (SELECT 1 FROM holds WHERE transfer_id = NEW.id) THEN
            RAISE EXCEPTION 'ledger: a hold transfer was committed without its hold' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END $$""",
]
PG_FUNCTION_NAMES = ['ledger_entry_check', 'ledger_entry_apply', 'ledger_account_guard', 'ledger_hold_check',
                     'ledger_transfer_complete']
PG_TRIGGERS = [
    ('entries_check', 'entries',
     'CREATE TRIGGER entries_check BEFORE INSERT ON entries FOR EACH ROW EXECUTE FUNCTION ledger_entry_check()'),
    ('entries_apply', 'entries',
     'CREATE TRIGGER entries_apply AFTER INSERT ON entries FOR EACH ROW EXECUTE FUNCTION ledger_entry_apply()'),
    ('accounts_guard', 'accounts',
     'CREATE TRIGGER accounts_guard BEFORE INSERT OR UPDATE OR DELETE ON accounts '
     'FOR EACH ROW EXECUTE FUNCTION ledger_account_guard()'),
    ('accounts_no_truncate', 'accounts',
     'CREATE TRIGGER accounts_no_truncate BEFORE TRUNCATE ON accounts '
     'FOR EACH STATEMENT EXECUTE FUNCTION hrdnet_refuse_change()'),
    ('holds_check', 'holds',
     'CREATE TRIGGER holds_check BEFORE INSERT ON holds FOR EACH ROW EXECUTE FUNCTION ledger_hold_check()'),
    ('transfers_complete', 'transfers',
     'CREATE CONSTRAINT TRIGGER transfers_complete AFTER INSERT ON transfers DEFERRABLE INITIALLY DEFERRED '
     'FOR EACH ROW EXECUTE FUNCTION ledger_transfer_complete()'),
]


def _closing_entry_fk():
    return sa.ForeignKeyConstraint(['id', 'entry_count'], ['entries.transfer_id', 'entries.seq'],
                                   name='fk_transfers_closing_entry', deferrable=True, initially='DEFERRED')


def _hold_fk():
    return sa.ForeignKeyConstraint(['hold_id'], ['holds.id'], name=op.f('fk_transfers_hold_id_holds'))


def upgrade():
    postgresql = op.get_bind().dialect.name == 'postgresql'
    account_kinds = op.create_table('account_kinds',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('owner_type', sa.String(length=16), nullable=False),
    sa.Column('normal_side', sa.String(length=6), nullable=False),
    sa.Column('may_go_negative', sa.Boolean(), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.CheckConstraint("normal_side IN ('debit', 'credit')", name=op.f('ck_account_kinds_normal_side_known')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_account_kinds')),
    sa.UniqueConstraint('code', 'owner_type', 'normal_side', 'may_go_negative', name='uq_account_kinds_flags')
    )
    transfer_kinds = op.create_table('transfer_kinds',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_transfer_kinds'))
    )
    op.bulk_insert(account_kinds, [dict(zip(('code', 'owner_type', 'normal_side', 'may_go_negative', 'label'), row))
                                   for row in ACCOUNT_KINDS])
    op.bulk_insert(transfer_kinds, [{'code': code, 'label': label} for code, label in TRANSFER_KINDS])

    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('owner_type', sa.String(length=16), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('normal_side', sa.String(length=6), nullable=False),
    sa.Column('may_go_negative', sa.Boolean(), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.Column('last_entry_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.CheckConstraint("currency = 'KRW'", name=op.f('ck_accounts_currency_krw')),
    sa.CheckConstraint('balance >= 0 OR may_go_negative', name=op.f('ck_accounts_floor')),
    sa.ForeignKeyConstraint(['kind', 'owner_type', 'normal_side', 'may_go_negative'], ['account_kinds.code', 'account_kinds.owner_type', 'account_kinds.normal_side', 'account_kinds.may_go_negative'], name='fk_accounts_kind_account_kinds'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('kind', 'owner_type', 'owner_id', name='uq_accounts_owner')
    )
    op.create_index('ix_accounts_holding', 'accounts', ['id'], unique=False,
                    postgresql_where=sa.text("kind = 'card_held' AND balance > 0"),
                    sqlite_where=sa.text("kind = 'card_held' AND balance > 0"))

    # transfers, entries and holds refer to each other. SQLite accepts a foreign key to a table that does not
    # exist yet (and cannot add one later without rebuilding the table); PostgreSQL adds them once all exist.
    op.create_table('transfers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('hold_id', sa.Integer(), nullable=True),
    sa.Column('entry_count', sa.SmallInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('memo', sa.String(length=200), nullable=False),
    sa.Column('created_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.CheckConstraint("memo <> ''", name=op.f('ck_transfers_memo_given')),
    sa.CheckConstraint('entry_count >= 2', name=op.f('ck_transfers_two_entries_at_least')),
    sa.CheckConstraint('total > 0', name=op.f('ck_transfers_total_positive')),
    sa.ForeignKeyConstraint(['kind'], ['transfer_kinds.code'], name=op.f('fk_transfers_kind_transfer_kinds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfers')),
    sa.UniqueConstraint('hold_id', name=op.f('uq_transfers_hold_id')),
    sa.UniqueConstraint('key', name=op.f('uq_transfers_key')),
    *([] if postgresql else [_hold_fk(), _closing_entry_fk()])
    )
    op.create_table('entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('transfer_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.SmallInteger(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('side', sa.String(length=6), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("side IN ('debit', 'credit')", name=op.f('ck_entries_side_known')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_entries_amount_positive')),
    sa.CheckConstraint('seq >= 1', name=op.f('ck_entries_seq_positive')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_entries_account_id_accounts')),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_entries_transfer_id_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entries')),
    sa.UniqueConstraint('transfer_id', 'seq', name='uq_entries_transfer_seq')
    )
    op.create_index('ix_entries_account', 'entries', ['account_id', 'id'], unique=False)

    op.create_table('holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transfer_id', sa.Integer(), nullable=False),
    sa.Column('available_account_id', sa.Integer(), nullable=False),
    sa.Column('held_account_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.Column('created_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_holds_amount_positive')),
    sa.ForeignKeyConstraint(['available_account_id'], ['accounts.id'], name=op.f('fk_holds_available_account_id_accounts')),
    sa.ForeignKeyConstraint(['held_account_id'], ['accounts.id'], name=op.f('fk_holds_held_account_id_accounts')),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_holds_transfer_id_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holds')),
    sa.UniqueConstraint('transfer_id', name=op.f('uq_holds_transfer_id'))
    )
    op.create_index(op.f('ix_holds_held_account_id'), 'holds', ['held_account_id'], unique=False)

    if postgresql:
        op.create_foreign_key(op.f('fk_transfers_hold_id_holds'), 'transfers', 'holds', ['hold_id'], ['id'])
        op.create_foreign_key('fk_transfers_closing_entry', 'transfers', 'entries', ['id', 'entry_count'],
                              ['transfer_id', 'seq'], deferrable=True, initially='DEFERRED')
        for function in PG_FUNCTIONS:
            op.execute(function)
        for _name, _table, trigger in PG_TRIGGERS:
            op.execute(trigger)
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)
    for table in APPEND_ONLY:
        make_append_only(table)


def downgrade():
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for table in APPEND_ONLY:
        drop_append_only(table)
    if postgresql:
        for name, table, _trigger in PG_TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS {name} ON {table}')
        for name in PG_FUNCTION_NAMES:
            op.execute(f'DROP FUNCTION IF EXISTS {name}()')
        op.drop_constraint('fk_transfers_closing_entry', 'transfers', type_='foreignkey')
        op.drop_constraint(op.f('fk_transfers_hold_id_holds'), 'transfers', type_='foreignkey')
    else:
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f'DROP TRIGGER IF EXISTS {name}')
        # transfers, entries and holds refer to each other: check the foreign keys at commit, by which time
        # all three are gone (dropping a table deletes its rows first, and that must not trip them midway).
        op.execute('PRAGMA defer_foreign_keys = ON')
    op.drop_index(op.f('ix_holds_held_account_id'), table_name='holds')
    op.drop_table('holds')
    op.drop_index('ix_entries_account', table_name='entries')
    op.drop_table('entries')
    op.drop_table('transfers')
    op.drop_index('ix_accounts_holding', table_name='accounts')
    op.drop_table('accounts')
    op.drop_table('transfer_kinds')
    op.drop_table('account_kinds')
