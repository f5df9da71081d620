"""A segment's rows as numpy columns: what filters, facets, sorting and result lines read.

Every run and course document carries a fixed-size row (search.index.schema.ROW); one segment's rows are
one numpy record array, turned here into plain column arrays aligned with the segment's document numbers.
Codes (region, NCS, programme, ministry) become small integers shared by every version in the process
(CODES), so the columns of different segments can be concatenated and compared; price bands are derived at
this point from search.interfaces' band definitions, so changing a band needs no reindex.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import threading
from pathlib import Path

import numpy as np

from search.index.schema import COURSE, RUN
from search.interfaces import FEE_BANDS, SELF_PAY_BANDS


class Interner:
    """Stable small integers for codes (0 = none), shared by every version in the process."""

    def __init__(self):
        self.codes: list[str] = [""]
        self.ids: dict[str, int] = {"": 0}
        self._lock = threading.Lock()

    def id(self, code: str) -> int:
        found = self.ids.get(code)
        if found is None:
            with self._lock:
                found = self.ids.get(code)
                if found is None:
                    found = len(self.codes)
                    self.codes.append(code)
                    self.ids[code] = found
        return found

    def map(self, values: np.ndarray) -> np.ndarray:
        """Byte-string column -> int32 ids."""
        uniques, inverse = np.unique(values, return_inverse=True)
        table = np.array([self.id(u.decode("ascii", "replace")) for u in uniques], dtype=np.int32)
        return table[inverse.reshape(-1)] if len(values) else np.zeros(0, dtype=np.int32)

    def __len__(self) -> int:
        return len(self.codes)


CODES = {name: Interner() for name in ("region", "sido", "ncs", "ncs1", "ncs2", "programme", "ministry")}


def _band(values: np.ndarray, bands, unknown: np.ndarray | None = None) -> np.ndarray:
    out = np.zeros(len(values), dtype=np.uint8)
    for index, (_code, _label, low, high) in enumerate(bands):
        if low is None:
            if unknown is not None:
                out[unknown] = index
            continue
        hit = values >= low
        if high is not None:
            hit &= values <= high
        if unknown is not None:
            hit &= ~unknown
        out[hit] = index
    return out


def segment_columns(rows: np.ndarray) -> dict[str, np.ndarray]:
    start = rows["start"].astype(np.int32)
    self_pay = rows["self_pay"].astype(np.int64)
    fee = rows["fee"].astype(np.int64)
    ncs = rows["ncs"]
    region = rows["region"]
    return {
        "is_run": rows["kind"] == RUN,
        "is_course": rows["kind"] == COURSE,
        "run_id": rows["run_id"].astype(np.int64),
        "course_id": rows["course_id"].astype(np.int64),
        "provider_id": rows["provider_id"].astype(np.int64),
        "start": start,
        "end": rows["end"].astype(np.int32),
        "month": start.astype("datetime64[D]").astype("datetime64[M]").astype(np.int32),
        "fee": fee,
        "self_pay": self_pay,
        "seats_left": rows["seats_left"].astype(np.int32),
        "seats": rows["seats_left"] > 0,
        "employment": rows["employment"].astype(np.float32),
        "satisfaction": rows["satisfaction"].astype(np.float32),
        "region": CODES["region"].map(region),
        "sido": CODES["sido"].map(region.astype("S2")),
        "ncs": CODES["ncs"].map(ncs),
        "ncs1": CODES["ncs1"].map(ncs.astype("S2")),
        "ncs2": CODES["ncs2"].map(np.where(np.char.str_len(ncs) >= 4, ncs.astype("S4"), b"")),
        "programme": CODES["programme"].map(rows["programme"]),
        "ministry": CODES["ministry"].map(rows["ministry"]),
        "mode": rows["mode"].astype(np.uint8),
        "weekend": rows["weekend"].astype(np.uint8),
        "dropped": rows["dropped"].astype(bool),
        "apply_opens": rows["apply_opens"].astype(np.int32),
        "apply_closes": rows["apply_closes"].astype(np.int32),
        "window_by_provider": rows["window_by_provider"].astype(bool),
        "lifecycle_closed": rows["lifecycle_closed"].astype(bool),
        "run_number": rows["run_number"].astype(np.int32),
        "card_draw": rows["card_draw"].astype(np.int64),
        "self_pay_classes": rows["self_pay_classes"].astype(np.int64),  # (documents, price classes)
        "title_len": rows["title_len"].astype(np.float32),
        "title_key": rows["title_key"].astype(np.uint64),
        "fee_band": _band(fee, FEE_BANDS),
        "self_pay_band": _band(self_pay, SELF_PAY_BANDS, unknown=self_pay < 0),
    }


# -- columns in files that every process maps (docs/search.md, "Memory") ----------------------------------------
# A large segment's columns are written once, next to the segment, as one .npy file per column, and mapped
# read-only by every process that opens the segment: the pages are the kernel's page cache, shared by all
# gunicorn workers, instead of a private copy in each. Code columns are stored as indexes into the segment's
# own sorted code list; a process whose interner gives those codes the same numbers (a fresh process opening
# its first index does) maps them as they are, any other translates them into a private array.

CODE_COLUMNS = tuple(CODES)


def save(folder, cols: dict[str, np.ndarray]) -> None:
    """Write a segment's columns into `folder` (created atomically: a temporary folder renamed into place)."""

    folder = Path(folder)
    tmp = folder.with_name(f".{folder.name}.{secrets.token_hex(4)}.tmp")
    tmp.mkdir(parents=True)
    try:
        codes = {}
        for name, column in cols.items():
            if name in CODE_COLUMNS:
                interner = CODES[name]
                used = sorted({interner.codes[i] for i in np.unique(column).tolist()} | {""})
                local = {code: n for n, code in enumerate(used)}
                table = np.zeros(len(interner), dtype=np.int32)
                for code, n in local.items():
                    table[interner.ids[code]] = n
                column = table[column]
                codes[name] = used
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(column), allow_pickle=False)
        (tmp / "codes.json").write_text(json.dumps(codes, ensure_ascii=False), encoding="utf-8")
        os.rename(tmp, folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # another process wrote it first, or the folder is read-only


def load(folder, size: int) -> dict[str, np.ndarray] | None:
    """A segment's columns mapped from `folder`, or None when it has not been written (or not completely)."""

    folder = Path(folder)
    try:
        codes = json.loads((folder / "codes.json").read_text(encoding="utf-8"))
        cols = {path.stem: np.load(path, mmap_mode="r", allow_pickle=False) for path in folder.glob("*.npy")}
    except (OSError, ValueError):
        return None
    if any(len(column) != size for column in cols.values()):
        return None
    for name, used in codes.items():
        table = np.asarray([CODES[name].id(code) for code in used], dtype=np.int32)
        if not np.array_equal(table, np.arange(len(used), dtype=np.int32)):
            cols[name] = table[cols[name]]  # this process numbers the codes otherwise: a private copy
    return cols


def save_one(path: Path, column: np.ndarray) -> None:
    """Write one joined column (a temporary file renamed into place; a read-only folder only costs the copy)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as handle:
            np.save(handle, np.ascontiguousarray(column), allow_pickle=False)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


def load_one(path: Path, size: int) -> np.ndarray | None:
    try:
        column = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return None
    return column if len(column) == size else None
