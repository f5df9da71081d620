"""Field checks shared by every feed format, and the stream helpers the text formats share.

build_record() turns one record's values, keyed by FeedRecord field names, into a FeedRecord, or into a
Rejection that names every field that was wrong (in the feed's own field names, in Korean). It is the one
place where blanks, lengths, numbers, dates and codes are judged, so the three formats agree:

- a blank value (missing, empty, only spaces, JSON null) is "unknown": required fields reject the record,
  optional ones become None (capacity and source_enrolled become 0, weekend and mode "unknown");
- a value that is present but cannot be understood rejects the record, with the field and the value in the
  reason; nothing is guessed or silently cut;
- text is cleaned: HTML entities decoded repeatedly until stable (feeds double-escape: `&amp;amp;`), HTML
  tags stripped (only real HTML tag names: a title like `<AI> 개발자` keeps its `<AI>`), control characters
  dropped, runs of white space collapsed; then its length is checked against the database column;
- codes are normalised: NCS codes to their 2/4/6/8 digits (a 7-digit code lost its leading zero in a CSV
  copy and gets it back), region codes mapped from old codes to today's (courses.reference.region_aliases).

Format-specific meanings (HRD-Net's "0 means unknown", its 10,000-point satisfaction scale, its codes for
weekend and mode) are settled by the format module before build_record() sees the values. See docs/feeds.md.

The stream helpers (open_utf8_text, LineReader) give the CSV and JSON Lines parsers a UTF-8 text stream that
is checked up front and read one bounded line at a time, so memory stays flat whatever the file size.
"""

from __future__ import annotations

import codecs
import html
import io
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import Any, BinaryIO

from courses.ingest.records import FeedRecord, FeedUnreadable, Rejection
from courses.reference import region_aliases

# -- limits (database column sizes, see courses/models.py) ----------------------------------------------

MAX_COURSE_ID = 40
MAX_PROVIDER_ID = 64  # ProviderSourceId.external_id
MAX_TITLE = 300
MAX_PROVIDER_NAME = 200
MAX_PROGRAMME_CODE = 16
MAX_ADDRESS = 300
MAX_PHONE = 30
MAX_GRADE = 30  # the provider's accreditation grade (HRD-Net grade: 3년인증 …)
MAX_CERTIFICATE = 300
MAX_KEYWORDS = 500
MAX_URL = 500
MAX_CONTENTS = 20_000  # Text column; a course description longer than this is a broken record
MAX_FIELD_CHARS = 100_000  # any field at all, known or not, before it is even looked at
MAX_INT = 2_147_483_647  # SQL INTEGER
FIRST_DATE = date(1990, 1, 1)
LAST_DATE = date(2099, 12, 31)

# Ids: HRD-Net trprId / trainstCstId are letters and digits only (AIG20250000524076, 500020012345).
HRDNET_ID = re.compile(r"[A-Za-z0-9]+\Z")
# Our own generic formats also allow . _ - inside (MSIT-SWA-2025-001); never ":" (the run key separator).
GENERIC_ID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?\Z")
PROGRAMME_CODE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?\Z")

WEEKEND_VALUES = {
    "weekday": "weekday",
    "weekend": "weekend",
    "mixed": "mixed",
    "unknown": "unknown",
    # HRD-Net wkendSe codes, accepted everywhere
    "1": "weekend",
    "2": "mixed",
    "3": "weekday",
    "9": "unknown",
    "주중": "weekday",
    "주말": "weekend",
    "주중+주말": "mixed",
    "혼합": "mixed",
}
MODE_VALUES = {
    "classroom": "classroom",
    "remote": "remote",
    "blended": "blended",
    "unknown": "unknown",
    # HRD-Net training kinds (srchTraGbn), accepted everywhere
    "M1001": "classroom",
    "M1005": "remote",
    "M1010": "blended",
    "M1014": "blended",
    "집체": "classroom",
    "원격": "remote",
    "인터넷": "remote",
    "혼합": "blended",
    "스마트혼합": "blended",
}


class Invalid(ValueError):
    """One field's value cannot be used; the message (Korean) says why."""


# -- text -------------------------------------------------------------------------------------------

# Only named or numeric references *with* the semicolon: html.unescape alone would also turn the legacy
# no-semicolon forms into characters ("&notebook" → "¬ebook", "R&reg" → "R®").
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_BLOCK_TAG = re.compile(
    r"</?(?:br|p|div|li|ul|ol|tr|td|th|table|tbody|thead|h[1-6]|hr|blockquote|pre|center)"
    r"\b[^<>]*>",
    re.IGNORECASE,
)
_INLINE_TAG = re.compile(
    r"</?(?:a|abbr|b|big|code|del|em|font|i|img|ins|label|mark|s|small|span|strike|strong"
    r"|sub|sup|u)\b[^<>]*>",
    re.IGNORECASE,
)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_UNESCAPE_ROUNDS = 6


def _unescape_one(match: re.Match) -> str:
    return html.unescape(match.group(0))


def unescape(text: str) -> str:
    """Decode HTML character references until nothing changes (`&amp;amp;lt;` → `<`), at most 6 rounds."""
    for _ in range(_UNESCAPE_ROUNDS):
        if "&" not in text:
            break
        decoded = _ENTITY.sub(_unescape_one, text)
        if decoded == text:
            break
        text = decoded
    return text


# Feeds repeat themselves (a provider's name, address and phone on each of its runs, one title on each run
# of a course, a few hundred start dates): small memo tables skip the work for values already seen. They
# are emptied when full, so memory stays bounded.
_MEMO_SIZE = 4096
_clean_memo: dict[str, str] = {}
_clean_memo_multiline: dict[str, str] = {}
_date_memo: dict[str, date] = {}
_region_memo: dict[str, str] = {}


def clean_text(text: str, *, multiline: bool = False) -> str:
    """Entities decoded, HTML tags and control characters removed, white space collapsed.

    multiline keeps line breaks (and turns <br>, <p> … into them), collapsing blank lines.
    """
    memo = _clean_memo_multiline if multiline else _clean_memo
    cleaned = memo.get(text)
    if cleaned is None:
        cleaned = _clean_text(text, multiline)
        if len(text) <= 300:
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[text] = cleaned
    return cleaned


def _clean_text(text: str, multiline: bool) -> str:
    if "&" in text:
        text = unescape(text)
    if "<" in text:
        text = _COMMENT.sub("", text)
        text = _BLOCK_TAG.sub("\n" if multiline else " ", text)
        text = _INLINE_TAG.sub("", text)
    if not text.isprintable() and _CONTROL.search(text):
        text = _CONTROL.sub("", text)
    if not multiline:
        return " ".join(text.split())
    lines = (" ".join(line.split()) for line in text.splitlines())
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def shown(value: Any, limit: int = 40) -> str:
    """A value quoted for a message, cut to `limit` characters."""
    text = value if isinstance(value, str) else repr(value)
    text = text.strip()
    return f"'{text[:limit]}…'" if len(text) > limit else f"'{text}'"


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise Invalid(f"참/거짓 값은 쓸 수 없습니다: {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    raise Invalid("문자열이 아닙니다 (객체나 배열)")


# -- converters: each takes the raw value and returns the clean one or raises Invalid ------------------


def to_text(value: Any, limit: int, *, required: bool = False, multiline: bool = False) -> str | None:
    if value is None or (value.__class__ is str and (not value or value.isspace())):
        if required:
            raise Invalid("값이 없습니다")
        return None
    text = clean_text(value if value.__class__ is str else _as_text(value), multiline=multiline)
    if not text:
        if required:
            raise Invalid("값이 없습니다 (태그와 공백뿐입니다)")
        return None
    if len(text) > limit:
        raise Invalid(f"{len(text):,}자로 너무 깁니다 (최대 {limit:,}자)")
    return text


def to_id(value: Any, limit: int, pattern: re.Pattern) -> str:
    if value is None or (value.__class__ is str and (not value or value.isspace())):
        raise Invalid("값이 없습니다")
    if isinstance(value, float):
        raise Invalid(f"소수는 아이디로 쓸 수 없습니다: {value!r}")
    text = _as_text(value).strip()
    if len(text) > limit:
        raise Invalid(f"{len(text):,}자로 너무 깁니다 (최대 {limit}자)")
    if not pattern.match(text):
        allowed = "영문자와 숫자" if pattern is HRDNET_ID else "영문자, 숫자와 . _ -"
        raise Invalid(f"{allowed}만 쓸 수 있습니다: {shown(text)}")
    return text


def to_int(value: Any, *, required: bool = False, default: int | None = None) -> int | None:
    """A whole number ≥ 0. Thousands separators (5,500,000), a trailing 원 and a zero fraction (12.0) pass."""
    if value.__class__ is str and value.isdigit() and value.isascii():
        number = int(value)
        if number > MAX_INT:
            raise Invalid(f"값이 너무 큽니다: {number:,}")
        return number
    if value is None or (value.__class__ is str and (not value or value.isspace())):
        if required:
            raise Invalid("값이 없습니다")
        return default
    if isinstance(value, bool):
        raise Invalid(f"참/거짓 값은 쓸 수 없습니다: {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise Invalid(f"정수가 아닙니다: {value!r}")
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.isdigit() and text.isascii():
            number = int(text)
        else:
            number = _parse_int_text(text)
    else:
        raise Invalid("숫자가 아닙니다 (객체나 배열)")
    if number < 0:
        raise Invalid(f"0 이상이어야 합니다: {number}")
    if number > MAX_INT:
        raise Invalid(f"값이 너무 큽니다: {number:,}")
    return number


_INT_TEXT = re.compile(r"([+-]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.0*)?\s*(?:원)?\Z")


def _parse_int_text(text: str) -> int:
    match = _INT_TEXT.match(text) if text.isascii() or text.endswith("원") else None
    if match is None:
        raise Invalid(f"정수가 아닙니다: {shown(text)}")
    number = int(match.group(2).replace(",", ""))
    return -number if match.group(1) == "-" else number


def to_float(value: Any, *, low: float = 0.0, high: float = 100.0) -> float | None:
    """A number between low and high; a trailing % passes. Blank → None."""
    if value is None or (value.__class__ is str and (not value or value.isspace())):
        return None
    if isinstance(value, bool):
        raise Invalid(f"참/거짓 값은 쓸 수 없습니다: {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip().removesuffix("%").replace(",", "").strip()
        if not text.isascii() or "_" in text:
            raise Invalid(f"숫자가 아닙니다: {shown(value)}")
        try:
            number = float(text)
        except ValueError:
            raise Invalid(f"숫자가 아닙니다: {shown(value)}") from None
    else:
        raise Invalid("숫자가 아닙니다 (객체나 배열)")
    if number != number or not (low <= number <= high):  # NaN or out of range
        raise Invalid(f"{low:g}–{high:g} 사이여야 합니다: {number:g}")
    return number


def to_date(value: Any) -> date:
    """YYYY-MM-DD or YYYYMMDD, between 1990 and 2099."""
    day = _date_memo.get(value) if value.__class__ is str else None
    if day is None:
        day = _to_date(value)
        if value.__class__ is str:
            if len(_date_memo) >= _MEMO_SIZE:
                _date_memo.clear()
            _date_memo[value] = day
    return day


def _to_date(value: Any) -> date:
    if value is None or (value.__class__ is str and (not value or value.isspace())):
        raise Invalid("값이 없습니다")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise Invalid("날짜 문자열이 아닙니다")
    text = value.strip()
    size = len(text)
    if not (
        text.isascii()
        and (
            (size == 10 and text[4] == "-" and text[7] == "-" and (text[:4] + text[5:7] + text[8:]).isdigit())
            or (size == 8 and text.isdigit())
        )
    ):
        raise Invalid(f"날짜 형식이 아닙니다 (YYYY-MM-DD 또는 YYYYMMDD): {shown(text)}")
    try:
        day = date.fromisoformat(text)  # both forms, from Python 3.11
    except ValueError:
        raise Invalid(f"없는 날짜입니다: {shown(text)}") from None
    if not (FIRST_DATE <= day <= LAST_DATE):
        raise Invalid(f"날짜가 1990–2099년 밖입니다: {shown(text)}")
    return day


def to_ncs(value: Any) -> str | None:
    """NCS code: 2/4/6/8 digits kept; 7 digits get their lost leading zero back; all zeros → None.

    Codes that are well formed but not in courses/data/ncs.csv are kept (the classification is revised
    more often than our copy)."""
    if value is None or (value.__class__ is str and (not value or value.isspace())):
        return None
    text = _as_text(value).strip()
    if not (text.isdigit() and text.isascii()):
        raise Invalid(f"NCS 코드는 숫자여야 합니다: {shown(text)}")
    if not text.strip("0"):
        return None
    if len(text) == 7:
        text = "0" + text
    if len(text) not in (2, 4, 6, 8):
        raise Invalid(f"NCS 코드는 2·4·6·8자리여야 합니다 ({len(text)}자리): {shown(text)}")
    return text


def to_region(value: Any) -> str | None:
    """시·도 (2 digits) or 시·군·구 (5 digits) code, old codes mapped to today's; all zeros → None."""
    if value is None or (value.__class__ is str and (not value or value.isspace())):
        return None
    text = _as_text(value).strip()
    if not (text.isdigit() and text.isascii()):
        raise Invalid(f"지역 코드는 숫자여야 합니다: {shown(text)}")
    if not text.strip("0"):
        return None
    if len(text) == 10 and text.endswith("00000"):  # 법정동 코드 form of a 시·군·구 code
        text = text[:5]
    if len(text) not in (2, 5):
        raise Invalid(f"지역 코드는 2자리 또는 5자리여야 합니다: {shown(text)}")
    current = _region_memo.get(text)
    if current is None:
        current = region_aliases().current(text)
        if len(_region_memo) >= _MEMO_SIZE:
            _region_memo.clear()
        _region_memo[text] = current
    return current


_URL_BAD = re.compile(r"[\s<>\"'\x00-\x1f\x7f\\]")


def to_url(value: Any) -> str | None:
    if value is None or (value.__class__ is str and (not value or value.isspace())):
        return None
    text = unescape(_as_text(value).strip())
    if len(text) > MAX_URL:
        raise Invalid(f"{len(text):,}자로 너무 깁니다 (최대 {MAX_URL}자)")
    lowered = text[:8].lower()
    if not (lowered.startswith("https://") or lowered.startswith("http://")) or _URL_BAD.search(text):
        raise Invalid(f"http:// 또는 https:// 주소가 아닙니다: {shown(text)}")
    return text


def to_business_number(value: Any) -> str | None:
    if value is None or (value.__class__ is str and (not value or value.isspace())):
        return None
    text = _as_text(value).strip().replace("-", "")
    if len(text) != 10 or not (text.isdigit() and text.isascii()):
        raise Invalid(f"사업자등록번호는 10자리 숫자여야 합니다: {shown(value)}")
    return text


def to_programme_code(value: Any) -> str | None:
    if value is None or (value.__class__ is str and (not value or value.isspace())):
        return None
    text = _as_text(value).strip()
    if len(text) > MAX_PROGRAMME_CODE or not PROGRAMME_CODE.match(text):
        raise Invalid(f"과정 구분 코드가 아닙니다 (영문자·숫자 {MAX_PROGRAMME_CODE}자 이내): {shown(text)}")
    return text


def to_choice(value: Any, choices: Mapping[str, str]) -> str:
    if value is None or (value.__class__ is str and (not value or value.isspace())):
        return "unknown"
    text = _as_text(value).strip()
    found = choices.get(text) or choices.get(text.lower())
    if found is None:
        words = ", ".join(sorted({v for v in choices.values()}))
        raise Invalid(f"{words} 중 하나여야 합니다: {shown(text)}")
    return found


def to_weekend(value: Any) -> str:
    return to_choice(value, WEEKEND_VALUES)


def to_mode(value: Any) -> str:
    return to_choice(value, MODE_VALUES)


# -- the record ----------------------------------------------------------------------------------------


def record_key(values: Mapping[str, Any], id_pattern: re.Pattern = GENERIC_ID) -> str | None:
    """The record's key if both its course id and run number can be read, else None."""
    try:
        course_id = to_id(values.get("course_id"), MAX_COURSE_ID, id_pattern)
        run_number = to_int(values.get("run_number"), required=True)
    except Invalid:
        return None
    return f"{course_id}:{run_number}"


def reason(errors: list[tuple[str, str]], labels: Mapping[str, str] | None = None) -> str:
    """'field: problem; field: problem' with the feed's own field names."""
    label = labels.get if labels else None
    return "; ".join(f"{label(name, name) if label else name}: {problem}" for name, problem in errors)


def build_record(
    values: Mapping[str, Any],
    *,
    position: str,
    labels: Mapping[str, str] | None = None,
    id_pattern: re.Pattern = GENERIC_ID,
    extra: dict | None = None,
    errors: list[tuple[str, str]] | None = None,
) -> FeedRecord | Rejection:
    """Check one record, keyed by FeedRecord field names; labels give the feed's names for messages.

    `errors` may carry problems the format module already found (they are reported with the rest).
    """
    if not errors:
        try:
            return _fast(values, position, id_pattern, extra)
        except Invalid:
            pass  # go again, field by field, to name every problem
    return _checked(values, position, labels, id_pattern, errors or [])


def _convert(values: Mapping[str, Any], id_pattern: re.Pattern, take: Callable) -> dict[str, Any]:
    """Every FeedRecord field (but position and extra) from `values`, each through take(name, converter, …)."""
    get = values.get
    out = {
        "course_id": take("course_id", to_id, get("course_id"), MAX_COURSE_ID, id_pattern),
        "run_number": take("run_number", to_int, get("run_number"), required=True),
        "title": take("title", to_text, get("title"), MAX_TITLE, required=True),
        "provider_name": take("provider_name", to_text, get("provider_name"), MAX_PROVIDER_NAME, required=True),
        "provider_id": take("provider_id", to_id, get("provider_id"), MAX_PROVIDER_ID, id_pattern),
        "start_date": take("start_date", to_date, get("start_date")),
        "end_date": take("end_date", to_date, get("end_date")),
        "fee": take("fee", to_int, get("fee"), required=True),
        "capacity": take("capacity", to_int, get("capacity"), default=0),
        "programme_code": take("programme_code", to_programme_code, get("programme_code")),
        "source_enrolled": take("source_enrolled", to_int, get("source_enrolled"), default=0),
        "actual_cost": take("actual_cost", to_int, get("actual_cost")),
        "support_amount": take("support_amount", to_int, get("support_amount")),
        "general_self_pay": take("general_self_pay", to_int, get("general_self_pay")),
        "ncs_code": take("ncs_code", to_ncs, get("ncs_code")),
        "region_code": take("region_code", to_region, get("region_code")),
        "address": take("address", to_text, get("address"), MAX_ADDRESS),
        "phone": take("phone", to_text, get("phone"), MAX_PHONE),
        "provider_grade": take("provider_grade", to_text, get("provider_grade"), MAX_GRADE),
        "business_number": take("business_number", to_business_number, get("business_number")),
        "contents": take("contents", to_text, get("contents"), MAX_CONTENTS, multiline=True),
        "certificate": take("certificate", to_text, get("certificate"), MAX_CERTIFICATE),
        "keywords": take("keywords", to_text, get("keywords"), MAX_KEYWORDS),
        "url": take("url", to_url, get("url")),
        "weekend": take("weekend", to_weekend, get("weekend")),
        "mode": take("mode", to_mode, get("mode")),
        "hours": take("hours", to_int, get("hours")),
        "days": take("days", to_int, get("days")),
        "satisfaction": take("satisfaction", to_float, get("satisfaction")),
        "employment_rate_3m": take("employment_rate_3m", to_float, get("employment_rate_3m")),
        "employment_rate_6m": take("employment_rate_6m", to_float, get("employment_rate_6m")),
        "employment_count_3m": take("employment_count_3m", to_int, get("employment_count_3m")),
    }
    start, end = out["start_date"], out["end_date"]
    if start is not None and end is not None and end < start:
        take("end_date", _raise, f"종료일({end.isoformat()})이 시작일({start.isoformat()})보다 앞섭니다")
    return out


def _raise(message: str) -> None:
    raise Invalid(message)


def _fast(values: Mapping[str, Any], position: str, id_pattern: re.Pattern, extra: dict | None) -> FeedRecord:
    """The common case, written out for speed: every field is fine. The first problem raises Invalid, and
    _checked() then looks again field by field to name them all. Must agree with _convert()."""
    get = values.get
    start_date = to_date(get("start_date"))
    end_date = to_date(get("end_date"))
    if end_date < start_date:
        raise Invalid("end before start")
    v = get("capacity")
    capacity = 0 if v is None or v == "" else to_int(v, default=0)
    v = get("source_enrolled")
    source_enrolled = 0 if v is None or v == "" else to_int(v, default=0)
    v = get("programme_code")
    programme_code = None if v is None or v == "" else to_programme_code(v)
    v = get("actual_cost")
    actual_cost = None if v is None or v == "" else to_int(v)
    v = get("support_amount")
    support_amount = None if v is None or v == "" else to_int(v)
    v = get("general_self_pay")
    general_self_pay = None if v is None or v == "" else to_int(v)
    v = get("ncs_code")
    ncs_code = None if v is None or v == "" else to_ncs(v)
    v = get("region_code")
    region_code = None if v is None or v == "" else to_region(v)
    v = get("address")
    address = None if v is None or v == "" else to_text(v, MAX_ADDRESS)
    v = get("phone")
    phone = None if v is None or v == "" else to_text(v, MAX_PHONE)
    v = get("provider_grade")
    provider_grade = None if v is None or v == "" else to_text(v, MAX_GRADE)
    v = get("business_number")
    business_number = None if v is None or v == "" else to_business_number(v)
    v = get("contents")
    contents = None if v is None or v == "" else to_text(v, MAX_CONTENTS, multiline=True)
    v = get("certificate")
    certificate = None if v is None or v == "" else to_text(v, MAX_CERTIFICATE)
    v = get("keywords")
    keywords = None if v is None or v == "" else to_text(v, MAX_KEYWORDS)
    v = get("url")
    url = None if v is None or v == "" else to_url(v)
    v = get("weekend")
    weekend = v if v.__class__ is str and v in _CANONICAL_WEEKEND else to_weekend(v)
    v = get("mode")
    mode = v if v.__class__ is str and v in _CANONICAL_MODE else to_mode(v)
    v = get("hours")
    hours = None if v is None or v == "" else to_int(v)
    v = get("days")
    days = None if v is None or v == "" else to_int(v)
    v = get("satisfaction")
    satisfaction = None if v is None or v == "" else to_float(v)
    v = get("employment_rate_3m")
    employment_rate_3m = None if v is None or v == "" else to_float(v)
    v = get("employment_rate_6m")
    employment_rate_6m = None if v is None or v == "" else to_float(v)
    v = get("employment_count_3m")
    employment_count_3m = None if v is None or v == "" else to_int(v)
    return FeedRecord(
        position=position,
        course_id=to_id(get("course_id"), MAX_COURSE_ID, id_pattern),
        run_number=to_int(get("run_number"), required=True),
        title=to_text(get("title"), MAX_TITLE, required=True),
        provider_name=to_text(get("provider_name"), MAX_PROVIDER_NAME, required=True),
        provider_id=to_id(get("provider_id"), MAX_PROVIDER_ID, id_pattern),
        start_date=start_date,
        end_date=end_date,
        fee=to_int(get("fee"), required=True),
        capacity=capacity,
        programme_code=programme_code,
        source_enrolled=source_enrolled,
        actual_cost=actual_cost,
        support_amount=support_amount,
        general_self_pay=general_self_pay,
        ncs_code=ncs_code,
        region_code=region_code,
        address=address,
        phone=phone,
        provider_grade=provider_grade,
        business_number=business_number,
        contents=contents,
        certificate=certificate,
        keywords=keywords,
        url=url,
        weekend=weekend,
        mode=mode,
        hours=hours,
        days=days,
        satisfaction=satisfaction,
        employment_rate_3m=employment_rate_3m,
        employment_rate_6m=employment_rate_6m,
        employment_count_3m=employment_count_3m,
        extra=extra if extra is not None else {},
    )


_CANONICAL_WEEKEND = frozenset(("weekday", "weekend", "mixed", "unknown"))
_CANONICAL_MODE = frozenset(("classroom", "remote", "blended", "unknown"))


def _checked(
    values: Mapping[str, Any],
    position: str,
    labels: Mapping[str, str] | None,
    id_pattern: re.Pattern,
    errors: list[tuple[str, str]],
) -> Rejection:
    """The record has a problem: look at every field to name them all."""

    def take(name: str, convert: Callable, *args, **kwargs):
        try:
            return convert(*args, **kwargs)
        except Invalid as exc:
            errors.append((name, exc.args[0]))
            return None

    fields = _convert(values, id_pattern, take)
    course_id, run_number = fields["course_id"], fields["run_number"]
    key = f"{course_id}:{run_number}" if course_id is not None and run_number is not None else None
    return Rejection(position, key, reason(errors, labels))


# -- streams -------------------------------------------------------------------------------------------

CHUNK = 1 << 16
MAX_LINE_CHARS = 1 << 20  # one physical line of CSV or JSON Lines; longer lines reject their record


class _Prefixed(io.RawIOBase):
    """A binary stream that replays bytes already read, then goes on with the rest. Never closes `rest`."""

    def __init__(self, prefix: bytes, rest: BinaryIO):
        self._prefix = memoryview(prefix)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._rest.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n


def read_head(stream: BinaryIO, size: int = CHUNK) -> bytes:
    """Up to `size` bytes from the start of the stream (fewer only at the end of the file)."""
    parts, got = [], 0
    while got < size:
        data = stream.read(size - got)
        if not data:
            break
        parts.append(data)
        got += len(data)
    return b"".join(parts)


def open_utf8_text(stream: BinaryIO) -> tuple[io.TextIOWrapper, bool]:
    """The stream as UTF-8 text (a BOM is dropped), after checking its first 64 KiB strictly.

    Raises FeedUnreadable for UTF-16/UTF-32 or a start that is not UTF-8 (typically a CP949 export from
    Excel). Later bytes that are not UTF-8 become U+FFFD, and the record holding them is rejected by the
    caller, so one bad byte does not lose the whole file. Returns (text, empty).
    """
    head = read_head(stream)
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FeedUnreadable("UTF-16/UTF-32 파일은 읽지 않습니다. UTF-8로 저장해 주세요.")
    if head.startswith(b"PK\x03\x04"):
        raise FeedUnreadable("엑셀(xlsx) 또는 zip 파일입니다: 'CSV UTF-8' 형식으로 저장해 주세요.")
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        decoder.decode(head, final=len(head) < CHUNK)
    except UnicodeDecodeError as exc:
        raise FeedUnreadable(
            f"UTF-8 파일이 아닙니다 ({exc.start}번째 바이트). 엑셀에서 저장했다면 'CSV UTF-8' 형식으로 "
            "다시 저장해 주세요 (CP949/EUC-KR은 읽지 않습니다)."
        ) from None
    if len(head) > 0 and b"\x00" in head[:4]:
        raise FeedUnreadable("UTF-16/UTF-32 파일은 읽지 않습니다. UTF-8로 저장해 주세요.")
    raw = io.BufferedReader(_Prefixed(head, stream), CHUNK)
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
    return text, not head.strip(codecs.BOM_UTF8 + b" \t\r\n")


class LineReader:
    """Physical lines of a text stream, each at most MAX_LINE_CHARS long, counting as it goes.

    A longer line is skipped (read through and dropped, so memory stays flat) and an empty line is handed
    on in its place; `overlong` says so until reset(). `bad_bytes` says a line held bytes that were not
    UTF-8 (U+FFFD). `quotes` counts the double quotes read since reset() (odd: a quoted value is still
    open). `ended_with_newline` tells whether the last line read was complete.
    """

    __slots__ = ("_readline", "overlong", "bad_bytes", "quotes", "ended_with_newline", "line_number", "limit")

    def __init__(self, text: io.TextIOBase, limit: int = MAX_LINE_CHARS):
        self._readline = text.readline
        self.limit = limit
        self.overlong = False
        self.bad_bytes = False
        self.quotes = 0
        self.ended_with_newline = True
        self.line_number = 0

    def reset(self) -> None:
        self.overlong = False
        self.bad_bytes = False
        self.quotes = 0

    def __iter__(self) -> Iterator[str]:
        readline, limit = self._readline, self.limit
        while True:
            line = readline(limit + 1)
            if not line:
                return
            self.line_number += 1
            if len(line) > limit and line[-1] not in "\r\n":
                while True:  # drop the rest of the line
                    more = readline(limit)
                    if not more or more[-1] in "\r\n":
                        break
                self.overlong = True
                self.ended_with_newline = bool(more)
                yield "\n"
                continue
            self.ended_with_newline = line[-1] in "\r\n"
            if "\ufffd" in line:
                self.bad_bytes = True
            if '"' in line:
                self.quotes += line.count('"')
            yield line
