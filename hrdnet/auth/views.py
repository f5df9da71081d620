"""Sign-up, e-mail verification, login with TOTP for admins and auditors, password reset, account page."""

from __future__ import annotations

import time

import segno
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup

from hrdnet.access import public, signed_in
from hrdnet.auth import services, throttle
from hrdnet.auth.forms import (
    ApiTokenNameForm,
    ConfirmForm,
    EmailOnlyForm,
    LoginForm,
    NewPasswordForm,
    OtpForm,
    SignupForm,
    normalise_phone,
)
from hrdnet.auth.models import ApiToken, User
from hrdnet.db import unit_of_work
from hrdnet.errors import DomainError
from hrdnet.extensions import db, limiter, login_rate_limit

bp = Blueprint("auth", __name__)
bp.register_error_handler(throttle.TooManyAttempts, throttle.refusal_response)

PENDING_2FA = "pending_2fa"
SETUP_SECRET = "totp_setup_secret"
PENDING_2FA_SECONDS = 300


def _failed(response) -> bool:
    """Only failed attempts count towards the login limits (a success redirects)."""
    return response.status_code != 302


def safe_next(target: str | None) -> str:
    """A local path to go to after login; anything else (other hosts, //evil) goes home."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("site.home")


def _form_page(template: str, form, error: DomainError | None = None, **context):
    """Render a form page: 200 when first shown, 400 with field errors, or the domain error's status."""
    if error is not None:
        form.form_errors.append(error.message)
        return render_template(template, form=form, **context), error.status
    return render_template(template, form=form, **context), 400 if form.is_submitted() else 200


def _start_session(user: User, method: str) -> None:
    session.clear()  # no state from before login survives it (session fixation)
    session.permanent = True
    login_user(user)
    services.record_login(user, method=method)


@bp.route("/signup", methods=["GET", "POST"])
@public
@limiter.limit("20 per hour", methods=["POST"])
def signup():
    form = SignupForm()
    if not form.validate_on_submit():
        return _form_page("auth/signup.html", form)
    try:
        with unit_of_work(write_lock=True):
            services.register_learner(email=form.email.data, name=form.name.data,
                                      phone=normalise_phone(form.phone.data), birth_date=form.birth_date.data,
                                      password=form.password.data)
    except DomainError as exc:
        return _form_page("auth/signup.html", form, exc)
    return redirect(url_for("auth.check_mail", reason="signup"))


@bp.get("/check-mail")
@public
def check_mail():
    return render_template("auth/check_mail.html", reason=request.args.get("reason", "signup"))


@bp.route("/verify/<token>", methods=["GET", "POST"])
@public
def verify_email(token: str):
    # GET only shows a button: mail scanners that pre-fetch links must not use up the one-time link.
    form = ConfirmForm()
    if not form.validate_on_submit():
        services.peek_link(token, ("verify",))
        return render_template("auth/verify.html", form=form)
    with unit_of_work(write_lock=True):
        services.verify_email(token)
    flash("이메일 인증을 마쳤습니다. 로그인해 주세요.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/verify/resend", methods=["GET", "POST"])
@public
@limiter.limit("5 per hour", methods=["POST"])
def resend_verification():
    form = EmailOnlyForm()
    if not form.validate_on_submit():
        return _form_page("auth/email_only.html", form, title="인증 메일 다시 받기", button="인증 메일 보내기")
    with unit_of_work(write_lock=True):
        services.resend_verification(form.email.data)
    return redirect(url_for("auth.check_mail", reason="resend"))


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(login_rate_limit, methods=["POST"], deduct_when=_failed)  # per client address: a flood guard
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        return _form_page("auth/login.html", form)
    try:
        with throttle.password_attempt(form.email.data, throttle.client_address()), unit_of_work(write_lock=True):
            user = services.authenticate(form.email.data, form.password.data)
            if not user.needs_totp:
                _start_session(user, method="password")
                return redirect(safe_next(form.next.data))
    except DomainError as exc:
        return _form_page("auth/login.html", form, exc)
    session[PENDING_2FA] = {"uid": user.id, "sid": user.session_token, "next": safe_next(form.next.data),
                            "at": time.time()}
    return redirect(url_for("auth.login_totp" if user.totp_secret else "auth.setup_totp"))


def end_pending_login() -> None:
    """Forget the half-finished login (password given, code not yet): the user starts again."""
    session.pop(PENDING_2FA, None)


def _pending_user() -> User | None:
    pending = session.get(PENDING_2FA)
    if not pending or time.time() - pending["at"] > PENDING_2FA_SECONDS:
        return None
    user = db.session.get(User, pending["uid"])
    return user if user is not None and user.session_token == pending["sid"] and user.active else None


def _finish_2fa(user: User, method: str):
    target = session[PENDING_2FA]["next"]
    _start_session(user, method=method)
    return redirect(target)


@bp.route("/login/2fa", methods=["GET", "POST"])
@public
@limiter.limit(login_rate_limit, methods=["POST"], deduct_when=_failed)
def login_totp():
    user = _pending_user()
    if user is None or not user.totp_secret:
        flash("로그인 시간이 지났습니다. 다시 로그인해 주세요.", "warning")
        return redirect(url_for("auth.login"))
    form = OtpForm()
    if not form.validate_on_submit():
        return _form_page("auth/totp.html", form)
    try:
        with throttle.totp_attempt(user.pseudonym), unit_of_work(write_lock=True):
            services.check_totp(user, form.code.data)
            return _finish_2fa(user, method="password+totp")
    except throttle.TooManyAttempts:
        end_pending_login()  # too many wrong codes: the password step must be passed again, later
        raise
    except DomainError as exc:
        return _form_page("auth/totp.html", form, exc)


@bp.route("/login/2fa/setup", methods=["GET", "POST"])
@public
@limiter.limit(login_rate_limit, methods=["POST"], deduct_when=_failed)
def setup_totp():
    user = _pending_user()
    if user is None or user.totp_secret:
        return redirect(url_for("auth.login"))
    secret = session.setdefault(SETUP_SECRET, services.new_totp_secret())
    form = OtpForm()
    qr = Markup(segno.make(services.totp_uri(user, secret), error="m").svg_inline(scale=4))
    error = None
    if form.validate_on_submit():
        try:
            with unit_of_work(write_lock=True):
                services.enrol_totp(user, secret, form.code.data)
                session.pop(SETUP_SECRET)
                return _finish_2fa(user, method="password+totp-enrolment")
        except DomainError as exc:
            error = exc
    return _form_page("auth/totp_setup.html", form, error, secret=secret, qr=qr)


@bp.post("/logout")
@signed_in
def logout():
    form = ConfirmForm()
    if form.validate_on_submit():
        with unit_of_work(write_lock=True):
            services.record_logout(current_user)
        logout_user()
        session.clear()
        flash("로그아웃했습니다.", "info")
    return redirect(url_for("site.home"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
@limiter.limit("5 per hour", methods=["POST"])
def forgot_password():
    form = EmailOnlyForm()
    if not form.validate_on_submit():
        return _form_page("auth/email_only.html", form, title="비밀번호 찾기", button="재설정 메일 보내기")
    with unit_of_work(write_lock=True):
        services.request_password_reset(form.email.data)
    return redirect(url_for("auth.check_mail", reason="reset"))


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
@limiter.limit("20 per hour", methods=["POST"])
def reset_password(token: str):
    services.peek_link(token, ("reset", "invite"))
    form = NewPasswordForm()
    if not form.validate_on_submit():
        return _form_page("auth/reset.html", form)
    with unit_of_work(write_lock=True):
        services.reset_password(token, form.password.data)
    logout_user()
    session.clear()
    flash("비밀번호를 바꿨습니다. 새 비밀번호로 로그인해 주세요.", "success")
    return redirect(url_for("auth.login"))


@bp.get("/account")
@signed_in
def account():
    tokens = db.session.scalars(db.select(ApiToken).where(ApiToken.user_id == current_user.id)
                                .order_by(ApiToken.id.desc())).all()
    return render_template("auth/account.html", tokens=tokens, token_form=ApiTokenNameForm(),
                           revoke_form=ConfirmForm())


@bp.post("/account/tokens")
@signed_in
def create_token():
    form = ApiTokenNameForm()
    if not form.validate_on_submit():
        flash("토큰 이름을 입력해 주세요.", "error")
        return redirect(url_for("auth.account"))
    with unit_of_work(write_lock=True):
        issued = services.issue_api_token(current_user, form.name.data)
    # Shown once, on the page answering this POST; only its hash is stored.
    return render_template("auth/token_created.html", token=issued.token, name=form.name.data), 201


@bp.post("/account/tokens/<int:token_id>/revoke")
@signed_in
def revoke_token(token_id: int):
    form = ConfirmForm()
    if form.validate_on_submit():
        with unit_of_work(write_lock=True):
            revoked = services.revoke_api_token(current_user, token_id)
        flash("토큰을 폐기했습니다." if revoked else "이미 폐기되었거나 없는 토큰입니다.", "info")
    return redirect(url_for("auth.account"))
