"""The PostgreSQL search backend (SEARCH_BACKEND = "postgresql"; docs/search.md, "The PostgreSQL backend").

The same documents as the Whoosh index (search.index.build: the same Kiwi morphemes and Hangul bigrams, the
same run values) in tables every web node reads: `search_courses` (tsvectors with GIN indexes, pg_trgm on
titles), `search_runs` (facet and sort columns), `search_terms` (the vocabulary, with pg_trgm on its letters
for typos) and `search_state` (a generation). search.pg.sync writes them, search.pg.query answers
`search(params)` and `suggest(q)` for the types of search.interfaces.
"""

# Written by their migration in SQL, not declared as models (tsvector, GIN and pg_trgm): `hrdnet db check`
# leaves them out of its comparison (migrations/env.py).
TABLES = frozenset({"search_courses", "search_runs", "search_terms", "search_state"})
