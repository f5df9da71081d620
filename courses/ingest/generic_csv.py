"""Generic CSV feed (for ministries without an HRD-Net feed) → FeedRecord | Rejection, streamed.

The format is documented in docs/feeds.md: UTF-8 (a BOM is fine), comma-separated, a header row whose
column names are FeedRecord field names (course_id, run_number, title, provider_name, provider_id,
start_date, end_date, fee, capacity, … ; case and surrounding spaces do not matter), one run per row,
dates YYYY-MM-DD (or YYYYMMDD). Columns we do not know are kept in FeedRecord.extra.

parse(stream, source=…) is a generator reading one line at a time (memory stays flat):

- FeedUnreadable before anything is yielded: an empty file, a file that does not start as UTF-8 (a CP949
  export from Excel), UTF-16, a header that lacks a required column or names one twice;
- each row is checked alone; a bad one yields Rejection("line N", key or None, reason) and parsing goes on.
  N is the line the row starts on (a quoted value may span lines). Wholly empty rows are skipped. A row
  with more or fewer cells than the header, a line longer than 1 MiB, a value longer than the csv
  module's 128 KiB field limit, or bytes that are not UTF-8 later in the file reject that row only;
- a last row that is cut short (no line break at the end of the file, and fewer cells than the header or a
  quoted value left open) is taken as a truncated file: it yields Rejection("line N", None, "파일이 line N에서
  끊긴 것 같습니다 …") and then FeedUnreadable is raised, so the importer knows the parse was incomplete.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import BinaryIO

from courses.ingest.records import FeedRecord, FeedUnreadable, Rejection
from courses.ingest.validate import GENERIC_ID, MAX_LINE_CHARS, LineReader, build_record, open_utf8_text, record_key

REQUIRED = (
    "course_id",
    "run_number",
    "title",
    "provider_name",
    "provider_id",
    "start_date",
    "end_date",
    "fee",
    "capacity",
)
OPTIONAL = (
    "programme_code",
    "source_enrolled",
    "actual_cost",
    "support_amount",
    "general_self_pay",
    "ncs_code",
    "region_code",
    "address",
    "phone",
    "business_number",
    "contents",
    "certificate",
    "keywords",
    "url",
    "weekend",
    "mode",
    "hours",
    "days",
    "satisfaction",
    "employment_rate_3m",
    "employment_rate_6m",
    "employment_count_3m",
)
COLUMNS = REQUIRED + OPTIONAL


def parse(stream: BinaryIO, *, source: str) -> Iterator[FeedRecord | Rejection]:
    """Yield one FeedRecord or Rejection per data row; see the module docstring for errors."""
    text, empty = open_utf8_text(stream)
    try:
        if empty:
            raise FeedUnreadable("빈 파일입니다: 머리글 줄이 없습니다.")
        lines = LineReader(text)
        reader = csv.reader(lines)
        names = _read_header(reader, lines)
        known = [name in COLUMNS for name in names]
        width = len(names)
        has_extra = not all(known)
        previous = reader.line_num
        while True:
            lines.reset()
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                start, previous = previous + 1, reader.line_num
                yield Rejection(f"line {start}", None, f"CSV 형식 오류: {exc}")
                continue
            start, previous = previous + 1, reader.line_num
            position = f"line {start}"
            if lines.overlong:
                yield Rejection(position, None, f"한 줄이 {MAX_LINE_CHARS:,}자를 넘어 읽지 않았습니다.")
                continue
            if not any(row):
                continue
            if not lines.ended_with_newline and (len(row) < width or lines.quotes % 2):
                # the last row of a file without a final line break, cut short or inside a quoted value
                what = (
                    "따옴표가 닫히지 않았습니다"
                    if lines.quotes % 2
                    else f"칸이 {len(row)}개뿐입니다 (머리글은 {width}개)"
                )
                yield Rejection(position, None, f"파일이 line {start}에서 끊긴 것 같습니다: 마지막 줄의 {what}.")
                raise FeedUnreadable(f"파일이 line {start}에서 끊긴 것 같습니다: 마지막 줄이 완전하지 않습니다.")
            if len(row) != width:
                values = dict(zip(names, row, strict=False))
                yield Rejection(
                    position, record_key(values, GENERIC_ID), f"칸이 {len(row)}개입니다 (머리글은 {width}개)."
                )
                continue
            values = dict(zip(names, row, strict=True))
            if lines.bad_bytes:
                yield Rejection(position, record_key(values, GENERIC_ID), "UTF-8이 아닌 바이트가 있습니다.")
                continue
            extra = None
            if has_extra:
                extra = {
                    name: value.strip()
                    for name, value, ok in zip(names, row, known, strict=True)
                    if not ok and value.strip()
                }
            yield build_record(values, position=position, id_pattern=GENERIC_ID, extra=extra)
    finally:
        text.close()


def _read_header(reader, lines: LineReader) -> list[str]:
    try:
        while True:
            header = next(reader)
            if any(cell.strip() for cell in header):
                break
    except StopIteration:
        raise FeedUnreadable("빈 파일입니다: 머리글 줄이 없습니다.") from None
    except csv.Error as exc:
        raise FeedUnreadable(f"CSV 머리글을 읽을 수 없습니다: {exc}") from None
    if lines.overlong or lines.bad_bytes:
        raise FeedUnreadable("CSV 머리글을 읽을 수 없습니다 (너무 길거나 UTF-8이 아닙니다).")
    names = [cell.strip().lower() for cell in header]
    twice = sorted({name for name in names if names.count(name) > 1 and name})
    if twice:
        raise FeedUnreadable(f"머리글에 같은 열이 두 번 있습니다: {', '.join(twice)}")
    if "" in names:
        raise FeedUnreadable(f"머리글의 {names.index('') + 1}번째 열에 이름이 없습니다.")
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise FeedUnreadable(
            f"필수 열이 없습니다: {', '.join(missing)} (머리글: {', '.join(names)[:200]}). "
            "docs/feeds.md의 일반 CSV 형식을 보세요."
        )
    return names
