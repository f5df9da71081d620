"""Where the index lives: the directory layout, the pointer to the live index, and the locks.

    SEARCH_INDEX_DIR/
      CURRENT             the name of the live index directory, replaced atomically (os.replace)
      .previous           the one before it (kept for readers that opened it just before a swap)
      ix-<stamp>/         a complete Whoosh index plus build.json (when and from what it was built), and
                          _columns/: large segments' columns (and joined ones) that readers map (columns.save)
      ix-<stamp>.building a full rebuild in progress (never named by CURRENT)
      ix-<stamp>.journal  runs and courses changed while that rebuild runs
      BUILDING            names the rebuild in progress
      .write.lock         serialises every write to the live index, and the swap (fcntl.flock)
      .reindex.lock       one full rebuild at a time

Readers (search.index.versions) only ever open the directory CURRENT names, so they see the old index or the new
one, never a half-built one. Older directories are removed by the next rebuild.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import time
from datetime import datetime
from pathlib import Path

from flask import current_app
from whoosh.filedb.filestore import FileStorage

CURRENT = "CURRENT"
BUILDING = "BUILDING"
META = "build.json"
PREFIX = "ix-"
BUILD_SUFFIX = ".building"
LOCK_TIMEOUT = 120.0


class IndexBusy(Exception):
    """Another full rebuild holds the reindex lock."""


def index_root() -> Path:
    return Path(current_app.config["SEARCH_INDEX_DIR"])


def current_name(root: Path) -> str | None:
    """The live index directory's name, or None before the first build."""
    try:
        name = (root / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name if name and (root / name).is_dir() else None


def read_meta(root: Path, name: str) -> dict:
    try:
        return json.loads((root / name / META).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def stale_schema(root: Path, schema_version: int) -> bool:
    """The live index was written with another row layout (search.index.schema.SCHEMA_VERSION): reading or
    updating it would misread its rows, so it counts as missing until `hrdnet search reindex`."""
    name = current_name(root)
    return name is not None and read_meta(root, name).get("schema_version") not in (None, schema_version)


def open_live(root: Path):
    name = current_name(root)
    if name is None:
        return None
    return FileStorage(str(root / name)).open_index()


@contextlib.contextmanager
def flock(path: Path, *, blocking: bool = True, timeout: float = LOCK_TIMEOUT):
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - closed below
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not blocking:
                    raise IndexBusy(str(path)) from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"could not lock {path} within {timeout:.0f} s") from None
                time.sleep(0.05)
        yield
    finally:
        handle.close()  # closing releases the lock


def write_lock(root: Path):
    return flock(root / ".write.lock")


def reindex_lock_free(root: Path) -> bool:
    try:
        with flock(root / ".reindex.lock", blocking=False):
            return True
    except IndexBusy:
        return False


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    with contextlib.suppress(OSError):  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def stamp() -> str:
    return datetime.now().strftime("%Y%m%dT%H%M%S") + f"-{secrets.token_hex(3)}"


def cleanup(root: Path, keep: set[str]) -> None:
    """Remove index directories that are neither live nor the previous one, and abandoned builds."""
    for path in root.iterdir():
        if path.is_dir() and path.name.startswith(PREFIX) and path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and path.name.startswith(PREFIX) and path.name.endswith(".journal"):
            path.unlink(missing_ok=True)


def previous_name(root: Path) -> str | None:
    try:
        return (root / ".previous").read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def building(root: Path) -> str | None:
    """The rebuild in progress, if any (a marker left by a rebuild that died is cleared here)."""
    try:
        name = (root / BUILDING).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if name and not reindex_lock_free(root):
        return name
    (root / BUILDING).unlink(missing_ok=True)
    if name:
        (root / f"{name}.journal").unlink(missing_ok=True)
    return None
