"""Filters and facet counts over the column arrays of the live version (docs/search.md, "Facets").

Every active filter is a boolean mask; every facet is counted with numpy.bincount over the matching
documents with every *other* filter applied, so a chosen value still shows its siblings' counts. Price
values (fee band, self-pay band, max self-pay) come from the generic split of courses.pricing, computed
when the run was indexed.
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np

from courses.services import MODE_LABELS, WEEKEND_LABELS
from search import intent, labels
from search.index.columns import CODES, Interner
from search.index.schema import MODE_KINDS, WEEKEND_KINDS
from search.index.versions import Version
from search.interfaces import FEE_BANDS, SELF_PAY_BANDS, FacetValue

_EPOCH = date(1970, 1, 1)
_EPOCH_MONTH = np.datetime64("1970-01", "M")


def _code_mask(column: np.ndarray, interner: Interner, codes) -> np.ndarray:
    ids = [interner.ids[c] for c in codes if c in interner.ids]
    if not ids:
        return np.zeros(len(column), dtype=bool)
    if len(ids) == 1:
        return column == ids[0]
    return np.isin(column, np.asarray(ids, dtype=np.int32))


def district_codes(code: str, names: labels.Labels) -> list[str]:
    """A 시·군·구 and, for a city divided into 일반구 (수원시), its 구 (수원시 장안구 …)."""
    name = names.regions.get(code)
    if not name:
        return [code]
    return [code] + [
        c
        for c, n in names.regions.items()
        if len(c) == 5 and c != code and c[:2] == code[:2] and n.startswith(f"{name} ")
    ]


def month_number(value: str | None) -> int | None:
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", value or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        return None
    return (int(match.group(1)) - 1970) * 12 + int(match.group(2)) - 1


def days(value: date) -> int:
    return (value - _EPOCH).days


def _band_index(bands, code: str | None) -> int | None:
    return next((i for i, band in enumerate(bands) if band[0] == code), None)


def region_codes(params) -> list[str]:
    """The region codes a search combines ("11,26" → ["11", "26"])."""
    return [code.strip() for code in (params.region or "").split(",") if code.strip()]


def filters(version: Version, params, names: labels.Labels) -> dict[str, np.ndarray]:
    """One boolean mask per active filter (facet filters by facet name)."""
    cols, out = version.cols, {}
    none = np.zeros(version.size, dtype=bool)
    if params.region:
        mask = none.copy()
        for code in region_codes(params):
            if len(code) == 2:
                mask |= _code_mask(cols["sido"], CODES["sido"], [code])
            else:
                mask |= _code_mask(cols["region"], CODES["region"], district_codes(code, names))
        out["region"] = mask
    if params.provider:
        out["provider"] = intent.provider_mask(version, params.provider)
    if params.ncs:
        prefix = params.ncs.strip()
        if len(prefix) == 2:
            out["ncs"] = _code_mask(cols["ncs1"], CODES["ncs1"], [prefix])
        elif len(prefix) == 4:
            out["ncs"] = _code_mask(cols["ncs2"], CODES["ncs2"], [prefix])
        else:
            out["ncs"] = _code_mask(
                cols["ncs"], CODES["ncs"], [c for c in CODES["ncs"].codes if c and c.startswith(prefix)]
            )
    for name in ("programme", "ministry"):
        value = getattr(params, name)
        if value:
            out[name] = _code_mask(cols[name], CODES[name], [value.strip()])
    if params.mode:
        out["mode"] = cols["mode"] == MODE_KINDS.index(params.mode) if params.mode in MODE_KINDS else none
    if params.weekend:
        out["weekend"] = (
            cols["weekend"] == WEEKEND_KINDS.index(params.weekend) if params.weekend in WEEKEND_KINDS else none
        )
    if params.start_month:
        month = month_number(params.start_month)
        out["start_month"] = cols["month"] == month if month is not None else none
    if params.seats:
        out["seats"] = cols["seats"]
    for name, bands in (("fee_band", FEE_BANDS), ("self_pay_band", SELF_PAY_BANDS)):
        value = getattr(params, name)
        if value:
            index = _band_index(bands, value)
            out[name] = cols[name] == index if index is not None else none
    dates = np.ones(version.size, dtype=bool)
    if params.start_from:
        dates &= cols["start"] >= days(params.start_from)
    if params.start_to:
        dates &= cols["start"] <= days(params.start_to)
    if params.max_self_pay is not None:
        dates &= (cols["self_pay"] >= 0) & (cols["self_pay"] <= int(params.max_self_pay))
    if params.max_card_draw is not None:
        dates &= (cols["card_draw"] >= 0) & (cols["card_draw"] <= int(params.max_card_draw))
    if params.start_from or params.start_to or params.max_self_pay is not None or params.max_card_draw is not None:
        out["_plain"] = dates
    return out


def all_of(base: np.ndarray, masks) -> np.ndarray:
    out = base.copy()
    for mask in masks:
        out &= mask
    return out


def _counts(column: np.ndarray, mask: np.ndarray, size: int) -> np.ndarray:
    return np.bincount(column[mask], minlength=size)


def _code_values(
    counts: np.ndarray, interner: Interner, names: dict[str, str], selected: set[str], order: str = "code", label=None
) -> list[FacetValue]:
    values = []
    for index in np.flatnonzero(counts):
        code = interner.codes[index]
        if code:
            values.append(
                FacetValue(code, label(code) if label else names.get(code, code), int(counts[index]), code in selected)
            )
    for code in selected - {v.value for v in values}:  # a chosen value stays visible (to unselect) at 0
        values.append(FacetValue(code, label(code) if label else names.get(code, code), 0, True))
    if order == "count":
        values.sort(key=lambda v: (-v.count, v.label))
    else:
        values.sort(key=lambda v: v.value)
    return values


def facets(
    version: Version, params, base: np.ndarray, active: dict[str, np.ndarray], names: labels.Labels
) -> dict[str, list[FacetValue]]:
    cols = version.cols

    def others(*excluded: str) -> np.ndarray:
        return all_of(base, [mask for name, mask in active.items() if name not in excluded])

    out: dict[str, list[FacetValue]] = {}
    chosen_regions = region_codes(params)
    mask = others("region")
    out["region"] = _code_values(
        _counts(cols["sido"], mask, len(CODES["sido"])), CODES["sido"], names.regions, {c[:2] for c in chosen_regions}
    )
    region = chosen_regions[0] if len(chosen_regions) == 1 else ""  # 시·군·구 under one chosen 시·도
    if region:
        inside = mask & _code_mask(cols["sido"], CODES["sido"], [region[:2]])
        out["region_sub"] = [
            v
            for v in _code_values(
                _counts(cols["region"], inside, len(CODES["region"])),
                CODES["region"],
                names.regions,
                {region} if len(region) == 5 else set(),
            )
            if len(v.value) == 5
        ]
    for name in ("ministry", "programme"):
        value = (getattr(params, name) or "").strip()
        out[name] = _code_values(
            _counts(cols[name], others(name), len(CODES[name])),
            CODES[name],
            names.ministries if name == "ministry" else names.programmes,
            {value} if value else set(),
            order="count",
        )
    ncs = (params.ncs or "").strip()
    mask = others("ncs")
    out["ncs1"] = _code_values(
        _counts(cols["ncs1"], mask, len(CODES["ncs1"])), CODES["ncs1"], names.ncs, {ncs[:2]} if ncs else set()
    )
    out["ncs2"] = []
    if ncs:
        inside = mask & _code_mask(cols["ncs1"], CODES["ncs1"], [ncs[:2]])
        out["ncs2"] = _code_values(
            _counts(cols["ncs2"], inside, len(CODES["ncs2"])),
            CODES["ncs2"],
            names.ncs,
            {ncs[:4]} if len(ncs) >= 4 else set(),
        )
    for name, kinds, kind_labels in (("mode", MODE_KINDS, MODE_LABELS), ("weekend", WEEKEND_KINDS, WEEKEND_LABELS)):
        counts = _counts(cols[name], others(name), len(kinds))
        chosen = getattr(params, name)
        out[name] = [
            FacetValue(kind, kind_labels.get(kind, kind), int(counts[i]), kind == chosen)
            for i, kind in enumerate(kinds)
            if counts[i] or kind == chosen
        ]
    mask = others("start_month")
    months, counts = np.unique(cols["month"][mask], return_counts=True)
    chosen = month_number(params.start_month)
    month_values = {int(m): int(c) for m, c in zip(months, counts, strict=True)}
    if chosen is not None:
        month_values.setdefault(chosen, 0)
    out["start_month"] = [
        FacetValue(_month_text(m), _month_label(m), c, m == chosen) for m, c in sorted(month_values.items())
    ]
    seats = int(np.count_nonzero(others("seats") & cols["seats"]))
    out["seats"] = [FacetValue("1", "남은 자리 있음", seats, params.seats)] if seats or params.seats else []
    for name, bands in (("fee_band", FEE_BANDS), ("self_pay_band", SELF_PAY_BANDS)):
        counts = _counts(cols[name], others(name), len(bands))
        chosen = getattr(params, name)
        out[name] = [
            FacetValue(code, label, int(counts[i]), code == chosen)
            for i, (code, label, _low, _high) in enumerate(bands)
            if counts[i] or code == chosen
        ]
    return out


def _month_text(month: int) -> str:
    return str(_EPOCH_MONTH + np.timedelta64(month, "M"))


def _month_label(month: int) -> str:
    year, number = _month_text(month).split("-")
    return f"{year}년 {int(number)}월"
