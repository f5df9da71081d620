"""Admin pages: accounts of provider staff, auditors and admins, and the outbox."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from hrdnet import outbox
from hrdnet.access import Role, roles
from hrdnet.auth import services
from hrdnet.auth.forms import ConfirmForm, CreateUserForm
from hrdnet.auth.models import User
from hrdnet.bounds import page_number
from hrdnet.db import unit_of_work
from hrdnet.errors import DomainError
from hrdnet.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 20


@bp.get("/")
@roles(Role.ADMIN)
def dashboard():
    return render_template(
        "admin/dashboard.html", users_by_role=services.count_users_by_role(), outbox_counts=outbox.counts()
    )


def _users_page(form: CreateUserForm, status: int = 200):
    role = request.args.get("role", "")
    query = select(User).order_by(User.id.desc())
    if role in set(Role):
        query = query.where(User.role == role)
    users = db.paginate(query, page=page_number(), per_page=PER_PAGE, error_out=False)
    return render_template("admin/users.html", users=users, form=form, role=role), status


@bp.get("/users")
@roles(Role.ADMIN)
def users():
    return _users_page(CreateUserForm())


@bp.post("/users")
@roles(Role.ADMIN)
def create_user():
    form = CreateUserForm()
    if not form.validate_on_submit():
        return _users_page(form, 400)
    try:
        with unit_of_work(write_lock=True):
            services.create_user(
                email=form.email.data,
                role=form.role.data,
                name=form.name.data,
                org_code=form.org_code.data or None,
                created_by=current_user,
            )
    except DomainError as exc:
        form.form_errors.append(exc.message)
        return _users_page(form, exc.status)
    flash("계정을 만들고 비밀번호 설정 안내 메일을 보냈습니다.", "success")
    return redirect(url_for("admin.users"))


@bp.get("/outbox")
@roles(Role.ADMIN)
def outbox_items():
    status = request.args.get("status", outbox.DEAD)
    query = select(outbox.OutboxItem).where(outbox.OutboxItem.status == status).order_by(outbox.OutboxItem.id.desc())
    items = db.paginate(query, page=page_number(), per_page=PER_PAGE, error_out=False)
    return render_template("admin/outbox.html", items=items, status=status, counts=outbox.counts(), form=ConfirmForm())


@bp.post("/outbox/<int:item_id>/retry")
@roles(Role.ADMIN)
def retry_outbox_item(item_id: int):
    if ConfirmForm().validate_on_submit():
        with unit_of_work(write_lock=True):
            retried = outbox.retry_dead(item_id)
        flash("다시 보내도록 대기열에 넣었습니다." if retried else "이미 처리된 항목입니다.", "info")
    return redirect(url_for("admin.outbox_items"))
