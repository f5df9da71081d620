"""HRD-Net / 고용24 course feed (XML) → FeedRecord | Rejection, streamed.

    <HRDNet>
      <scn_cnt>1520</scn_cnt><pageNum>1</pageNum><pageSize>100</pageSize>
      <srchList>
        <scn_list><address>…</address> … <trprDegr>3</trprDegr><trprId>AIG20250000524076</trprId> …</scn_list>
        …
      </srchList>
    </HRDNet>

One `scn_list` per run; its fields may come in any order (real responses sort them alphabetically). The
mapping of every field, and what a blank or `0` means in each, is in docs/feeds.md.

parse(stream, source=…) is a generator:

- it reads the file in 64 KiB chunks into lxml's pull parser and yields each run as soon as its closing tag
  is read, then clears the element and drops it from the tree, so memory stays flat however long the file
  (bounded by the largest single record; a record over MAX_RECORD_BYTES stops the parse, see below);
- every run is checked alone: a bad run yields a Rejection("record 7 (line 120)", key or None, reason) and
  parsing goes on with the next;
- FeedUnreadable is raised *before anything is yielded* when the file cannot be read at all: empty, not
  XML, a DOCTYPE (see "Safety"), a root element other than <HRDNet>, a 고용24 error document
  `<GO24><error>인증키가 존재하지 않습니다</error></GO24>` (raised with the error text, so a fetcher never takes
  a failed page for an empty one), or markup broken before the first run;
- when the file breaks off after some runs were read (truncated download, broken markup, bytes that are not
  in the declared encoding), the runs before the break have been yielded; then one
  Rejection("line N", None, "파일이 line N에서 끊겼습니다 …") is yielded for the break and FeedUnreadable is
  raised, so the importer knows the parse was incomplete (and must not mark unlisted runs as missing).

Safety: a document with a DOCTYPE is refused before the XML parser sees any of it (HRD-Net never sends
one), which rules out external entities (XXE: file:///etc/passwd, http://…), DTD loading and entity
expansion bombs (billion laughs, parameter-entity bombs). The lxml parser is in any case configured with
resolve_entities=False, load_dtd=False, no_network=True. huge_tree=True lets a single field exceed
libxml2's 10 MB text-node limit so that such a field rejects only its own record (field length limits
are ours, in validate.py); the memory this can take is bounded by MAX_RECORD_BYTES.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from lxml import etree

from courses.ingest.records import FeedRecord, FeedUnreadable, Rejection
from courses.ingest.validate import (
    HRDNET_ID,
    MAX_FIELD_CHARS,
    MODE_VALUES,
    Invalid,
    build_record,
    read_head,
    record_key,
    to_float,
)

CHUNK = 1 << 16
MAX_PROLOGUE = 1 << 16  # bytes before the root element (XML declaration, comments)
MAX_RECORD_BYTES = 64 << 20  # bytes read without finishing a run: past this the file is refused as broken

# feed field → FeedRecord field (what is not listed here goes to FeedRecord.extra)
FIELDS = {
    "trprId": "course_id",
    "trprDegr": "run_number",
    "title": "title",
    "subTitle": "provider_name",
    "trainstCstId": "provider_id",
    "traStartDate": "start_date",
    "traEndDate": "end_date",
    "courseMan": "fee",
    "realMan": "actual_cost",
    "yardMan": "capacity",
    "regCourseMan": "source_enrolled",
    "tgcrGnrlTrneOwepAllt": "general_self_pay",
    "ncsCd": "ncs_code",
    "trngAreaCd": "region_code",
    "address": "address",
    "telNo": "phone",
    "grade": "provider_grade",
    "trainTargetCd": "programme_code",
    "contents": "contents",
    "certificate": "certificate",
    "titleLink": "url",
    "eiEmplRate3": "employment_rate_3m",
    "eiEmplRate6": "employment_rate_6m",
    "eiEmplCnt3": "employment_count_3m",
    "wkendSe": "weekend",
    "trtm": "hours",
    "trDcnt": "days",
}
# fields read by the rules below rather than copied
DERIVED = ("crseTracseSe", "perTrco", "instPerTrco", "stdgScor", "srchTraGbn", "trngKind")
# FeedRecord field → the feed's name, for messages
LABELS = {target: name for name, target in FIELDS.items()} | {
    "support_amount": "perTrco",
    "satisfaction": "stdgScor",
    "mode": "srchTraGbn",
}
LABELS_INST_PER_TRCO = LABELS | {"actual_cost": "instPerTrco"}

# In HRD-Net these fields say "0" when the value is not known (a run that has not ended has no outcomes; a
# list response has no approved support amount): 0 is read as unknown (None), like a blank. By feed name:
# realMan ncsCd trngAreaCd trainTargetCd eiEmplRate3 eiEmplRate6 eiEmplCnt3 trtm trDcnt (and, below,
# perTrco instPerTrco stdgScor).
ZERO_IS_UNKNOWN = (
    "actual_cost",
    "ncs_code",
    "region_code",
    "programme_code",
    "employment_rate_3m",
    "employment_rate_6m",
    "employment_count_3m",
    "hours",
    "days",
)
WEEKEND_CODES = {"1": "weekend", "2": "mixed", "3": "weekday", "9": "unknown"}
MODE_CODES = {code: mode for code, mode in MODE_VALUES.items() if code.startswith("M")}

_HAS_MARKUP_INSIDE_A_FIELD = etree.XPath("boolean(*/*)")
_ROOT_NAME = re.compile(rb"<([A-Za-z_][A-Za-z0-9_.\-]*(?::[A-Za-z_][A-Za-z0-9_.\-]*)?)[\s/>]")


def parse(stream: BinaryIO, *, source: str) -> Iterator[FeedRecord | Rejection]:
    """Yield one FeedRecord or Rejection per <scn_list>; see the module docstring for errors."""
    head, root = _read_prologue(stream)
    is_error_document = root.upper() == "GO24"
    if not is_error_document and root.lower() != "hrdnet":
        raise FeedUnreadable(f"HRD-Net 피드가 아닙니다: 최상위 요소가 <{root}>입니다 (<HRDNet>이어야 합니다).")
    parser = etree.XMLPullParser(
        events=("end",),
        tag=("scn_list", "error"),
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        dtd_validation=False,
        huge_tree=True,
        remove_blank_text=True,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )
    ordinal = 0  # scn_list elements seen
    pending = 0  # bytes fed since a run last ended
    data = head
    try:
        while True:
            if data:
                pending += len(data)
                parser.feed(data)
            else:
                parser.close()
            finished = ordinal
            for _event, element in parser.read_events():
                if element.tag == "error":
                    _raise_error_document(element)
                    continue
                ordinal += 1
                yield _record(element, ordinal)
                _drop(element)
            if not data:
                break
            if ordinal != finished:
                pending = 0
            elif pending > MAX_RECORD_BYTES:
                problem = f"한 회차가 {MAX_RECORD_BYTES >> 20} MiB를 넘어 깨진 파일로 보고 읽기를 멈춥니다"
                if ordinal == 0:
                    raise FeedUnreadable(f"XML을 읽을 수 없습니다: {problem}.")
                yield Rejection(
                    f"record {ordinal + 1}", None, f"파일이 record {ordinal + 1}에서 끊겼습니다: {problem}."
                )
                raise FeedUnreadable(
                    f"파일이 record {ordinal + 1}에서 끊겼습니다: 앞의 {ordinal}개 회차만 읽었습니다. ({problem})"
                )
            data = stream.read(CHUNK)
    except etree.XMLSyntaxError as exc:
        # events queued before the error are still there: yield them first
        for _event, element in parser.read_events():
            if element.tag == "error":
                _raise_error_document(element)
                continue
            ordinal += 1
            yield _record(element, ordinal)
            _drop(element)
        line = exc.lineno or "?"
        problem = _syntax_message(exc)
        if ordinal == 0:
            raise FeedUnreadable(f"XML을 읽을 수 없습니다 (line {line}): {problem}") from None
        yield Rejection(
            f"line {line}", None, f"파일이 line {line}에서 끊겼습니다 (record {ordinal + 1}을(를) 읽던 중): {problem}"
        )
        raise FeedUnreadable(
            f"파일이 line {line}에서 끊겼습니다: 앞의 {ordinal}개 회차만 읽었습니다. ({problem})"
        ) from None
    if is_error_document:
        raise FeedUnreadable("고용24가 오류 문서(<GO24>)를 돌려주었지만 오류 내용이 없습니다.")


def _record(element, ordinal: int) -> FeedRecord | Rejection:
    position = f"record {ordinal} (line {element.sourceline})"
    values: dict[str, str] = {}  # FeedRecord name → text
    other: dict[str, str] = {}  # the feed's name → text, for fields that are not copied as they are
    problems: list[tuple[str, str]] = []
    nested = _HAS_MARKUP_INSIDE_A_FIELD(element)  # then take all of each field's text
    fields_get = FIELDS.get
    for child in element:
        tag = child.tag
        if tag.__class__ is not str:  # an entity reference or other non-element node
            problems.append(("?", "해석하지 않은 엔터티 참조가 있습니다"))
            continue
        text = "".join(child.itertext()) if nested else child.text
        if text is None:
            text = ""
        elif len(text) > MAX_FIELD_CHARS:
            problems.append((tag, f"{len(text):,}자로 너무 깁니다 (최대 {MAX_FIELD_CHARS:,}자)"))
            text = ""
        name = fields_get(tag)
        if name is None:
            if tag in other:
                problems.append((tag, "같은 필드가 두 번 나옵니다"))
            other[tag] = text
        else:
            if name in values:
                problems.append((tag, "같은 필드가 두 번 나옵니다"))
            values[name] = text
    if problems:
        return Rejection(position, record_key(values, HRDNET_ID), "; ".join(f"{n}: {p}" for n, p in problems))
    return _build(values, other, position)


def build(raw: dict[str, str], position: str) -> FeedRecord | Rejection:
    """One record from its raw field texts, e.g. {"trprId": "AIG…", "trprDegr": "3", …}."""
    values = {FIELDS[name]: text for name, text in raw.items() if name in FIELDS}
    other = {name: text for name, text in raw.items() if name not in FIELDS}
    return _build(values, other, position)


def _build(values: dict[str, str | float | None], other: dict[str, str], position: str) -> FeedRecord | Rejection:
    """Apply HRD-Net's conventions to one run's fields, then the common checks."""
    errors: list[tuple[str, str]] = []
    labels = LABELS
    get = values.get
    for name in ZERO_IS_UNKNOWN:
        value = get(name)
        if value and _is_zero(value):
            values[name] = None
    if not get("programme_code"):
        values["programme_code"] = other.get("crseTracseSe")
    if other:
        # approved government support (정부지원금): perTrco; 0 = not given
        value = other.get("perTrco")
        if value and not _is_zero(value):
            values["support_amount"] = value
        # actual training cost (실제 훈련비): realMan, else the detail's instPerTrco; 0 = not given
        value = other.get("instPerTrco")
        if value and not _is_zero(value) and not get("actual_cost"):
            values["actual_cost"] = value
            labels = LABELS_INST_PER_TRCO
        # satisfaction: 0–100, or 0–10,000 (values over 100 are on the 10,000 scale); 0 = no survey yet
        score = other.get("stdgScor")
        if score and not _is_zero(score):
            try:
                number = to_float(score, high=10_000)
            except Invalid as exc:
                errors.append(("satisfaction", exc.args[0]))
            else:
                values["satisfaction"] = number / 100 if number > 100 else number
        # mode: from a training-kind code when the feed has one; otherwise unknown
        for name in ("srchTraGbn", "trngKind", "trainTarget"):
            mode = MODE_CODES.get((other.get(name) or "").strip())
            if mode:
                values["mode"] = mode
                break
        extra = {
            name: value.strip()
            for name, value in other.items()
            if value and name not in DERIVED and not value.isspace()
        }
    else:
        extra = {}
    if not get("mode"):
        # List responses carry the training kind only as a request parameter; the remote-training
        # programmes (C0055 for job seekers, C0031* for the employed) are remote whatever it was.
        programme = (get("programme_code") or "").strip()
        if programme == "C0055" or programme.startswith("C0031"):
            values["mode"] = "remote"
    # weekend: 1 weekend, 2 mixed, 3 weekday, 9 / blank / any other code: unknown
    weekend = get("weekend")
    values["weekend"] = WEEKEND_CODES.get(weekend.strip(), "unknown") if weekend else "unknown"
    return build_record(values, position=position, labels=labels, id_pattern=HRDNET_ID, extra=extra, errors=errors)


def _is_zero(value: str) -> bool:
    text = value.strip()
    return bool(text) and not text.strip("0.,") and "0" in text


def _drop(element) -> None:
    """Free a finished run: its content, and every earlier sibling still hanging in the tree."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _raise_error_document(element) -> None:
    parent = element.getparent()
    if parent is not None and parent.tag == "scn_list":
        return  # a field called "error" inside a run is just a field
    message = " ".join("".join(element.itertext()).split()) or "(내용 없음)"
    raise FeedUnreadable(f"HRD-Net/고용24가 오류를 돌려주었습니다: {message[:300]}")


def _syntax_message(exc: etree.XMLSyntaxError) -> str:
    message = (exc.msg or str(exc)).strip()
    return message[:300]


def _read_prologue(stream: BinaryIO) -> tuple[bytes, str]:
    """Read up to the root element's name, refusing what must never reach the XML parser.

    Returns the bytes read so far (to be fed to the parser) and the root element's name."""
    buffer = read_head(stream, 4096)
    while True:
        result = _scan_prologue(buffer)
        if result is not None:
            return buffer, result
        if len(buffer) > MAX_PROLOGUE:
            raise FeedUnreadable("XML 머리말(최상위 요소 앞부분)이 너무 깁니다.")
        more = read_head(stream, 4096)
        if not more:
            if not buffer.strip(b"\xef\xbb\xbf \t\r\n"):
                raise FeedUnreadable("빈 파일입니다.")
            raise FeedUnreadable("XML 문서가 아닙니다: 최상위 요소가 없습니다.")
        buffer += more


def _scan_prologue(buffer: bytes) -> str | None:
    """The root element's name, or None if more bytes are needed; raises FeedUnreadable for what is refused."""
    if buffer.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")) or b"\x00" in buffer[:4]:
        raise FeedUnreadable("UTF-16/UTF-32 XML은 읽지 않습니다 (UTF-8 또는 EUC-KR만 읽습니다).")
    i = 3 if buffer.startswith(b"\xef\xbb\xbf") else 0
    size = len(buffer)
    while True:
        while i < size and buffer[i] in b" \t\r\n":
            i += 1
        if i >= size:
            return None
        if buffer[i] != 0x3C:  # "<"
            raise FeedUnreadable(
                f"XML 문서가 아닙니다: {buffer[i : i + 20].decode('utf-8', 'replace')!r}(으)로 시작합니다."
            )
        if buffer.startswith(b"<?", i):
            end = buffer.find(b"?>", i + 2)
            if end < 0:
                return None
            i = end + 2
        elif buffer.startswith(b"<!--", i):
            end = buffer.find(b"-->", i + 4)
            if end < 0:
                return None
            i = end + 3
        elif buffer.startswith(b"<!", i):
            if size - i < 9:
                return None
            raise FeedUnreadable(
                "DOCTYPE(DTD)이 있는 문서는 보안상 읽지 않습니다 (HRD-Net 피드에는 DTD가 없습니다; HTML 오류 "
                "페이지일 수도 있습니다)."
            )
        else:
            match = _ROOT_NAME.match(buffer, i)
            if match is None:
                if size - i < 256:
                    return None
                raise FeedUnreadable("XML 문서가 아닙니다: 최상위 요소를 읽을 수 없습니다.")
            return match.group(1).decode("ascii")
