"""/audit: the ministry audit console (auditors see their ministry's programmes, admins every ministry).

Views are thin: read the filters, call vouchers.audit, render. Every GET only reads; the two writes (unmasking a
learner with a reason, marking a flag reviewed) and exports (each one audit-logged) are POSTs with CSRF.
"""

from __future__ import annotations

import json
import re

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user

from courses.models import Ministry, Programme, Region
from hrdnet import audit
from hrdnet.access import Role, roles
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.timeutil import KST, utcnow
from vouchers.audit import charts, drill, exports, outcomes, rules, spend
from vouchers.audit.scope import Scope
from vouchers.audit.spend import Filters
from vouchers.web.audit_forms import ExportForm, ReviewForm, UnmaskForm

bp = Blueprint("audit", __name__, url_prefix="/audit")

AUDIT_ROLES = (Role.AUDITOR, Role.ADMIN)
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
GROUP_LABELS = {
    "programme": "사업별",
    "provider": "훈련기관별",
    "region": "지역(시·도)별",
    "month": "월별",
    "run": "회차별",
}
PER_PAGE = 50


def scope() -> Scope:
    return Scope.of(current_user)


def filters_from(args) -> Filters:
    """The reader's scope plus the filters in the query string (unknown or malformed values are ignored)."""
    reader = scope()
    ministry_id = reader.ministry_id
    if reader.everything:
        ministry_id = args.get("ministry", type=int)
    months = {k: args.get(k) for k in ("month_from", "month_to")}
    return Filters(
        ministry_id=ministry_id,
        programme_id=args.get("programme", type=int),
        provider_id=args.get("provider", type=int),
        region=args.get("region") if re.fullmatch(r"\d{2}", args.get("region", "")) else None,
        month_from=months["month_from"] if _MONTH.match(months["month_from"] or "") else None,
        month_to=months["month_to"] if _MONTH.match(months["month_to"] or "") else None,
        run_id=args.get("run", type=int),
    )


def query_of(filters: Filters) -> dict:
    """Filters back into query-string parameters (for links and the export form)."""
    names = {"programme_id": "programme", "provider_id": "provider", "run_id": "run", "ministry_id": "ministry"}
    out = {names.get(k, k): v for k, v in filters.as_dict().items()}
    if not scope().everything:
        out.pop("ministry", None)
    return out


DASHBOARD_ROWS = 50  # rows per table on the dashboard; the runs page and the exports have them all


def dashboard_context(filters: Filters) -> dict:
    found = spend.grouped_lines(("programme", "provider", "region", "month"), filters)
    groups = {}
    for group_by, lines in found.items():
        shown = lines if group_by == "month" else lines[:DASHBOARD_ROWS]
        rows = [(line.label, line.amounts) for line in shown]
        groups[group_by] = {
            "lines": shown,
            "count": len(lines),
            "total": spend.total_of(lines),
            "chart": charts.stacked_bars(f"chart-{group_by}", f"{GROUP_LABELS[group_by]} 훈련비 지출", rows),
            "links": {line.key: query_of(spend.with_group(filters, group_by, line.key)) for line in shown},
        }
    return {
        "filters": filters,
        "query": query_of(filters),
        "totals": spend.total_of(found["month"]),
        "groups": groups,
        "group_labels": GROUP_LABELS,
        "dashboard_rows": DASHBOARD_ROWS,
        "choices": _choices(),
    }


@bp.get("/spend")
@roles(*AUDIT_ROLES)
def spend_dashboard():
    return render_template("audit/spend.html", **dashboard_context(filters_from(request.args)))


@bp.get("/runs")
@roles(*AUDIT_ROLES)
def runs():
    filters = filters_from(request.args)
    lines = spend.lines("run", filters)
    page = max(request.args.get("page", 1, type=int), 1)
    shown = lines[(page - 1) * PER_PAGE : page * PER_PAGE]
    return render_template(
        "audit/runs.html",
        lines=shown,
        count=len(lines),
        page=page,
        pages=max((len(lines) + PER_PAGE - 1) // PER_PAGE, 1),
        totals=spend.totals(filters),
        query=query_of(filters),
    )


@bp.get("/runs/<int:run_id>")
@roles(*AUDIT_ROLES)
def run(run_id: int):
    found_run = drill.run_in_scope(run_id, scope())
    filters = Filters(ministry_id=scope().ministry_id, run_id=run_id)
    found, rows = drill.enrolments_of_run(
        run_id, page=request.args.get("page", 1, type=int), per_page=PER_PAGE, status=request.args.get("status")
    )
    return render_template(
        "audit/run.html",
        run=found_run,
        header=drill.run_header(found_run),
        months=spend.lines("month", filters),
        totals=spend.totals(filters),
        found=found,
        rows=rows,
    )


@bp.get("/enrolments/<int:enrolment_id>")
@roles(*AUDIT_ROLES)
def enrolment(enrolment_id: int):
    found = drill.enrolment_in_scope(enrolment_id, scope())
    transfer_ids = drill.transfer_ids(found)
    return render_template(
        "audit/enrolment.html",
        enrolment=found,
        run=drill.run_in_scope(found.run_id, scope()),
        lines=drill.ledger_lines(found),
        events=drill.events(found),
        audit_rows=drill.audit_rows(found, transfer_ids),
        learner=drill.learner(found.person_id, scope()),
    )


@bp.get("/learners/<int:person_id>")
@roles(*AUDIT_ROLES)
def learner(person_id: int):
    return _learner_page(person_id, drill.learner(person_id, scope()), UnmaskForm())


@bp.post("/learners/<int:person_id>/unmask")
@roles(*AUDIT_ROLES)
def unmask(person_id: int):
    form = UnmaskForm()
    if not form.validate_on_submit():
        return _learner_page(person_id, drill.learner(person_id, scope()), form), 400
    with unit_of_work(write_lock=True):
        shown = drill.learner(person_id, scope(), reason=form.reason.data, actor=current_user.pseudonym)
    response = _learner_page(person_id, shown, UnmaskForm(formdata=None))
    return response, 200, {"Cache-Control": "no-store"}


def _learner_page(person_id: int, shown, form):
    return render_template(
        "audit/learner.html", learner=shown, rows=drill.learner_enrolments(person_id, scope()), form=form
    )


@bp.get("/verify")
@roles(*AUDIT_ROLES)
def verify():
    """The same check as `hrdnet audit verify` (hrdnet.audit.verify), shown with the chain head and count."""
    verdict = audit.verify()
    bad = db.session.get(audit.AuditEntry, verdict.bad_id) if verdict.bad_id else None
    return render_template("audit/verify.html", verdict=verdict, bad=bad)


def _choices() -> dict:
    reader = scope()
    programmes = select_programmes(reader)
    regions = db.session.execute(db.select(Region.code, Region.name).where(Region.level == 1).order_by(Region.code))
    ministries = (
        db.session.execute(db.select(Ministry.id, Ministry.name).order_by(Ministry.id)).all()
        if reader.everything
        else []
    )
    return {"programmes": programmes, "regions": regions.all(), "ministries": ministries}


def select_programmes(reader: Scope) -> list:
    query = db.select(Programme.id, Programme.name).order_by(Programme.code)
    if reader.ministry_id is not None:
        query = query.where(Programme.ministry_id == reader.ministry_id)
    return db.session.execute(query).all()


def home_context() -> dict:
    """The auditor home page's main content: this ministry's totals and the open flags (hrdnet.site asks)."""
    if not current_user.is_authenticated or current_user.role not in AUDIT_ROLES:
        abort(403)
    filters = Filters(ministry_id=scope().ministry_id)
    return {
        "audit_home": {
            "totals": spend.totals(filters),
            "by_programme": spend.lines("programme", filters),
            "open_flags": rules.count(scope(), status="open"),
        }
    }


# -- exports ------------------------------------------------------------------------------------------------------

EXPORT_TABLES = ("spend", "runs", "enrolments", "entries", "flags", "outcomes")


@bp.post("/export")
@roles(*AUDIT_ROLES)
def export():
    """Stream one table as CSV or XLSX; the export is audit-logged (who, which table, format, filters) first."""
    form = ExportForm()
    if not form.validate_on_submit() or form.table.data not in EXPORT_TABLES:
        abort(400)
    filters = filters_from(request.form)
    table = _export_table(form.table.data, form.group_by.data or "programme", filters)
    described = {"table": form.table.data, **query_of(filters)}
    if form.table.data == "spend":
        described["group_by"] = form.group_by.data or "programme"
    exported_at = utcnow()
    with unit_of_work(write_lock=True):
        exports.log_export(form.table.data, form.format.data, described, actor=current_user.pseudonym)
    name = f"hrdnet-{table.name}-{exported_at.astimezone(KST):%Y%m%d-%H%M%S}"
    if form.format.data == "xlsx":
        path = exports.xlsx_file(table, described, exported_at)
        body, mimetype = exports.file_chunks(path), XLSX_MIMETYPE
        name += ".xlsx"
    else:
        body, mimetype = exports.csv_stream(table, described, exported_at), "text/csv; charset=utf-8"
        name += ".csv"
    return Response(
        stream_with_context(body),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _export_table(name: str, group_by: str, filters: Filters) -> exports.Table:
    if name == "spend":
        if group_by not in spend.GROUPS:
            abort(400)
        return exports.spend_table(group_by, filters)
    if name == "runs":
        return exports.runs_table(filters)
    if name == "enrolments":
        if filters.run_id is None:
            abort(400)
        drill.run_in_scope(filters.run_id, scope())
        return exports.enrolments_table(filters.run_id)
    if name == "entries":
        return exports.entries_table(filters)
    if name == "flags":
        return exports.flags_table(rules.flags(scope()))
    return exports.outcomes_table(outcomes.outcomes(group_by if group_by == "programme" else "provider", scope()))


# -- risk flags -----------------------------------------------------------------------------------------------------


@bp.get("/flags")
@roles(*AUDIT_ROLES)
def flags():
    status, rule = request.args.get("status") or None, request.args.get("rule") or None
    rule = rule if rule in rules.RULES else None
    found = db.paginate(
        rules.flags_query(scope(), status=status, rule=rule),
        page=request.args.get("page", 1, type=int),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template("audit/flags.html", found=found, labels=rules.RULE_LABELS, status=status, rule=rule)


@bp.get("/flags/<int:flag_id>")
@roles(*AUDIT_ROLES)
def flag(flag_id: int):
    return _flag_page(flag_id, ReviewForm())


@bp.post("/flags/<int:flag_id>/review")
@roles(*AUDIT_ROLES)
def review_flag(flag_id: int):
    form = ReviewForm()
    if not form.validate_on_submit():
        return _flag_page(flag_id, form), 400
    with unit_of_work(write_lock=True):
        rules.review(flag_id, form.note.data.strip(), scope(), actor=current_user.pseudonym)
    flash("검토 완료로 표시했습니다.", "success")
    return redirect(url_for("audit.flag", flag_id=flag_id))


def _flag_page(flag_id: int, form):
    found = rules.flag_in_scope(flag_id, scope())
    return render_template(
        "audit/flag.html",
        flag=found,
        label=rules.RULE_LABELS[found.rule],
        numbers=json.loads(found.numbers),
        evidence=rules.evidence_in_scope(found, scope()),
        form=form,
    )


# -- outcomes -------------------------------------------------------------------------------------------------------


@bp.get("/outcomes")
@roles(*AUDIT_ROLES)
def outcomes_page():
    return render_template(
        "audit/outcomes.html",
        by_provider=outcomes.outcomes("provider", scope()),
        by_programme=outcomes.outcomes("programme", scope()),
        small_cell=outcomes.SMALL_CELL,
    )
