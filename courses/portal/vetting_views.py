"""Provider registration and vetting pages: a provider registers itself (/provider/register), uploads its
documents, manages its staff and claims feed runs; an admin verifies providers and confirms claims
(/admin/providers). Thin views over courses.portal.registration."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from courses.portal import registration
from courses.portal.forms import ClaimForm, ConfirmForm, DocumentForm, InviteForm, RegistrationForm, VerifyForm
from courses.portal.models import DOCUMENT_KINDS
from courses.portal.services import provider as get_provider
from hrdnet.access import Role, public, roles
from hrdnet.db import unit_of_work
from hrdnet.extensions import limiter

bp = Blueprint("vetting", __name__)


@bp.route("/provider/register", methods=["GET", "POST"])
@public
@limiter.limit("10 per hour", methods=["POST"])
def register():
    form = RegistrationForm()
    if form.validate_on_submit():
        with unit_of_work(write_lock=True):
            registration.register(
                name=form.name.data,
                business_number=form.business_number.data,
                address=form.address.data,
                region_code=form.region.data,
                representative=form.representative.data,
                contact_name=form.contact_name.data,
                contact_email=form.contact_email.data,
                password=form.password.data,
            )
        return redirect(url_for("auth.check_mail", reason="signup"))
    return render_template("portal/register.html", form=form), 422 if form.errors else 200


@bp.route("/provider/documents", methods=["GET", "POST"])
@roles(Role.PROVIDER)
def documents():
    form = DocumentForm()
    if form.validate_on_submit():
        upload = form.file.data
        with unit_of_work(write_lock=True):
            registration.upload_document(
                current_user.provider_id, form.kind.data, upload.filename, upload.read(), actor=current_user.pseudonym
            )
        flash("서류를 올렸습니다. 관리자가 확인합니다.", "success")
        return redirect(url_for("vetting.documents"))
    return render_template(
        "portal/documents.html",
        form=form,
        provider=get_provider(current_user.provider_id),
        documents=registration.documents(current_user.provider_id),
        kinds=DOCUMENT_KINDS,
    ), 422 if form.errors else 200


@bp.route("/provider/staff", methods=["GET", "POST"])
@roles(Role.PROVIDER)
def staff():
    form = InviteForm()
    if form.validate_on_submit():
        with unit_of_work(write_lock=True):
            registration.invite_staff(
                current_user.provider_id,
                email=form.email.data,
                name=form.name.data,
                takes_attendance=form.takes_attendance.data,
                by=current_user,
            )
        flash("초대 메일을 보냈습니다.", "success")
        return redirect(url_for("vetting.staff"))
    return render_template(
        "portal/staff.html", form=form, confirm=ConfirmForm(), staff=registration.staff(current_user.provider_id)
    ), 422 if form.errors else 200


@bp.post("/provider/staff/<int:user_id>/remove")
@roles(Role.PROVIDER)
def remove_staff(user_id: int):
    if ConfirmForm().validate_on_submit():
        with unit_of_work(write_lock=True):
            registration.remove_staff(current_user.provider_id, user_id, by=current_user)
        flash("담당자를 내보냈습니다.", "success")
    return redirect(url_for("vetting.staff"))


@bp.route("/provider/claims", methods=["GET", "POST"])
@roles(Role.PROVIDER)
def claims():
    form = ClaimForm()
    if form.validate_on_submit():
        with unit_of_work(write_lock=True):
            registration.claim(
                current_user.provider_id,
                source="hrdnet",
                external_id=form.external_id.data,
                actor=current_user.pseudonym,
            )
        flash("연결을 요청했습니다. 관리자가 확인하면 그 회차들이 이 기관으로 옮겨집니다.", "success")
        return redirect(url_for("vetting.claims"))
    return render_template("portal/claims.html", form=form), 422 if form.errors else 200


@bp.get("/admin/providers/")
@roles(Role.ADMIN)
def pending():
    return render_template(
        "portal/admin_providers.html",
        providers=registration.pending_providers(),
        claims=registration.pending_claims(),
        confirm=ConfirmForm(),
    )


@bp.route("/admin/providers/<int:provider_id>", methods=["GET", "POST"])
@roles(Role.ADMIN)
def verify(provider_id: int):
    found = get_provider(provider_id)
    form = VerifyForm()
    if form.validate_on_submit():
        with unit_of_work(write_lock=True):
            registration.verify(provider_id, note=form.note.data, actor=current_user.pseudonym)
        flash("훈련기관을 확인했습니다. 이제 회차를 제출할 수 있습니다.", "success")
        return redirect(url_for("vetting.pending"))
    return render_template(
        "portal/admin_provider.html",
        provider=found,
        documents=registration.documents(provider_id),
        kinds=DOCUMENT_KINDS,
        form=form,
    ), 422 if form.errors else 200


@bp.post("/admin/claims/<int:claim_id>/confirm")
@roles(Role.ADMIN)
def confirm_claim(claim_id: int):
    return _decide_claim(claim_id, confirm=True)


@bp.post("/admin/claims/<int:claim_id>/refuse")
@roles(Role.ADMIN)
def refuse_claim(claim_id: int):
    return _decide_claim(claim_id, confirm=False)


def _decide_claim(claim_id: int, *, confirm: bool):
    if ConfirmForm().validate_on_submit():
        with unit_of_work(write_lock=True):
            registration.decide_claim(claim_id, confirm=confirm, actor=current_user.pseudonym)
        flash("연결 요청을 처리했습니다.", "success")
    return redirect(url_for("vetting.pending"))
