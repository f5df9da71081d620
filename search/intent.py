"""What a query means besides its topic: places, schedule, mode, programme and provider become filters.

"빅데이터 부산" is the topic 빅데이터 in 부산광역시, not "빅데이터 or 부산 anywhere". Before the text is
searched, interpret() takes out of the query the words that name

- a place: a 시·도 (서울, 부산광역시, 경북 …), a 시·군·구 (강남구, 강남, 수원, 해운대; a name several 시·도
  share, such as 중구 or 강서구, only after its 시·도: "부산 강서구") → `region` (several 시·도 combine);
- a schedule: 주말, 주말반 → weekend; 평일, 주중 → weekday;
- a mode: 원격, 온라인, 비대면 → remote; 집체, 오프라인, 대면 → classroom; 혼합, 블렌디드 → blended;
- a programme, by its name or usual short form (K-디지털 트레이닝, KDT, 내일배움카드) → `programme`;
- a provider, by its name or the brand at its start (아이티윌 for (주)아이티윌아카데미), when that brand
  is not also a word of the catalog's text (정보, 교육, 디지털 never name a provider) → `provider`;

and sets those filters (SearchParams), each as an Applied the page shows as a removable chip with a note
("‘부산’을 지역으로 적용했어요"). The remaining words are the text query; they must all match. A filter the
search already sets is not overridden: the word then stays in the text.

A few dictionary lookups per query word: the tables are built once per index version (provider brands) or
per reference-table reload (place and programme names).
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from search import analysis, labels
from search.index.versions import Version
from search.interfaces import Applied, SearchParams

MAX_SPAN = 4  # words a programme's or provider's name may take in a query

SCHEDULE_WORDS = {"주말": "weekend", "주말반": "weekend", "평일": "weekday", "평일반": "weekday", "주중": "weekday"}
MODE_WORDS = {
    "원격": "remote",
    "온라인": "remote",
    "비대면": "remote",
    "집체": "classroom",
    "오프라인": "classroom",
    "대면": "classroom",
    "혼합": "blended",
    "블렌디드": "blended",
}
# Usual short forms of programme names (the names themselves are read from the reference table).
PROGRAMME_ALIASES = {
    "kdt": "C0104",
    "케이디티": "C0104",
    "k디지털": "C0104",
    "내일배움카드": "C0061",
    "국민내일배움카드": "C0061",
    "국기": "C0054",
    "국가기간": "C0054",
    "국가기간전략산업직종": "C0054",
    "kdc": "C0105",
    "k디지털크레딧": "C0105",
    "kmooc": "MOE-LLL",
    "sw아카데미": "MSIT-SWA",
}
# Short names of 시·도 that their full names do not start with.
SIDO_ALIASES = {
    "충북": "충청북도",
    "충남": "충청남도",
    "경북": "경상북도",
    "경남": "경상남도",
    "전북": "전북특별자치도",
    "전남": "전남광주통합특별시",
    "광주": "전남광주통합특별시",
}
SIDO_SUFFIXES = ("특별자치시", "특별자치도", "통합특별시", "특별시", "광역시", "도", "시")
DISTRICT_SUFFIXES = ("시", "군", "구")
NOT_PLACES = {"연수", "광산", "화성", "사상", "청원", "고성", "동해", "남동", "수성", "중앙"}  # words before places
PLACE_PARTICLES = ("에서", "에", "의", "지역")
# What follows a provider's brand in its name (the brand alone is how people call it: 아이티윌아카데미 → 아이티윌).
PROVIDER_TAILS = (
    "아카데미컴퓨터학원",
    "직업전문학교",
    "인재개발원",
    "직업능력개발원",
    "평생교육원",
    "산학협력단",
    "정보처리학원",
    "컴퓨터아트학원",
    "컴퓨터학원",
    "디자인학원",
    "it교육센터",
    "it교육원",
    "정보교육원",
    "it아카데미",
    "교육센터",
    "교육원",
    "아카데미",
    "에듀테크",
    "캠퍼스",
    "학원",
    "에듀",
    "러닝",
    "랩스",
    "스쿨",
    "캠프",
    "교육",
)


@dataclass(frozen=True)
class _Places:
    sido: dict[str, str]  # key -> 2-digit code
    district: dict[str, list[str]]  # key -> 5-digit codes (several where 시·도 share a name)


def _strip(name: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def _places(names: labels.Labels) -> _Places:
    sido, district = {}, defaultdict(list)
    by_name = {name: code for code, name in names.regions.items() if len(code) == 2}
    for name, code in by_name.items():
        for key in {name, _strip(name, SIDO_SUFFIXES), _strip(name, SIDO_SUFFIXES) + "시"}:
            sido[analysis.synonym_key(key)] = code
    for alias, name in SIDO_ALIASES.items():
        if name in by_name:
            sido[alias] = by_name[name]
    for code, name in names.regions.items():
        if len(code) != 5:
            continue
        full = analysis.synonym_key(name)  # 수원시장안구 for "수원시 장안구"
        last = name.split()[-1]
        for key in {full, analysis.synonym_key(last), analysis.synonym_key(_strip(last, DISTRICT_SUFFIXES))}:
            if len(key) >= 2 and key not in NOT_PLACES and key not in sido and code not in district[key]:
                district[key].append(code)
    return _Places(sido, dict(district))


_places_cache: dict[int, _Places] = {}


def _places_of(names: labels.Labels) -> _Places:
    found = _places_cache.get(id(names))
    if found is None:
        _places_cache.clear()
        found = _places_cache[id(names)] = _places(names)
    return found


def _programmes(names: labels.Labels) -> dict[str, str]:
    out = {analysis.synonym_key(name): code for code, name in names.programmes.items()}
    out.update({alias: code for alias, code in PROGRAMME_ALIASES.items() if code in names.programmes})
    return out


def _brand(name: str) -> str:
    """아이티윌아카데미 → 아이티윌; 그린컴퓨터학원 강남 → 그린 (the first word, its tail dropped)."""
    first = analysis.synonym_key((analysis.strip_legal_form(name).split() or [""])[0])
    for tail in PROVIDER_TAILS:
        if first.endswith(tail) and len(first) - len(tail) >= 2:
            return first[: -len(tail)]
    return first


@dataclass(frozen=True)
class Providers:
    ids: dict[str, np.ndarray]  # name or brand key -> provider ids
    names: dict[str, str]  # key -> the name to show (the provider's, or the brand when several share it)


def providers(version: Version) -> Providers:
    return version.derived("intent_providers", _providers)


def _providers(version: Version) -> Providers:
    """Every provider's full name and brand as keys, a brand only where the catalog's text does not use it
    more than the provider's own courses do (so 정보, 한국, 디지털 are words, 아이티윌 is a provider)."""
    cols = version.cols
    docs = np.flatnonzero(version.live & cols["is_course"])
    provider_ids, first = np.unique(cols["provider_id"][docs], return_index=True)
    course_counts = dict(zip(*np.unique(cols["provider_id"][docs], return_counts=True), strict=True))
    vocabulary = version.vocabulary()
    keyed: dict[str, set[int]] = defaultdict(set)
    shown: dict[int, str] = {}
    brand_courses: dict[str, int] = defaultdict(int)
    for provider_id, index in zip(provider_ids.tolist(), first.tolist(), strict=True):
        _title, name = version.course_text(int(docs[index]))
        plain = analysis.strip_legal_form(name)
        full = analysis.synonym_key(plain)
        shown[provider_id] = plain
        if len(full) >= 2:
            keyed[full].add(provider_id)
        brand = _brand(name)
        if len(brand) >= 2 and brand != full:
            keyed[brand].add(provider_id)
            brand_courses[brand] += int(course_counts[provider_id])
    out_ids, out_names = {}, {}
    for key, ids in keyed.items():
        if key in brand_courses and vocabulary.get(key, 0) > 2 * brand_courses[key] + 2:
            continue  # a word of the catalog's text, not only a brand
        if analysis.synonyms().family_of(key):
            continue  # a topic (파이썬, 데이터 …) is never read as a provider
        out_ids[key] = np.asarray(sorted(ids), dtype=np.int64)
        out_names[key] = shown[next(iter(ids))] if len(ids) == 1 else key
    return Providers(out_ids, out_names)


def provider_mask(version: Version, key: str) -> np.ndarray:
    """The runs of the providers a provider key (a name or a brand) stands for."""
    ids = providers(version).ids.get(analysis.synonym_key(key))
    if ids is None:
        return np.zeros(version.size, dtype=bool)
    return np.isin(version.cols["provider_id"], ids)


def provider_label(version: Version, key: str) -> str:
    return providers(version).names.get(analysis.synonym_key(key), key)


_WORD = re.compile(r"\S+")


def _place_key(word: str) -> str:
    key = analysis.synonym_key(word)
    for particle in PLACE_PARTICLES:
        if key.endswith(particle) and len(key) - len(particle) >= 2:
            return key[: -len(particle)]
    return key


def interpret(version: Version, params: SearchParams, names: labels.Labels) -> tuple[SearchParams, tuple[Applied, ...]]:
    """The search with the query's place, schedule, mode, programme and provider words as filters."""
    words = _WORD.findall(params.q or "")
    if not words:
        return params, ()
    places, programmes, brands = _places_of(names), _programmes(names), providers(version)
    regions = [code for code in (params.region or "").split(",") if code]
    settings: dict[str, str] = {}
    applied: list[Applied] = []
    kept: list[str] = []
    i = 0
    while i < len(words):
        taken = _span(words, i, programmes, brands, places, params, settings, applied)
        if taken:
            i += taken
            continue
        word = words[i]
        key = _place_key(word)
        if not _place(key, word, places, names, regions, applied) and not _kind(word, params, settings, applied):
            kept.append(word)
        i += 1
    if not applied:
        return params, ()
    region = ",".join(dict.fromkeys(regions)) or None
    changed = dataclasses.replace(params, q=" ".join(kept), region=region, **settings)
    return changed, tuple(applied)


def _span(words, i, programmes, brands: Providers, places: _Places, params, settings, applied) -> int:
    """A programme's or provider's name starting at word i: how many words it takes (0: none). A place or a
    schedule or mode word is never a provider's brand (부산 of 부산 정보교육원)."""
    for j in range(min(len(words), i + MAX_SPAN), i, -1):
        phrase = " ".join(words[i:j])
        key = analysis.synonym_key(analysis.strip_legal_form(phrase))
        if not key or (j == i + 1 and _is_other_word(key, places)):
            continue
        if j > i + 1 and (key in SCHEDULE_WORDS or key in MODE_WORDS):  # 주말 반 = 주말반
            return j - i if _kind(phrase, params, settings, applied) else 0
        if key in programmes and not params.programme and "programme" not in settings:
            code = programmes[key]
            settings["programme"] = code
            applied.append(Applied("programme", code, phrase, labels.current().programmes.get(code, code)))
            return j - i
        if key in brands.ids and not params.provider and "provider" not in settings:
            settings["provider"] = key
            applied.append(Applied("provider", key, phrase, brands.names.get(key, key)))
            return j - i
    return 0


def _is_other_word(key: str, places: _Places) -> bool:
    plain = _place_key(key)
    return plain in places.sido or plain in places.district or key in SCHEDULE_WORDS or key in MODE_WORDS


def _place(key: str, word: str, places: _Places, names: labels.Labels, regions: list[str], applied) -> bool:
    if key in places.sido:
        code = places.sido[key]
        if code not in regions:
            regions.append(code)
        applied.append(Applied("region", code, word, names.regions.get(code, code)))
        return True
    codes = places.district.get(key)
    if not codes:
        return False
    if len(codes) > 1:  # 중구, 강서구: only inside a 시·도 the query (or the filter) names
        codes = [code for code in codes if code[:2] in regions]
        if len(codes) != 1:
            return False
    code = codes[0]
    if code[:2] in regions:  # 부산 해운대: the district narrows its 시·도
        regions.remove(code[:2])
        for item in [a for a in applied if a.param == "region" and a.value == code[:2]]:
            applied.remove(item)
            applied.append(Applied("region", code, f"{item.word} {word}", labels.region_name(code, names) or code))
            break
        else:
            applied.append(Applied("region", code, word, labels.region_name(code, names) or code))
    else:
        applied.append(Applied("region", code, word, labels.region_name(code, names) or code))
    regions.append(code)
    return True


def _kind(word: str, params: SearchParams, settings: dict, applied: list) -> bool:
    key = analysis.synonym_key(word)
    for param, table, kind_labels in (("weekend", SCHEDULE_WORDS, "weekend"), ("mode", MODE_WORDS, "mode")):
        value = table.get(key)
        if value is None:
            continue
        if getattr(params, param) not in (None, value) or settings.get(param, value) != value:
            return False  # the search already asks for another value: the word stays text
        settings[param] = value
        applied.append(Applied(param, value, word, _KIND_NAMES[kind_labels].get(value, value)))
        return True
    return False


_KIND_NAMES = {
    "weekend": {"weekend": "주말", "weekday": "주중"},
    "mode": {"remote": "원격", "classroom": "집체", "blended": "혼합"},
}
