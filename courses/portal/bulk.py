"""Bulk submission of runs from a CSV file: one run per row, submitted through the same rules and service as
the form, each good row submitted on its own, each bad row reported with its line and Korean messages.

The header names the fields as `courses.portal.fields.FIELDS` does (programme, title, …); `training_days`,
when given, lists dates separated by spaces. A row that breaks a rule, or duplicates another, does not stop
the others.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from courses import errors
from courses.portal import fields, services
from courses.portal.workflow import IllegalTransition
from hrdnet.extensions import db

MAX_ROWS = 500


@dataclass
class BulkReport:
    submitted: list[int] = field(default_factory=list)  # submission ids
    problems: list[tuple[int, dict[str, list[str]]]] = field(default_factory=list)  # (line, field → messages)


def _typed(row: dict) -> tuple[dict, dict[str, list[str]]]:
    values, problems = {}, {}
    for name in fields.FIELDS:
        raw = (row.get(name) or "").strip()
        try:
            if name in fields.DATE_FIELDS:
                values[name] = date.fromisoformat(raw) if raw else None
            elif name in fields.INT_FIELDS:
                values[name] = int(raw.replace(",", "")) if raw else None
            elif name == "training_days":
                values[name] = [date.fromisoformat(d) for d in raw.split()]
            else:
                values[name] = raw or None
        except ValueError:
            problems[name] = ["날짜는 2026-03-02, 숫자는 1200000 처럼 적어 주세요."]
    return values, problems


def submit_csv(provider_id: int, text: str, *, actor: str) -> BulkReport:
    report = BulkReport()
    reader = csv.DictReader(io.StringIO(text))
    unknown = set(reader.fieldnames or []) - set(fields.FIELDS)
    if not reader.fieldnames or unknown or "title" not in reader.fieldnames:
        report.problems.append((1, {"header": [f"첫 줄은 항목 이름이어야 합니다: {', '.join(fields.FIELDS)}"]}))
        return report
    for line, row in enumerate(reader, start=2):
        if line > MAX_ROWS + 1:
            report.problems.append((line, {"file": [f"한 번에 {MAX_ROWS}줄까지 올릴 수 있습니다."]}))
            break
        values, problems = _typed(row)
        if problems:
            report.problems.append((line, problems))
            continue
        try:
            with db.session.begin_nested():
                submission = services.save(provider_id, values, actor=actor, submit=True)
            report.submitted.append(submission.id)
        except errors.SubmissionInvalid as invalid:
            report.problems.append((line, invalid.details))
        except (errors.DuplicateSubmission, IllegalTransition) as refused:
            report.problems.append((line, {"title": [refused.message]}))
    return report
