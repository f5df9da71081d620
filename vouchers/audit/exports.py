"""Every audit table to CSV or XLSX, streamed: rows are produced one batch at a time and never held together.

Each file starts with what it is: the table, the filters it was made with and the time it was exported (KST),
then a blank row, the column headings and the rows. Text that a spreadsheet would run as a formula (a cell
starting with =, +, -, @, a tab or a carriage return) gets a leading apostrophe, so it shows as the text it
is (OWASP "CSV injection"); amounts stay numbers. Exporting is audit-logged by the caller (`log_export`),
with the reader's pseudonym, the table, the format and the filters — never the rows.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from courses.models import Course, Run
from hrdnet import audit
from hrdnet.auth.models import User
from hrdnet.extensions import db
from hrdnet.privacy import mask_name
from hrdnet.timeutil import KST
from vouchers.audit import spend
from vouchers.audit.drill import attendance_rates
from vouchers.audit.models import MEASURES
from vouchers.audit.spend import Filters
from vouchers.enrolments.models import Enrolment
from vouchers.ledger.models import Account, Entry

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MEASURE_LABELS = {
    "card_draw": "카드 사용(원)",
    "self_pay": "자비부담(원)",
    "funded": "예산 지원(원)",
    "refunds": "환급(원)",
    "penalties": "제재 차감(원)",
    "deducted": "훈련비 차감(원)",
    "settled": "기관 지급(원)",
    "held": "결제 대기(원)",
    "entries": "원장 항목 수",
}
CHUNK = 64 * 1024


@dataclass
class Table:
    name: str
    title: str
    headings: list[str]
    rows: Iterable[list]


def neutralise(value):
    """A cell as a spreadsheet should show it: text that would run as a formula gets a leading apostrophe;
    a time is written in KST."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    if isinstance(value, datetime):
        return value.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S")
    return value


def xlsx_cell(value):
    """As neutralise(), but a time stays a date-time cell (KST, as spreadsheets have no time zones): a number in
    the file, where a text would join the workbook's table of distinct strings that openpyxl keeps in memory."""
    if isinstance(value, datetime):
        return value.astimezone(KST).replace(tzinfo=None)
    return neutralise(value)


def preamble(table: Table, filters: dict, exported_at: datetime) -> list[list]:
    described = ", ".join(f"{k}={v}" for k, v in sorted(filters.items())) or "없음(소관 전체)"
    return [
        ["표", table.title],
        ["조건", described],
        ["내보낸 시각(KST)", exported_at.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S")],
        [],
    ]


def csv_stream(table: Table, filters: dict, exported_at: datetime) -> Iterator[bytes]:
    """UTF-8 with a byte-order mark (so spreadsheets read the Korean right), yielded in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    for row in [*preamble(table, filters, exported_at), table.headings]:
        writer.writerow([neutralise(v) for v in row])
    for row in table.rows:
        writer.writerow([neutralise(v) for v in row])
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def xlsx_file(table: Table, filters: dict, exported_at: datetime) -> str:
    """Write the table into a temporary .xlsx with openpyxl's write-only workbook (rows go straight to disk);
    returns its path. The caller streams it and removes it."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(table.name[:31])
    for row in [*preamble(table, filters, exported_at), table.headings]:
        sheet.append([xlsx_cell(v) for v in row])
    for row in table.rows:
        sheet.append([xlsx_cell(v) for v in row])
    handle, path = tempfile.mkstemp(suffix=".xlsx", prefix="hrdnet-export-")
    os.close(handle)
    workbook.save(path)
    return path


def file_chunks(path: str) -> Iterator[bytes]:
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def log_export(table: str, file_format: str, filters: dict, *, actor: str) -> None:
    audit.append(
        "audit.export",
        actor=actor,
        subject_type="export",
        subject_id=table,
        data={"format": file_format, "filters": filters},
    )


# -- the tables ---------------------------------------------------------------------------------------------------


def spend_table(group_by: str, filters: Filters) -> Table:
    lines = spend.lines(group_by, filters)
    return Table(
        f"spend-{group_by}",
        f"지출 ({group_by})",
        ["키", "이름", *[MEASURE_LABELS[m] for m in MEASURES]],
        ([line.key, line.label, *[line.amounts[m] for m in MEASURES]] for line in lines),
    )


def runs_table(filters: Filters) -> Table:
    return spend_table("run", filters)


def enrolments_table(run_id: int) -> Table:
    """The run's enrolments, learners masked (an export never unmasks)."""

    def rows():
        last = 0
        while True:
            batch = db.session.execute(
                select(Enrolment, User.name)
                .join(User, User.id == Enrolment.user_id)
                .where(Enrolment.run_id == run_id, Enrolment.id > last)
                .order_by(Enrolment.id)
                .limit(1000)
            ).all()
            if not batch:
                return
            rates = attendance_rates([e.id for e, _ in batch])
            for e, name in batch:
                yield [
                    e.id,
                    mask_name(name),
                    e.status,
                    e.fee,
                    e.card_draw,
                    e.self_pay,
                    e.card_returned,
                    e.self_pay_refunded,
                    e.penalty,
                    e.deducted,
                    rates.get(e.id),
                    e.created_at,
                ]
            last = batch[-1][0].id

    return Table(
        "enrolments",
        f"회차 {run_id}의 수강 신청",
        [
            "신청 번호",
            "훈련생(가림)",
            "상태",
            "훈련비",
            "카드 사용",
            "자비부담",
            "카드로 반환",
            "자비부담 환불",
            "제재 차감",
            "훈련비 차감",
            "출석률(%)",
            "신청 시각",
        ],
        rows(),
    )


def entries_table(filters: Filters) -> Table:
    """Every ledger entry of the enrolments in scope and filters, in entry order: one full pass over the
    ledger in batches (spend.attribute's way of finding each transfer's run)."""

    def rows():
        dims_cache: dict[int, spend.Dims] = {}
        for transfers in spend.transfer_batches(0, None):
            owners = spend.owners(transfers)
            missing = {run_id for _, run_id in owners.values() if run_id not in dims_cache}
            dims_cache.update(spend.run_dims(missing))
            wanted = {
                t.id: (*owners[t.id], t)
                for t in transfers
                if t.id in owners
                and filters.matches(owners[t.id][1], spend.month_of(t.created_at), dims_cache[owners[t.id][1]])
            }
            if not wanted:
                continue
            for entry_id, transfer_id, kind, owner_type, owner_id, side, amount in db.session.execute(
                select(
                    Entry.id,
                    Entry.transfer_id,
                    Account.kind,
                    Account.owner_type,
                    Account.owner_id,
                    Entry.side,
                    Entry.amount,
                )
                .join(Account, Account.id == Entry.account_id)
                .where(Entry.transfer_id.between(transfers[0].id, transfers[-1].id))
                .order_by(Entry.id)
            ):
                if transfer_id in wanted:
                    enrolment_id, run_id, t = wanted[transfer_id]
                    yield [
                        entry_id,
                        transfer_id,
                        t.created_at,
                        t.kind,
                        enrolment_id,  # a number, not the transfer key: XLSX keeps every distinct text in memory
                        run_id,
                        kind,
                        f"{owner_type} {owner_id}",
                        side,
                        amount,
                    ]

    return Table(
        "entries",
        "원장 항목",
        ["항목", "이체", "시각(KST)", "이체 종류", "수강 신청", "회차", "계정 종류", "계정 소유", "차·대", "금액"],
        rows(),
    )


def run_titles(run_ids: Iterable[int]) -> dict[int, str]:
    return {
        row.id: f"{row.title} ({row.run_number}회차)"
        for row in db.session.execute(
            select(Run.id, Course.title, Run.run_number)
            .join(Course, Course.id == Run.course_id)
            .where(Run.id.in_(list(run_ids)))
        )
    }


def flags_table(flags: list) -> Table:
    return Table(
        "flags",
        "위험 신호",
        [
            "번호",
            "규칙",
            "대상 종류",
            "대상",
            "대상 이름",
            "설명",
            "수치",
            "근거",
            "상태",
            "검토 메모",
            "처음 발견",
            "마지막 발견",
        ],
        (
            [
                f.id,
                f.rule,
                f.subject_type,
                f.subject_id,
                f.subject_label,
                f.explanation,
                f.numbers,
                f.evidence,
                f.status,
                f.note or "",
                f.first_seen,
                f.last_seen,
            ]
            for f in flags
        ),
    )


def outcomes_table(rows: list) -> Table:
    return Table(
        "outcomes",
        "성과 (10명 미만은 가림)",
        ["키", "이름", "지출(원)", "종료 인원", "수료율(%)", "중도탈락률(%)", "3개월 취업률(%)", "6개월 취업률(%)"],
        (
            [r.key, r.label, r.spent, r.learners, r.completion_rate, r.dropout_rate, r.employment_3m, r.employment_6m]
            for r in rows
        ),
    )
