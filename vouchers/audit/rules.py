"""Named risk rules, each returning findings that say why: the rule, the numbers it compared, the evidence rows.

Thresholds are data (vouchers/data/audit_rules.toml, or $AUDIT_RULES_FILE). `run()` evaluates every rule over
the whole database and keeps `audit_flags` in step: a new finding opens a flag; a known one gets its numbers
and evidence refreshed and keeps its review. It runs from `hrdnet audit flags` and after every settlement
(the worker's settlement job and `hrdnet attendance settle`). docs/audit.md explains each rule.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from courses.models import Course, Programme, Provider, Run
from hrdnet import audit
from hrdnet.auth.models import User
from hrdnet.errors import DomainError
from hrdnet.extensions import db
from hrdnet.timeutil import KST, utcnow
from vouchers.audit.models import Flag, FlagStatus
from vouchers.audit.scope import Scope
from vouchers.enrolments.models import Enrolment, EnrolmentStatus, Settlement
from vouchers.ledger.models import Transfer, TransferKind

ENV_VAR = "AUDIT_RULES_FILE"
SHIPPED = Path(__file__).resolve().parent.parent / "data" / "audit_rules.toml"
EVIDENCE_SHOWN = 200  # ids kept per flag; the numbers carry the full count
S = EnrolmentStatus
PAID_STATUSES = (S.CONFIRMED, S.IN_TRAINING, S.COMPLETED, S.INCOMPLETE, S.DROPPED)

RULE_LABELS = {
    "new_provider_volume": "신규 인증 기관의 급격한 수강 신청",
    "run_burst": "한 회차에 짧은 기간 몰린 수강 신청",
    "overlapping_runs": "훈련 기간이 겹치는 회차 동시 수강",
    "attendance_bunching": "80% 바로 위에 몰린 출석률",
    "refund_after_settlement": "기관 지급 후 환급·중도탈락",
    "repeated_dropouts": "한 훈련생의 반복 중도탈락",
    "shared_contacts": "한 기관 훈련생들의 같은 연락처",
}


class AuditRulesError(ValueError):
    pass


class FlagNotFound(DomainError):
    status, code, message = 404, "flag_not_found", "위험 신호를 찾을 수 없거나 소관이 아닙니다."


@dataclass
class Finding:
    rule: str
    subject_type: str
    subject_id: int
    subject_label: str
    numbers: dict
    enrolments: list[int]
    explanation: str
    transfers: list[int] = field(default_factory=list)


def thresholds(path: str | os.PathLike | None = None) -> dict[str, dict[str, float]]:
    """The rules' thresholds; every rule must be present with exactly the keys the shipped file has."""
    chosen = Path(path or os.environ.get(ENV_VAR) or SHIPPED)
    loaded = tomllib.loads(chosen.read_text(encoding="utf-8"))
    shipped = tomllib.loads(SHIPPED.read_text(encoding="utf-8"))
    for rule, keys in shipped.items():
        given = loaded.get(rule)
        if not isinstance(given, dict) or set(given) != set(keys):
            raise AuditRulesError(f"{chosen}: [{rule}] must set exactly {sorted(keys)}")
        for key, value in given.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise AuditRulesError(f"{chosen}: [{rule}] {key} must be a number ≥ 0")
    unknown = set(loaded) - set(shipped)
    if unknown:
        raise AuditRulesError(f"{chosen}: unknown rules {sorted(unknown)}")
    return loaded


# -- the seam to the provider portal ------------------------------------------------------------------------------


# -- the rules ------------------------------------------------------------------------------------------------------


def _enrolments_by_provider() -> dict[int, list[tuple[int, int, datetime, int]]]:
    """provider id → [(enrolment id, person id, created at, run id)] of enrolments that were held or paid."""
    out = defaultdict(list)
    for e_id, person_id, created_at, run_id, provider_id in db.session.execute(
        select(Enrolment.id, Enrolment.person_id, Enrolment.created_at, Enrolment.run_id, Course.provider_id)
        .join(Run, Run.id == Enrolment.run_id)
        .join(Course, Course.id == Run.course_id)
        .where(Enrolment.status.not_in([S.APPLIED, S.REJECTED]))
        .order_by(Enrolment.id)
    ):
        out[provider_id].append((e_id, person_id, created_at, run_id))
    return out


def new_provider_volume(limits: dict) -> list[Finding]:
    days, least = limits["days"], limits["min_enrolments"]
    findings = []
    for provider_id, rows in _enrolments_by_provider().items():
        provider = db.session.get(Provider, provider_id)
        verified = provider.verified_at  # when an admin verified it (None: never verified)
        if verified is None:
            continue
        until = verified + timedelta(days=days)
        early = [e_id for e_id, _, created, _ in rows if verified <= created <= until]
        if len(early) >= least:
            findings.append(
                Finding(
                    "new_provider_volume",
                    "provider",
                    provider_id,
                    provider.name,
                    {
                        "verified_on": verified.astimezone(KST).date().isoformat(),
                        "days": days,
                        "enrolments": len(early),
                        "threshold": least,
                    },
                    early,
                    f"{verified.astimezone(KST):%Y-%m-%d}에 인증된 기관에 인증 후 {days:g}일 안에 수강 신청 "
                    f"{len(early)}건이 들어왔습니다 (기준 {least:g}건 이상).",
                )
            )
    return findings


def run_burst(limits: dict) -> list[Finding]:
    window, least = timedelta(hours=limits["hours"]), limits["min_enrolments"]
    by_run = defaultdict(list)
    for rows in _enrolments_by_provider().values():
        for e_id, _, created, run_id in rows:
            by_run[run_id].append((created, e_id))
    findings = []
    for run_id, rows in by_run.items():
        if len(rows) < least:
            continue
        rows.sort()
        best, best_start, start = 0, 0, 0
        for end in range(len(rows)):
            while rows[end][0] - rows[start][0] > window:
                start += 1
            if end - start + 1 > best:
                best, best_start = end - start + 1, start
        if best >= least:
            chosen = rows[best_start : best_start + best]
            run = db.session.get(Run, run_id)
            findings.append(
                Finding(
                    "run_burst",
                    "run",
                    run_id,
                    f"{run.course.title} ({run.run_number}회차)",
                    {
                        "hours": limits["hours"],
                        "enrolments": best,
                        "threshold": least,
                        "from": chosen[0][0].astimezone(KST).isoformat(timespec="minutes"),
                        "to": chosen[-1][0].astimezone(KST).isoformat(timespec="minutes"),
                    },
                    [e_id for _, e_id in chosen],
                    f"{chosen[0][0].astimezone(KST):%Y-%m-%d %H:%M}부터 {limits['hours']:g}시간 안에 이 회차에 수강 신청 "
                    f"{best}건이 몰렸습니다 (기준 {least:g}건 이상).",
                )
            )
    return findings


def overlapping_runs(limits: dict) -> list[Finding]:
    least = limits["min_days"]
    by_person = defaultdict(list)
    for e_id, person_id, start, end in db.session.execute(
        select(Enrolment.id, Enrolment.person_id, Run.start_date, Run.end_date)
        .join(Run, Run.id == Enrolment.run_id)
        .where(Enrolment.status.in_(PAID_STATUSES))
    ):
        by_person[person_id].append((start, end, e_id))
    findings = []
    for person_id, rows in by_person.items():
        rows.sort()
        pairs = []
        for i, (_start, end, e_id) in enumerate(rows):
            for other_start, other_end, other_id in rows[i + 1 :]:
                if other_start > end:
                    break
                overlap = (min(end, other_end) - other_start).days + 1
                if overlap >= least:
                    pairs.append((e_id, other_id, overlap))
        if pairs:
            ids = sorted({e for a, b, _ in pairs for e in (a, b)})
            longest = max(days for _, _, days in pairs)
            findings.append(
                Finding(
                    "overlapping_runs",
                    "person",
                    person_id,
                    f"훈련생 #{person_id}",
                    {"pairs": len(pairs), "longest_overlap_days": longest, "threshold_days": least},
                    ids,
                    f"한 훈련생이 훈련 기간이 겹치는 회차 {len(ids)}개에 등록했습니다 "
                    f"(겹치는 쌍 {len(pairs)}개, 가장 긴 겹침 {longest}일).",
                )
            )
    return findings


def attendance_bunching(limits: dict) -> list[Finding]:
    low, high = limits["from_rate"], limits["to_rate"]
    by_provider = defaultdict(list)
    for e_id, days, absences, provider_id in db.session.execute(
        select(Enrolment.id, Settlement.training_days, Settlement.absences, Course.provider_id)
        .join(Enrolment, Enrolment.id == Settlement.enrolment_id)
        .join(Run, Run.id == Enrolment.run_id)
        .join(Course, Course.id == Run.course_id)
        .where(Settlement.period >= 1, Settlement.training_days > 0)
    ):
        by_provider[provider_id].append((100.0 * (days - absences) / days, e_id))
    findings = []
    for provider_id, periods in by_provider.items():
        bunched = [e_id for rate, e_id in periods if low <= rate < high]
        share = len(bunched) / len(periods)
        if len(bunched) >= limits["min_periods"] and share >= limits["min_share"]:
            provider = db.session.get(Provider, provider_id)
            findings.append(
                Finding(
                    "attendance_bunching",
                    "provider",
                    provider_id,
                    provider.name,
                    {
                        "bunched_periods": len(bunched),
                        "periods": len(periods),
                        "share": round(share, 3),
                        "band": [low, high],
                        "threshold_periods": limits["min_periods"],
                        "threshold_share": limits["min_share"],
                    },
                    sorted(set(bunched)),
                    f"정산된 단위기간 {len(periods)}개 중 {len(bunched)}개({share:.0%})의 출석률이 "
                    f"{low:g}% 이상 {high:g}% 미만에 몰려 있습니다 (기준 {limits['min_periods']:g}개 이상, "
                    f"{limits['min_share']:.0%} 이상).",
                )
            )
    return findings


_KEY = re.compile(r"^enrolment:(\d+):")


def refund_after_settlement(limits: dict) -> list[Finding]:
    settled: dict[int, list] = defaultdict(list)  # enrolment → [(paid at, transfer id, amount)]
    for e_id, amount, transfer_id, created in db.session.execute(
        select(Settlement.enrolment_id, Settlement.amount, Settlement.transfer_id, Transfer.created_at)
        .join(Transfer, Transfer.id == Settlement.transfer_id)
        .where(Settlement.period >= 1, Settlement.amount > 0)
    ):
        settled[e_id].append((created, transfer_id, amount))
    refunds: dict[int, list] = defaultdict(list)
    for transfer_id, key, total, created in db.session.execute(
        select(Transfer.id, Transfer.key, Transfer.total, Transfer.created_at).where(
            Transfer.kind == TransferKind.REFUND, Transfer.key.startswith("enrolment:")
        )
    ):
        refunds[int(_KEY.match(key).group(1))].append((created, transfer_id, total))
    statuses = (
        dict(db.session.execute(select(Enrolment.id, Enrolment.status).where(Enrolment.id.in_(list(settled)))).all())
        if settled
        else {}
    )
    findings = []
    for e_id, paid in settled.items():
        if len(paid) < limits["min_periods"]:
            continue
        first_paid = min(created for created, _, _ in paid)
        later = [r for r in refunds.get(e_id, []) if r[0] >= first_paid]
        dropped = statuses.get(e_id) == S.DROPPED
        if not later and not dropped:
            continue
        refunded = sum(total for _, _, total in later)
        findings.append(
            Finding(
                "refund_after_settlement",
                "enrolment",
                e_id,
                f"수강 신청 {e_id}",
                {
                    "settled_periods": len(paid),
                    "settled": sum(a for _, _, a in paid),
                    "refunded_after": refunded,
                    "dropped": dropped,
                },
                [e_id],
                f"단위기간 {len(paid)}개의 훈련비 {sum(a for _, _, a in paid):,}원이 기관에 지급된 뒤 "
                + (f"{refunded:,}원이 환급되었고" if later else "환급 없이")
                + (" 중도탈락했습니다." if dropped else " 취소되었습니다."),
                transfers=[t for _, t, _ in paid] + [t for _, t, _ in later],
            )
        )
    return findings


def repeated_dropouts(limits: dict) -> list[Finding]:
    by_person = defaultdict(list)
    for e_id, person_id in db.session.execute(
        select(Enrolment.id, Enrolment.person_id).where(Enrolment.status == S.DROPPED).order_by(Enrolment.id)
    ):
        by_person[person_id].append(e_id)
    return [
        Finding(
            "repeated_dropouts",
            "person",
            person_id,
            f"훈련생 #{person_id}",
            {"dropouts": len(ids), "threshold": limits["min_dropouts"]},
            ids,
            f"한 훈련생이 {len(ids)}개 회차에서 중도탈락했습니다 (기준 {limits['min_dropouts']:g}회 이상).",
        )
        for person_id, ids in by_person.items()
        if len(ids) >= limits["min_dropouts"]
    ]


def _contact_keys(user: User) -> list[tuple[str, str]]:
    """Normalised contact details: phone digits, and the e-mail mailbox without +tags and Gmail dots."""
    keys = []
    digits = "".join(ch for ch in user.phone or "" if ch.isdigit())
    if len(digits) >= 8:
        keys.append(("phone", digits))
    local, _, domain = user.email.lower().partition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.replace(".", ""), "gmail.com"
    keys.append(("email", f"{local}@{domain}"))
    return keys


def shared_contacts(limits: dict) -> list[Finding]:
    findings = []
    for provider_id, rows in _enrolments_by_provider().items():
        enrolment_of_person = {}
        for e_id, person_id, _, _ in rows:
            enrolment_of_person.setdefault(person_id, []).append(e_id)
        user_ids = db.session.execute(
            select(Enrolment.person_id, Enrolment.user_id).where(Enrolment.id.in_([r[0] for r in rows]))
        ).all()
        users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_({u for _, u in user_ids})))}
        people_by_contact = defaultdict(set)
        for person_id, user_id in user_ids:
            for key in _contact_keys(users[user_id]):
                people_by_contact[key].add(person_id)
        shared = {k: p for k, p in people_by_contact.items() if len(p) >= limits["min_learners"]}
        if not shared:
            continue
        people = set().union(*shared.values())
        provider = db.session.get(Provider, provider_id)
        findings.append(
            Finding(
                "shared_contacts",
                "provider",
                provider_id,
                provider.name,
                {
                    "shared_contacts": len(shared),
                    "learners": len(people),
                    "kinds": sorted({k for k, _ in shared}),
                    "largest_group": max(len(p) for p in shared.values()),
                    "threshold": limits["min_learners"],
                    # a one-way fingerprint of each shared value: the same value gives the same mark, never the value
                    "marks": sorted(hashlib.sha256(v.encode()).hexdigest()[:8] for _, v in shared),
                },
                sorted(e for p in people for e in enrolment_of_person[p]),
                f"이 기관의 서로 다른 훈련생 {len(people)}명이 같은 연락처("
                + ", ".join({"phone": "휴대전화", "email": "이메일"}[k] for k in sorted({k for k, _ in shared}))
                + f") {len(shared)}개를 함께 씁니다 (기준 한 연락처에 {limits['min_learners']:g}명 이상).",
            )
        )
    return findings


RULES = {
    "new_provider_volume": new_provider_volume,
    "run_burst": run_burst,
    "overlapping_runs": overlapping_runs,
    "attendance_bunching": attendance_bunching,
    "refund_after_settlement": refund_after_settlement,
    "repeated_dropouts": repeated_dropouts,
    "shared_contacts": shared_contacts,
}


# -- flags --------------------------------------------------------------------------------------------------------


def evaluate(limits: dict | None = None) -> list[Finding]:
    limits = limits or thresholds()
    return [finding for name, rule in RULES.items() for finding in rule(limits[name])]


def run(*, limits: dict | None = None, now: datetime | None = None) -> dict[str, int]:
    """Evaluate every rule and keep `audit_flags` in step (inside the caller's unit of work). Returns the
    number of findings per rule."""
    now = now or utcnow()
    counts = dict.fromkeys(RULES, 0)
    findings = evaluate(limits)
    ministries = _ministries_of({e for f in findings for e in f.enrolments})
    existing = {(f.rule, f.subject_type, f.subject_id): f for f in db.session.scalars(select(Flag))}
    for finding in findings:
        counts[finding.rule] += 1
        key = (finding.rule, finding.subject_type, finding.subject_id)
        flag = existing.get(key)
        if flag is None:
            flag = Flag(
                rule=finding.rule,
                subject_type=finding.subject_type,
                subject_id=finding.subject_id,
                status=FlagStatus.OPEN,
                first_seen=now,
            )
            db.session.add(flag)
        ids = sorted({ministries.get(e) for e in finding.enrolments} - {None})
        flag.subject_label = finding.subject_label[:300]
        flag.ministry_ids = " " + " ".join(str(i) for i in ids) + " " if ids else ""
        flag.numbers = audit.canonical_json(finding.numbers)
        flag.evidence = audit.canonical_json(
            {"enrolments": finding.enrolments[:EVIDENCE_SHOWN], "transfers": finding.transfers[:EVIDENCE_SHOWN]}
        )
        flag.explanation = finding.explanation
        flag.last_seen = now
    db.session.flush()
    return counts


def _ministries_of(enrolment_ids: set[int]) -> dict[int, int]:
    out, ids = {}, list(enrolment_ids)
    for start in range(0, len(ids), 900):
        out.update(
            db.session.execute(
                select(Enrolment.id, Programme.ministry_id)
                .join(Run, Run.id == Enrolment.run_id)
                .join(Programme, Programme.id == Run.programme_id)
                .where(Enrolment.id.in_(ids[start : start + 900]))
            ).all()
        )
    return out


def flags_query(scope: Scope, *, status: str | None = None, rule: str | None = None):
    """The reader's flags, open ones first, newest first (a query, for pages to paginate)."""
    query = select(Flag).order_by(Flag.status, Flag.id.desc())
    if scope.ministry_id is not None:
        query = query.where(Flag.ministry_ids.contains(f" {scope.ministry_id} "))
    if status:
        query = query.where(Flag.status == status)
    if rule:
        query = query.where(Flag.rule == rule)
    return query


def flags(scope: Scope, *, status: str | None = None, rule: str | None = None) -> list[Flag]:
    return list(db.session.scalars(flags_query(scope, status=status, rule=rule)))


def count(scope: Scope, *, status: str | None = None) -> int:
    query = flags_query(scope, status=status).order_by(None).with_only_columns(func.count(Flag.id))
    return db.session.scalar(query)


def flag_in_scope(flag_id: int, scope: Scope) -> Flag:
    flag = db.session.get(Flag, flag_id)
    if flag is None or not (scope.everything or f" {scope.ministry_id} " in flag.ministry_ids):
        raise FlagNotFound()
    return flag


def evidence_in_scope(flag: Flag, scope: Scope) -> dict[str, list[int]]:
    """The flag's evidence rows the reader may open (another ministry's enrolments are left out)."""
    evidence = json.loads(flag.evidence)
    enrolments = evidence.get("enrolments", [])
    if not scope.everything:
        ministries = _ministries_of(set(enrolments))
        enrolments = [e for e in enrolments if ministries.get(e) == scope.ministry_id]
    return {"enrolments": enrolments, "transfers": evidence.get("transfers", [])}


def review(flag_id: int, note: str, scope: Scope, *, actor: str, now: datetime | None = None) -> Flag:
    """Mark a flag reviewed with the reviewer's note; the audit log keeps who, when and a digest of the note."""
    flag = flag_in_scope(flag_id, scope)
    flag.status, flag.note, flag.reviewed_by, flag.reviewed_at = FlagStatus.REVIEWED, note, actor, now or utcnow()
    db.session.flush()
    audit.append(
        "audit.flag_reviewed",
        actor=actor,
        subject_type="flag",
        subject_id=flag.id,
        data={"rule": flag.rule, "note_sha256": hashlib.sha256(note.encode()).hexdigest(), "note_chars": len(note)},
    )
    return flag
