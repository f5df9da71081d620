"""Search indexes for tests, built by the real indexer from catalog rows in a real database."""

from __future__ import annotations

import shutil

from hrdnet import create_app
from hrdnet.extensions import db
from hrdnet.timeutil import kst_today
from tests.support.catalog import Catalog


def rebuild_search_index():
    """Rebuild the index from the database as `hrdnet search reindex` does (the test's writes committed first),
    with the app's search backend (SEARCH_BACKEND)."""
    from search.engine import rebuild

    db.session.commit()
    return rebuild()


def indexed_catalog(sqlite_template, tmp_path_factory, name: str, build):
    """For a module-scoped fixture: its own migrated SQLite copy, `build(Catalog(today))` written, the index
    built; yields what build returned, inside the app context. `today` is taken once, when the module's catalog
    is built, and is the date its tests reason about (`catalog.today`)."""
    from search.index.build import rebuild
    from tests.conftest import _test_config  # not at the top: tests/conftest.py imports this module

    folder = tmp_path_factory.mktemp(name)
    path = folder / "test.sqlite3"
    shutil.copyfile(sqlite_template, path)
    app = create_app(_test_config(folder, f"sqlite:///{path}"))
    with app.app_context():
        built = build(Catalog(kst_today()))
        rebuild()
        yield built
        db.session.remove()
        db.engine.dispose()
