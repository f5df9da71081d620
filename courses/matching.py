"""One course, many listings: how a listing from any source finds its canonical course.

The rule: the same provider (found by source id, business number, or normalised name within a 시·도)
offering a course whose *normalised title* is the same, with NCS codes that agree at the 중분류 level
(first 4 digits) when both sources give one. Normalising drops spacing, punctuation, bracketed tags
such as "[KDT]" or "(주말)", cohort markers such as "3기"/"5회차", and folds width and case, so
"[K-디지털] 웹 개발자 양성과정(3기)" and "웹개발자 양성 과정" match. NCS is a check rather than part of
the key because one source often leaves it blank; the 중분류 level tolerates the usual disagreement in
the last digits between feeds while still keeping an 정보통신 course apart from a 경영 course of the
same name. An admin can merge or split what this gets wrong (courses.services).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_BRACKETED = re.compile(
    r"\[[^\]]*\]|【[^】]*】|<[^>]*>|\((?:[^()]*?(?:주말|주중|야간|온라인|오프라인|기|회차|차수)[^()]*)\)"
)
_COHORT = re.compile(r"\d+\s*(?:기|회차|차수|차)\b|제\s*\d+\s*(?:기|회)")
_NOT_WORD = re.compile(r"[^0-9a-z\uac00-\ud7a3]+")


def normalise_title(title: str) -> str:
    text = unicodedata.normalize("NFKC", title).lower()
    text = _BRACKETED.sub(" ", text)
    text = _COHORT.sub(" ", text)
    return _NOT_WORD.sub("", text)


def normalise_name(name: str) -> str:
    """Provider names: also drop the legal-form tags (주)/㈜/주식회사/(사)/재단법인 …."""
    text = unicodedata.normalize("NFKC", name).lower()
    text = re.sub(r"\((?:주|사|재|유|합)\)|주식회사|유한회사|사단법인|재단법인|학교법인", " ", text)
    return _NOT_WORD.sub("", text)


def match_key(title: str, provider_id: int) -> str:
    return hashlib.sha256(f"{normalise_title(title)}|{provider_id}".encode()).hexdigest()


def ncs_compatible(a: str | None, b: str | None) -> bool:
    return not a or not b or a[:4] == b[:4]
