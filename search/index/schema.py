"""What the index holds: one document per course (its analysed text) and one per run (values only).

Course documents (`kind` 1) carry the text, analysed once however many runs the course has — three
groups, each indexed twice, as morphemes (`*_m`) and as Hangul bigrams (`*_g`), see search.analysis:

| group | text | boost (morphemes, bigrams) |
|---|---|---|
| `t` title | course title, and every source's own spelling of it | 6.0, 3.0 |
| `k` key | keywords, provider name, certificate | 3.0, 1.5 |
| `b` body | course contents | 1.0, 0.4 |

Run documents (`kind` 0) carry no text: a fixed-size row (ROW) of the values filters, facets, sorting and
the result line need, plus the run's source keys. Names of codes (region, NCS, programme, ministry) are
looked up at query time, and the title and provider come from the course document's columns. A run matches a word through its course's text, or through
its categories — NCS names, programme, ministry, region — which search.query matches against the names of
the codes the runs carry (a few thousand short strings) instead of indexing them on 120,000 documents.
Splitting the text off the runs makes the index ~4× smaller and a rebuild ~4× faster (docs/search.md).

The tokens are produced by search.analysis before they reach Whoosh, so the Whoosh analyser only splits
on spaces (and the schema pickled into the index holds no Kiwi object). The row lives in a Whoosh column
of fixed-size bytes: a segment's whole column is one `numpy.frombuffer`.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

import numpy as np
from whoosh import columns, fields
from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.system import pack_uint

from courses.pricing import PRICE_CLASSES_MAX
from search.analysis import nfkc, synonym_key
from search.interfaces import MODES, UNKNOWN, WEEKENDS

SCHEMA_VERSION = 5  # 2: the application window and the lifecycle's "closed" (courses.enrolment_window); 3: 회차;
# 4: the generic card draw; 5: the self-pay of each learner price class (sort by my price)

TEXT_GROUPS = ("t", "k", "b")
# (field, boost): morphemes count more than bigrams, so a whole-word match beats a substring match.
BOOSTS = {"t_m": 6.0, "t_g": 3.0, "k_m": 3.0, "k_g": 1.5, "b_m": 1.0, "b_g": 0.4}
CATEGORY_BOOST = 3.0  # a word in a run's category names (NCS, programme, ministry, region, …): × their idf
RUN, COURSE = 0, 1
MORPH_FIELDS = tuple(f"{g}_m" for g in TEXT_GROUPS)
GRAM_FIELDS = tuple(f"{g}_g" for g in TEXT_GROUPS)
TITLE_FIELDS = ("t_m", "t_g")

# A run's row stores the position of its mode and schedule in these (append only, or bump SCHEMA_VERSION).
MODE_KINDS = (*MODES, UNKNOWN)
WEEKEND_KINDS = (*WEEKENDS, UNKNOWN)

ROW = np.dtype(
    [
        ("kind", "u1"),  # RUN or COURSE
        ("run_id", "<i8"),
        ("course_id", "<i8"),
        ("provider_id", "<i8"),
        ("start", "<i4"),  # days since 1970-01-01
        ("end", "<i4"),
        ("fee", "<i8"),  # 원
        ("self_pay", "<i8"),  # the generic split's self-pay; -1 = price unknown
        ("seats_left", "<i4"),
        ("employment", "<f4"),  # 3-month employment rate (%), NaN = unknown
        ("satisfaction", "<f4"),  # 0–100, NaN = unknown
        ("region", "S5"),  # 시·군·구 (5 digits) or 시·도 (2 digits) code, b"" = unknown
        ("ncs", "S8"),
        ("programme", "S16"),
        ("ministry", "S16"),
        ("mode", "u1"),  # index into MODE_KINDS
        ("weekend", "u1"),  # index into WEEKEND_KINDS
        ("dropped", "u1"),  # every source stopped listing the run ("not seen since")
        ("apply_opens", "<i4"),  # the application window (courses.enrolment_window), days since 1970-01-01,
        ("apply_closes", "<i4"),  # both days included; the programme's defaults as of indexing
        ("window_by_provider", "u1"),  # the provider set the window (else the programme's defaults)
        ("lifecycle_closed", "u1"),  # Run.status "closed": the provider or source stopped taking learners
        ("title_len", "<u2"),  # course documents: morphemes in the title (length normalisation)
        ("title_key", "<u8"),  # course documents: title_hash() of the course title
        ("run_number", "<i4"),  # the run's 회차 (trprDegr), for one card per course with its runs as chips
        ("card_draw", "<i8"),  # the generic split's draw on a voucher account (원; 0: none drawn); -1 = unknown
        # the self-pay of each of courses.pricing.price_classes() (원; -1 = unknown): sort by the learner's own
        ("self_pay_classes", "<i8", (PRICE_CLASSES_MAX,)),
    ]
)


class RowColumn(columns.FixedBytesColumn):
    """A fixed-size bytes column whose reader hands back the whole segment as one numpy record array."""

    def __init__(self):
        super().__init__(ROW.itemsize)

    def reader(self, dbfile, basepos, length, doccount):
        return RowReader(dbfile, basepos, length, doccount, self._fixedlen, self._default)


class RowReader(columns.FixedBytesColumn.Reader):
    def array(self) -> np.ndarray:
        """Every document's row (documents past the written part get the all-zero default row)."""
        written = min(self._count, self._doccount)
        out = np.zeros(self._doccount, dtype=ROW)
        if written:
            raw = self._dbfile.get(self._basepos, written * self._fixedlen)
            out[:written] = np.frombuffer(raw, dtype=ROW, count=written)
        return out


_TOKEN = re.compile(r"[^ \t\r\n]+")  # SpaceSeparatedTokenizer's pattern


class TokensField(fields.TEXT):
    """A TEXT field of space-separated tokens (search.analysis made them), indexed in one pass.

    Whoosh's own TEXT.index() runs the tokenizer token by token in Python, and a rebuild adds millions of
    postings; this counts the same tokens with one regex and a Counter and gives Whoosh the same terms,
    frequencies and weights (tests/search/test_index.py compares both). Queries and every reader see a TEXT field.
    """

    def index(self, value, **kwargs):
        if not isinstance(value, str) or kwargs:
            yield from super().index(value, **kwargs)
            return
        boost = self.format.field_boost
        for word, freq in Counter(_TOKEN.findall(value)).items():
            yield word.encode("utf-8"), freq, float(freq) * boost, pack_uint(freq)


def build_schema() -> fields.Schema:
    tokens = SpaceSeparatedTokenizer()
    text = {name: TokensField(analyzer=tokens, phrase=False) for name in (*MORPH_FIELDS, *GRAM_FIELDS)}
    return fields.Schema(
        key=fields.ID(unique=True),  # "r<run id>" or "c<course id>"
        row=fields.COLUMN(RowColumn()),
        title=fields.COLUMN(columns.VarBytesColumn()),  # courses: the title (UTF-8), for hits and suggestions
        provider=fields.COLUMN(columns.VarBytesColumn()),  # courses: the provider's name
        stored=fields.STORED(),  # runs: ["source:external key", …]; courses: the contents (snippets)
        **text,
    )


def run_key(run_id: int) -> str:
    return f"r{int(run_id)}"


def course_key(course_id: int) -> str:
    return f"c{int(course_id)}"


_TAGS = re.compile(r"^\s*(?:(?:\[[^\]]*\]|【[^】]*】|\([^)]*\))\s*)+")


def title_key_text(title: str) -> str:
    """A title as the exact-title match compares it: leading [tags] dropped, then synonym_key()."""
    return synonym_key(_TAGS.sub("", nfkc(title)))


def title_hash(title: str) -> int:
    key = title_key_text(title)
    if not key:
        return 0
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little")


def pack_row(values: dict) -> bytes:
    row = np.zeros(1, dtype=ROW)
    for name, value in values.items():
        row[name] = value
    return row.tobytes()
