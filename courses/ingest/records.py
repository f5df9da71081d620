"""The one shape every feed format is parsed into, and the shape of a rejected record.

Parsers (hrdnet_xml, generic_csv, generic_json) turn a file into a stream of FeedRecord and Rejection,
validating each record alone; the importer (importer.py) then upserts the records. Amounts are integer won,
percentages floats 0–100, codes normalised (NCS 8 digits, region codes mapped to today's codes).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class FeedRecord:
    position: str  # where it was in the file: "line 12" or "record 3 (line 40)"
    course_id: str  # the source's course id (HRD-Net trprId)
    run_number: int  # trprDegr
    title: str
    provider_name: str
    provider_id: str  # the source's provider id (trainstCstId)
    start_date: date
    end_date: date
    fee: int  # courseMan
    capacity: int  # yardMan
    programme_code: str | None = None  # trainTargetCd / crseTracseSe, e.g. C0104
    source_enrolled: int = 0  # regCourseMan
    actual_cost: int | None = None  # realMan
    support_amount: int | None = None  # perTrco (approved government support)
    general_self_pay: int | None = None  # tgcrGnrlTrneOwepAllt
    ncs_code: str | None = None
    region_code: str | None = None
    address: str | None = None
    phone: str | None = None
    provider_grade: str | None = None  # HRD-Net grade: the provider's accreditation (3년인증, 1년인증 …)
    business_number: str | None = None
    contents: str | None = None
    certificate: str | None = None
    keywords: str | None = None
    url: str | None = None
    weekend: str = "unknown"  # weekday | weekend | mixed | unknown
    mode: str = "unknown"  # classroom | remote | blended | unknown
    hours: int | None = None  # trtm
    days: int | None = None  # trDcnt
    satisfaction: float | None = None  # 0–100 (stdgScor on a 10,000 scale is divided by 100)
    employment_rate_3m: float | None = None
    employment_rate_6m: float | None = None
    employment_count_3m: int | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        """The source's key for this run: course id and run number."""
        return f"{self.course_id}:{self.run_number}"

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Rejection:
    position: str
    key: str | None  # the record's key when it could be read, else None
    reason: str  # Korean, for the person who fixes the feed

    def as_dict(self) -> dict:
        return {"position": self.position, "key": self.key, "reason": self.reason}


class FeedUnreadable(Exception):
    """The file as a whole cannot be read (not XML, truncated before any record, wrong encoding …)."""
