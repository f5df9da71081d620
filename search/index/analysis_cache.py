"""The analyses of the previous full rebuild, kept so the next one does not run Kiwi again on unchanged text.

Kiwi is most of a cold rebuild's work, and a catalogue changes little between two rebuilds (a change of the
pricing rules or the application windows needs one with every text as it was). So every distinct text a
rebuild analyses is kept in SEARCH_INDEX_DIR/analysis.sqlite3, keyed by a hash of the text, under the
analyser's version: a hash of the analysis code (search/analysis.py, hrdnet/korean.py), the synonym file and
Kiwi's and its model's versions. A rebuild whose analyser differs starts the file afresh, so a cached
analysis is always the one this code would make (tests/search/test_rebuild_cache.py).

Each worker process of the rebuild reads it, and writes what it analysed or reused once per chunk of
courses (WAL, one short transaction each); the rebuild, when it succeeds, drops the texts it no longer
used, so the file holds the catalogue's texts and no more.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import sqlite3
import zlib
from pathlib import Path

from search import analysis

FILE = "analysis.sqlite3"
BUSY_MS = 120_000  # the other worker's write of a chunk is short; wait for it rather than fail the rebuild


def path_in(root: Path) -> Path:
    return root / FILE


def analyser_version() -> str:
    """What the analysis of a text depends on, as one hash: a change to any of it makes every cached analysis stale."""
    import hrdnet.korean

    digest = hashlib.blake2b(digest_size=16)
    for source in (Path(analysis.__file__), Path(hrdnet.korean.__file__), analysis.SYNONYMS_FILE):
        digest.update(source.read_bytes())
        digest.update(b"\0")
    for package in ("kiwipiepy", "kiwipiepy_model"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            digest.update(f"{package}={importlib.metadata.version(package)};".encode())
    return digest.hexdigest()


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(str(path), timeout=BUSY_MS / 1000, isolation_level=None)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")  # a lost cache costs time, never correctness
    return connection


def prepare(path: Path, version: str) -> None:
    """Create the file, or empty it when it was written by another analyser (called once, before the workers)."""
    try:
        connection = _connect(path)
    except sqlite3.DatabaseError:  # not a database (a half-written file): start again
        path.unlink(missing_ok=True)
        connection = _connect(path)
    try:
        connection.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS analysed (key BLOB PRIMARY KEY, morph BLOB NOT NULL, gram BLOB NOT NULL, "
            "used TEXT NOT NULL) WITHOUT ROWID"
        )
        found = connection.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        if found is None or found[0] != version:
            with connection:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("DELETE FROM analysed")
                connection.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (version,))
    finally:
        connection.close()


def prune(path: Path, build: str) -> None:
    """Drop the texts the successful rebuild `build` did not use (courses changed or gone since)."""
    connection = _connect(path)
    try:
        with connection:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("DELETE FROM analysed WHERE used != ?", (build,))
    finally:
        connection.close()


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class Cache:
    """One worker's view of the file during the rebuild `build`: lookups, and what to write at the next flush()."""

    def __init__(self, path: Path, build: str):
        self.build = build
        self._connection = _connect(path)
        self._used: list[tuple[str, bytes]] = []
        self._new: list[tuple[bytes, bytes, bytes, str]] = []
        self.hits = self.misses = 0

    def get(self, text: str) -> analysis.Analysed | None:
        key = _key(text)
        row = self._connection.execute("SELECT morph, gram FROM analysed WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        self._used.append((self.build, key))
        return analysis.Analysed(zlib.decompress(row[0]).decode("utf-8"), zlib.decompress(row[1]).decode("utf-8"))

    def put(self, text: str, analysed: analysis.Analysed) -> None:
        self._new.append(
            (
                _key(text),
                zlib.compress(analysed.morph.encode("utf-8")),
                zlib.compress(analysed.gram.encode("utf-8")),
                self.build,
            )
        )

    def flush(self) -> None:
        if not self._used and not self._new:
            return
        with self._connection:
            self._connection.execute("BEGIN IMMEDIATE")
            self._connection.executemany("INSERT OR REPLACE INTO analysed VALUES (?, ?, ?, ?)", self._new)
            self._connection.executemany("UPDATE analysed SET used = ? WHERE key = ?", self._used)
        self._used, self._new = [], []

    def close(self) -> None:
        self._connection.close()
