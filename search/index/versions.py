"""The open index of this process, and what is computed once per index version (docs/search.md).

`current()` returns the live `Version`: the Whoosh reader of the directory CURRENT names, at its latest
generation, with

- column arrays (numpy) of every filter, facet and sort value, aligned with Whoosh document numbers, read
  from each segment's row column (search.index.schema.ROW) with one `frombuffer` (search.index.columns);
- postings as numpy arrays (document numbers and BM25 weights), read from Whoosh on first use of a term;
- the morpheme vocabulary (query segmentation, typo correction) and the suggestion lists, built lazily.

Segments never change once written (only their deletion sets do), so raw rows, postings and vocabularies
are cached per *segment*: after an incremental update only the new small segment is read, and a version
switch costs milliseconds. A full rebuild swaps in a new directory; the next call sees CURRENT changed and
opens it. Nothing here writes to the index.

Whoosh readers are not safe to share between threads (file positions), so every call into Whoosh holds the
version's lock; the numpy work around it does not.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import math
import os
import re
import shutil
import threading
import time
from bisect import bisect_right
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from flask import current_app
from whoosh.filedb.filestore import FileStorage

from search.index import columns, store
from search.index.columns import segment_columns
from search.index.schema import ROW, SCHEMA_VERSION, TITLE_FIELDS
from search.index.strings import Vocabulary, release_memory

log = logging.getLogger(__name__)

K1 = 1.2
TITLE_B = 0.5
POSTINGS_BUDGET = 3_000_000  # raw postings kept per process (≈ 8 bytes each)
BM25_BUDGET = 3_000_000  # weighted postings kept per version (≈ 12 bytes each); an Enrollable keeps its own
MAPPED_MIN_DOCS = 20_000  # a segment this large keeps its columns in files every process maps (columns.save)
_TOC = re.compile(r"^_MAIN_(\d+)\.toc$")


@dataclass
class Segment:
    """What one immutable Whoosh segment holds, as arrays."""

    uid: str
    size: int
    cols: dict[str, np.ndarray]
    vocab: Vocabulary | None = None


class SizedLRU:
    """A thread-safe least-recently-used cache bounded by the total size of its values."""

    def __init__(self, budget: int):
        self.budget = budget
        self.used = 0
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def fetch(self, key):
        with self.lock:
            found = self.items.get(key)
            if found is None:
                return None
            self.items.move_to_end(key)
            return found[0]

    def store(self, key, value, size: int) -> None:
        with self.lock:
            if key in self.items:
                return
            self.items[key] = (value, size)
            self.used += size
            while self.used > self.budget and len(self.items) > 1:
                _, (_, old_size) = self.items.popitem(last=False)
                self.used -= old_size

    def forget(self, keep: Callable[[object], bool]) -> None:
        with self.lock:
            for key in [k for k in self.items if not keep(k)]:
                self.used -= self.items.pop(key)[1]


_segments: dict[str, Segment] = {}
_segments_lock = threading.Lock()
_raw_postings = SizedLRU(POSTINGS_BUDGET)  # (segment uid, field, term) -> (local ids int32, tf float32)
_EMPTY = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))


def _read_leaf_postings(segreader, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
    """All postings of a term in one segment, deletions included (the live mask removes those)."""
    btext = term.encode("utf-8")
    if (fieldname, term) not in segreader:
        return _EMPTY
    matcher = segreader._terms.matcher(fieldname, btext, segreader.schema[fieldname].format)
    ids: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    if hasattr(matcher, "_read_ids") and hasattr(matcher, "_next_block"):
        # Whoosh 3 codec: read whole blocks (up to 128 postings) instead of one posting at a time.
        while matcher.is_active():
            if matcher._ids is None:
                matcher._read_ids()
            if matcher._weights is None:
                matcher._read_weights()
            ids.append(np.asarray(matcher._ids, dtype=np.int32))
            weights.append(np.asarray(matcher._weights, dtype=np.float32))
            matcher._next_block()
    else:  # any other codec: the public, slower interface
        local_ids, local_weights = [], []
        while matcher.is_active():
            local_ids.append(matcher.id())
            local_weights.append(matcher.weight())
            matcher.next()
        ids, weights = [np.asarray(local_ids, np.int32)], [np.asarray(local_weights, np.float32)]
    if not ids:
        return _EMPTY
    return np.concatenate(ids), np.concatenate(weights)


def _segment_vocab(segreader) -> Vocabulary:
    from search.index.schema import MORPH_FIELDS

    vocab: Counter = Counter()
    for fieldname in MORPH_FIELDS:
        for text, info in segreader.iter_field(fieldname):
            term = text.decode("utf-8") if isinstance(text, bytes) else text
            vocab[term] += info.doc_frequency()
    return Vocabulary(vocab)  # compact: the Counter was ~100 bytes a word in every worker


class Columns(Mapping):
    """A version's columns over its segments, each joined into one array only when something reads it whole.

    A version of one segment hands out the segment's (mapped) arrays. One of several (after incremental
    commits) joins a column on first use: the default search reads the few columns that define what is
    recruiting and gathers the rest for its Enrollable (take()), so the large columns are never copied into
    every worker just because a small segment was added."""

    def __init__(self, parts: dict[str, list[np.ndarray]], offsets: list[int], shared: Path | None = None):
        self._parts = parts
        self._offsets = np.asarray(offsets, dtype=np.int64)
        self._joined: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._shared = shared  # where joined columns are written once and mapped by every process

    def __getitem__(self, name: str) -> np.ndarray:
        found = self._joined.get(name)
        if found is None:
            parts = self._parts[name]
            if len(parts) == 1:
                return parts[0]
            with self._lock:
                found = self._joined.get(name)
                if found is None:
                    found = self._joined[name] = self._join(name, parts)
        return found

    def _join(self, name: str, parts: list[np.ndarray]) -> np.ndarray:
        """The segments' parts of a column as one array: mapped from the file the first process wrote when the
        version is large (codes aside: their numbers are each process's own), else a private array."""
        if self._shared is None or name in columns.CODE_COLUMNS:
            return np.concatenate(parts)
        size = sum(len(part) for part in parts)
        path = self._shared / f"{name}.npy"
        found = columns.load_one(path, size)
        if found is None:
            columns.save_one(path, np.concatenate(parts))
            found = columns.load_one(path, size)
        return found if found is not None else np.concatenate(parts)

    def __iter__(self):
        return iter(self._parts)

    def __len__(self) -> int:
        return len(self._parts)

    def take(self, name: str, docs: np.ndarray) -> np.ndarray:
        """column[docs] for ascending document numbers, without joining the column."""
        parts = self._parts[name]
        if len(parts) == 1 or name in self._joined:
            return self[name][docs]
        bounds = np.searchsorted(docs, self._offsets[1:])
        pieces = np.split(docs, bounds)
        return np.concatenate(
            [part[piece - offset] for part, piece, offset in zip(parts, pieces, self._offsets, strict=True)]
        )


@dataclass
class Version:
    """One generation of the live index, opened once and shared by the process's threads."""

    root: Path
    name: str
    generation: int
    reader: object
    leaves: list[tuple[object, int, Segment]]
    size: int
    cols: Columns
    live: np.ndarray
    meta: dict
    opened_at: float = field(default_factory=time.monotonic)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _bm25: SizedLRU = field(default_factory=lambda: SizedLRU(BM25_BUDGET))
    _masks: dict = field(default_factory=dict)
    _derived: dict = field(default_factory=dict)
    _columns: dict = field(default_factory=dict)
    _users: int = 0
    _retired: bool = False
    closed: bool = False

    # -- lifetime: a replaced version closes its files once the last query using it is done ----------

    def retain(self) -> bool:
        with self.lock:
            if self.closed:
                return False
            self._users += 1
            return True

    def release(self) -> None:
        with self.lock:
            self._users -= 1
            if self._retired and self._users == 0:
                self._close()

    def retire(self) -> None:
        with self.lock:
            self._retired = True
            if self._users == 0:
                self._close()

    def _close(self) -> None:
        if not self.closed:
            self.closed = True
            self._columns.clear()
            self.reader.close()

    @property
    def key(self) -> str:
        return f"{self.name}/{self.generation}"

    @property
    def documents(self) -> int:
        return int(self.live.sum())

    @property
    def courses(self) -> int:
        value = self._derived.get("courses")
        if value is None:
            value = self._derived["courses"] = int(np.count_nonzero(self.live & self.cols["is_course"]))
        return value

    @property
    def course_doc(self) -> np.ndarray:
        """For every document, the document number of its course's document; `size` when there is none
        (index an array of size+1 whose last value is the "no course" value)."""
        value = self._derived.get("course_doc")
        if value is None:
            courses = np.flatnonzero(self.live & self.cols["is_course"])
            ids = self.cols["course_id"][courses]
            order = np.argsort(ids, kind="stable")
            ids, courses = ids[order], courses[order]
            wanted = self.cols["course_id"]
            at = np.searchsorted(ids, wanted)
            at_clipped = np.minimum(at, max(len(ids) - 1, 0))
            found = (at < len(ids)) & (ids[at_clipped] == wanted) if len(ids) else np.zeros(self.size, dtype=bool)
            value = np.where(found & self.cols["is_run"], courses[at_clipped] if len(ids) else 0, self.size)
            value = self._derived["course_doc"] = value.astype(np.int32)  # 4 bytes a document: every worker keeps it
        return value

    # -- postings ---------------------------------------------------------------------------------

    def postings(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers, BM25 weights before field boosts) of a term, sorted by document number."""
        key = (fieldname, term)
        cached = self._bm25.fetch(key)
        if cached is not None:
            return cached
        docs, tf = self.raw_postings(fieldname, term)
        result = (docs, self._bm25_weights(fieldname, docs, tf)) if len(docs) else _EMPTY
        self._bm25.store(key, result, len(result[0]) + 1)
        return result

    def raw_postings(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers, term frequencies) of a term over every segment, deleted documents included; not
        weighted nor kept per version (the segments' raw lists are): what an Enrollable cuts its postings
        from and what counting the courses that hold a word needs, without the archive's weights."""
        parts_ids, parts_tf = [], []
        for segreader, offset, segment in self.leaves:
            raw_key = (segment.uid, fieldname, term)
            raw = _raw_postings.fetch(raw_key)
            if raw is None:
                with self.lock:
                    raw = _read_leaf_postings(segreader, fieldname, term)
                _raw_postings.store(raw_key, raw, len(raw[0]) + 1)
            if len(raw[0]):
                parts_ids.append(raw[0] + offset)
                parts_tf.append(raw[1])
        if not parts_ids:
            return _EMPTY
        docs = np.concatenate(parts_ids) if len(parts_ids) > 1 else parts_ids[0]
        tf = np.concatenate(parts_tf) if len(parts_tf) > 1 else parts_tf[0]
        return docs, tf

    def posting_docs(self, fieldname: str, term: str) -> np.ndarray:
        """The document numbers of a term's postings (deleted ones included), weighted or not."""
        cached = self._bm25.fetch((fieldname, term))
        return cached[0] if cached is not None else self.raw_postings(fieldname, term)[0]

    def _bm25_weights(self, fieldname: str, docs: np.ndarray, tf: np.ndarray, df: int | None = None) -> np.ndarray:
        """BM25 of the postings `docs` (all of a term's, or a subset with the term's `df` over this version):
        element by element, so a subset's weights are exactly the whole list's."""
        if df is None:
            df = int(np.count_nonzero(self.live[docs]))  # postings of deleted documents stay until a merge
        n = max(self.courses, df, 1)
        idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))  # > 0 whenever n >= df
        if fieldname in TITLE_FIELDS:
            norm = (1.0 - TITLE_B) + TITLE_B * self.cols["title_len"][docs] / self._avg_title_len()
        else:
            norm = 1.0
        return (idf * tf * (K1 + 1.0) / (tf + K1 * norm)).astype(np.float32)

    def _avg_title_len(self) -> float:
        value = self._derived.get("avg_title_len")
        if value is None:
            lengths = self.cols["title_len"][self.live & self.cols["is_course"]]
            value = self._derived["avg_title_len"] = (
                float(lengths.mean()) if len(lengths) and lengths.mean() > 0 else 1.0
            )
        return value

    # -- stored values ----------------------------------------------------------------------------

    def stored(self, docnum: int):
        """A document's stored value: a run's source keys, a course's contents."""
        with self.lock:
            return self.reader.stored_fields(int(docnum)).get("stored")

    def course_text(self, docnum: int) -> tuple[str, str]:
        """(title, provider name) of a course document, from its columns (no unpickling)."""
        index = bisect_right(self._offsets, int(docnum)) - 1
        segreader, offset, _segment = self.leaves[index]
        with self.lock:
            readers = self._columns.get(index)
            if readers is None:
                readers = self._columns[index] = tuple(
                    segreader.column_reader(name, translate=False) if segreader.has_column(name) else None
                    for name in ("title", "provider")
                )
            local = int(docnum) - offset
            return tuple(r[local].decode("utf-8") if r is not None else "" for r in readers)

    @property
    def _offsets(self) -> list[int]:
        value = self._derived.get("offsets")
        if value is None:
            value = self._derived["offsets"] = [offset for _, offset, _ in self.leaves]
        return value

    # -- visibility -------------------------------------------------------------------------------

    def visible(self, today_days: int, include_past: bool, include_closed: bool = True) -> np.ndarray:
        """Live documents a learner sees by default (not finished, still listed), or every live one; without
        `include_closed`, only the runs still recruiting (recruiting())."""
        key = ("visible", today_days, include_past, include_closed)
        mask = self._masks.get(key)
        if mask is None:
            mask = self.live & self.cols["is_run"]
            if not include_past:
                mask &= (self.cols["end"] >= today_days) & ~self.cols["dropped"]
                if not include_closed:
                    mask &= self.recruiting(today_days)
            if len(self._masks) > 8:
                self._masks.clear()
            self._masks[key] = mask
        return mask

    def recruiting(self, today_days: int) -> np.ndarray:
        """Runs that take or will take applications (모집 예정, 모집 중, 마감 임박 in courses.enrolment_window):
        not closed by their lifecycle, the window not past, a seat left. A window never closes after the start
        date, so a run whose window is not past has not started (or starts today with the window open)."""
        key = ("recruiting", today_days)
        mask = self._masks.get(key)
        if mask is None:
            cols = self.cols
            mask = ~cols["lifecycle_closed"] & (cols["apply_closes"] >= today_days) & (cols["seats_left"] > 0)
            mask &= cols["end"] >= today_days
            self._masks[key] = mask
        return mask

    # -- derived, built on first use ---------------------------------------------------------------

    def derived(self, name: str, build: Callable[[Version], object]):
        value = self._derived.get(name)
        if value is None:
            with self.lock:
                value = self._derived.get(name)
                if value is None:
                    value = self._derived[name] = build(self)
        return value

    def vocabulary(self) -> Vocabulary:
        """Morpheme -> documents holding it (over the four morpheme fields), for segmentation and spelling;
        a read-only mapping (search.index.strings.Vocabulary), the segment's own when there is one."""

        def build(version: Version) -> Vocabulary:
            parts = []
            for segreader, _offset, segment in version.leaves:
                if segment.vocab is None:  # derived() holds the version's lock
                    segment.vocab = _segment_vocab(segreader)
                parts.append(segment.vocab)
            merged = Vocabulary.merged(parts) if parts else Vocabulary({})
            release_memory()  # the Counters it was read into
            return merged

        return self.derived("vocabulary", build)


# -- opening the live version ----------------------------------------------------------------------


@dataclass
class _Slot:
    version: Version | None = None
    used_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    warned: bool = False


_slots: dict[str, _Slot] = {}
_slots_lock = threading.Lock()
MAX_ROOTS = 4  # index directories kept open per process (one in production; tests make many)


def close_all() -> None:
    """Close every index version this process holds open.

    The live versions are cached per process for its whole life, so nothing else closes the last ones:
    without this the garbage collector closes their segment files at interpreter exit and warns about
    each ("ResourceWarning: unclosed file …"). Registered with atexit; a query still running in another
    thread keeps its version until it is done (retire() waits for the last user).
    """
    with _slots_lock:
        slots = list(_slots.values())
        _slots.clear()
    for slot in slots:
        if slot.version is not None:
            slot.version.retire()


atexit.register(close_all)


def _slot(root: Path) -> _Slot:
    with _slots_lock:
        slot = _slots.get(str(root))
        if slot is None:
            others = sorted((r for r in _slots), key=lambda r: _slots[r].used_at)
            for old_root in others[: max(len(others) - MAX_ROOTS + 1, 0)]:
                old = _slots.pop(old_root)
                if old.version is not None:
                    old.version.retire()
            slot = _slots[str(root)] = _Slot()
        slot.used_at = time.monotonic()
        return slot


@contextmanager
def using() -> Iterator[Version | None]:
    """The live version, kept open until the block ends (None when there is no index yet)."""
    for _attempt in range(5):
        version = current()
        if version is None:
            yield None
            return
        if version.retain():
            try:
                yield version
            finally:
                version.release()
            return
    raise RuntimeError("the search index kept changing while opening it")


def _generation(path: Path) -> int:
    best = -1
    try:
        names = os.listdir(path)
    except FileNotFoundError:
        return -1
    for name in names:
        match = _TOC.match(name)
        if match:
            best = max(best, int(match.group(1)))
    return best


def current() -> Version | None:
    """The live index version for this app's SEARCH_INDEX_DIR (None when there is no index yet)."""
    root = Path(current_app.config["SEARCH_INDEX_DIR"]).resolve()
    slot = _slot(root)
    name = store.current_name(root)
    if name is None:
        if not slot.warned:
            log.warning("search: no index in %s yet; searches answer empty until `hrdnet search reindex`", root)
            slot.warned = True
        return None
    generation = _generation(root / name)
    version = slot.version
    if version is not None and version.name == name and version.generation == generation:
        return version
    with slot.lock:
        version = slot.version
        if version is not None and version.name == name and version.generation == generation:
            return version
        if store.stale_schema(root, SCHEMA_VERSION):  # rows of another layout: searching it would misread them
            if not slot.warned:
                log.warning("search: the index in %s has another schema; `hrdnet search reindex` is needed", root)
                slot.warned = True
            return None
        try:
            version = _open(root, name)
        except FileNotFoundError:
            # The directory was swapped out between reading CURRENT and opening it: try once more.
            name = store.current_name(root)
            if name is None:
                return None
            version = _open(root, name)
        previous, slot.version, slot.warned = slot.version, version, False
    if previous is not None:
        previous.retire()
    # Segments merged away or swapped out: drop their arrays (a query still running on the previous
    # version keeps its own references and at worst re-reads a posting list).
    _forget_segments(f"{root}/", {seg.uid for _, _, seg in version.leaves})
    _remove_joined(root / version.name, keep=version.cols._shared)
    return version


def _remove_joined(folder: Path, keep: Path | None) -> None:
    """Joined columns of earlier segment sets (each commit makes one): a process still on such a version
    keeps its mapping (or writes the file again), so removing them is always safe."""
    for path in folder.glob("_columns/joined-*"):
        if path != keep:
            shutil.rmtree(path, ignore_errors=True)


def _open(root: Path, name: str) -> Version:
    ix = FileStorage(str(root / name)).open_index()
    reader = ix.reader()
    try:
        return _version(root, name, reader)
    except BaseException:
        reader.close()  # e.g. a merge removed a segment between reading the TOC and opening it
        raise


def _version(root: Path, name: str, reader) -> Version:
    leaves = []
    cols_parts: dict[str, list[np.ndarray]] = {}
    live_parts = []
    total = 0
    for segreader, offset in reader.leaf_readers():
        segment = _load_segment(root, name, segreader)
        leaves.append((segreader, offset, segment))
        for key, array in segment.cols.items():
            cols_parts.setdefault(key, []).append(array)
        live = np.ones(segment.size, dtype=bool)
        deleted = list(segreader.deleted_docs_set) if segreader.has_deletions() else []
        if deleted:
            live[np.asarray(deleted, dtype=np.int64)] = False
        live_parts.append(live)
        total += segment.size
    if leaves:
        # Joined columns of a large version of several segments go to a folder named after those segments (a
        # commit that adds one makes another): the first process to read a column whole writes it.
        key = hashlib.blake2b("|".join(seg.uid for _, _, seg in leaves).encode(), digest_size=8).hexdigest()
        shared = root / name / "_columns" / f"joined-{key}" if len(leaves) > 1 and total >= MAPPED_MIN_DOCS else None
        cols = Columns(cols_parts, [offset for _, offset, _ in leaves], shared)
        live = np.concatenate(live_parts) if len(live_parts) > 1 else live_parts[0]
    else:
        cols = Columns({key: [array] for key, array in segment_columns(np.zeros(0, dtype=ROW)).items()}, [0])
        live = np.zeros(0, dtype=bool)
    generation = reader.generation()  # the TOC this reader read (a later commit makes a later version)
    return Version(
        root=root,
        name=name,
        generation=generation if generation is not None else -1,
        reader=reader,
        leaves=leaves,
        size=total,
        cols=cols,
        live=live,
        meta=store.read_meta(root, name),
    )


def _load_segment(root: Path, name: str, segreader) -> Segment:
    uid = f"{root}/{name}/{segreader.segment().segment_id()}"
    with _segments_lock:
        found = _segments.get(uid)
    if found is not None and found.size == segreader.doc_count_all():
        return found
    size = segreader.doc_count_all()
    shared = root / name / "_columns" / segreader.segment().segment_id() if size >= MAPPED_MIN_DOCS else None
    cols = columns.load(shared, size) if shared is not None else None
    if cols is None:
        if segreader.has_column("row"):
            rows = segreader.column_reader("row", translate=False).array()
        else:
            rows = np.zeros(size, dtype=ROW)
        cols = segment_columns(rows)
        if shared is not None:  # write them once for every process, then map them like the others do
            columns.save(shared, cols)
            cols = columns.load(shared, size) or cols
    segment = Segment(uid, size, cols)
    with _segments_lock:
        _segments[uid] = segment
    return segment


def _forget_segments(prefix: str, keep: set[str]) -> None:
    """Drop cached segments of this index root that the live version no longer has."""
    with _segments_lock:
        for uid in [u for u in _segments if u.startswith(prefix) and u not in keep]:
            del _segments[uid]
    _raw_postings.forget(lambda key: not key[0].startswith(prefix) or key[0] in keep)


def analysis_known(version: Version | None) -> Callable[[str], bool]:
    """Is this Hangul word a morpheme of the index? (Query analysis without Kiwi.)"""
    if version is None:
        return lambda word: False
    vocab = version.vocabulary()
    return lambda word: vocab.get(word, 0) > 0


__all__ = ["Version", "analysis_known", "close_all", "current", "using"]
