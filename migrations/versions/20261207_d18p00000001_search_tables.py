"""the PostgreSQL search backend's tables (SEARCH_BACKEND = "postgresql"; docs/search.md)

PostgreSQL only: on SQLite this migration does nothing (the backend refuses to start there).

Revision ID: d18p00000001
Revises: a15c00000001
Create Date: 2026-12-07 21:00:00.000000
"""
from alembic import op


revision = 'd18p00000001'
down_revision = 'a15c00000001'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # One row per course that has a listed run: its text as Kiwi morphemes and Hangul bigrams
    # (search.analysis), weighted A title, B keywords/provider/certificate, C contents.
    op.execute("""
        CREATE TABLE search_courses (
            course_id bigint PRIMARY KEY,
            provider_id bigint NOT NULL,
            title text NOT NULL,
            provider text NOT NULL,
            contents text NOT NULL DEFAULT '',
            title_key text NOT NULL DEFAULT '',
            title_len integer NOT NULL DEFAULT 0,
            morph tsvector NOT NULL,
            grams tsvector NOT NULL
        )""")
    op.execute("CREATE INDEX ix_search_courses_morph ON search_courses USING gin (morph)")
    op.execute("CREATE INDEX ix_search_courses_grams ON search_courses USING gin (grams)")
    op.execute("CREATE INDEX ix_search_courses_title_key ON search_courses (title_key)")
    op.execute("CREATE INDEX ix_search_courses_title_trgm ON search_courses USING gin (title gin_trgm_ops)")
    # One row per listed run: the values filters, facets, sorts and result lines read.
    op.execute("""
        CREATE TABLE search_runs (
            run_id bigint PRIMARY KEY,
            course_id bigint NOT NULL,
            provider_id bigint NOT NULL,
            start_date date NOT NULL,
            end_date date NOT NULL,
            start_month char(7) NOT NULL,
            fee bigint NOT NULL,
            self_pay bigint,
            card_draw bigint,
            self_pay_classes bigint[] NOT NULL DEFAULT '{}',
            seats_left integer NOT NULL,
            employment real,
            satisfaction real,
            region varchar(5) NOT NULL DEFAULT '',
            sido varchar(2) NOT NULL DEFAULT '',
            ncs varchar(8) NOT NULL DEFAULT '',
            ncs1 varchar(2) NOT NULL DEFAULT '',
            ncs2 varchar(4) NOT NULL DEFAULT '',
            programme varchar(16) NOT NULL DEFAULT '',
            ministry varchar(16) NOT NULL DEFAULT '',
            mode varchar(16) NOT NULL,
            weekend varchar(16) NOT NULL,
            dropped boolean NOT NULL,
            apply_opens date NOT NULL,
            apply_closes date NOT NULL,
            window_by_provider boolean NOT NULL,
            lifecycle_closed boolean NOT NULL,
            run_number integer NOT NULL DEFAULT 0,
            source_ids text[] NOT NULL DEFAULT '{}'
        )""")
    op.execute("CREATE INDEX ix_search_runs_course_id ON search_runs (course_id)")
    op.execute("CREATE INDEX ix_search_runs_end_date ON search_runs (end_date)")
    op.execute("CREATE INDEX ix_search_runs_provider_id ON search_runs (provider_id)")
    # The index vocabulary: morphemes ('m') and bigrams ('g') with the courses holding them, for query
    # analysis without Kiwi, rarity, 초성 and, through the letters (jamo) and pg_trgm, typos.
    op.execute("""
        CREATE TABLE search_terms (
            kind char(1) NOT NULL,
            term text NOT NULL,
            df integer NOT NULL,
            letters text NOT NULL DEFAULT '',
            PRIMARY KEY (kind, term)
        )""")
    op.execute("CREATE INDEX ix_search_terms_letters_trgm ON search_terms USING gin (letters gin_trgm_ops) WHERE kind = 'm'")
    # One row: a generation bumped by every write (per-process caches of the vocabulary follow it).
    op.execute("""
        CREATE TABLE search_state (
            id integer PRIMARY KEY CHECK (id = 1),
            generation bigint NOT NULL DEFAULT 0,
            built_at timestamptz,
            runs integer NOT NULL DEFAULT 0,
            courses integer NOT NULL DEFAULT 0
        )""")
    op.execute("INSERT INTO search_state (id) VALUES (1)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ("search_state", "search_terms", "search_runs", "search_courses"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
