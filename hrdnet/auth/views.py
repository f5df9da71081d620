"""Sign-up, e-mail verification, login with TOTP for admins and auditors, password reset, account page."""

from __future__ import annotations

import segno
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup

from hrdnet.access import public, signed_in
from hrdnet.auth import services, sessions, throttle
from hrdnet.auth.forms import (
    ApiTokenNameForm,
    ChangePasswordForm,
    ConfirmForm,
    EmailOnlyForm,
    LoginForm,
    OtpForm,
    ResetPasswordForm,
    SignupForm,
    VerifyEmailForm,
    normalise_phone,
)
from hrdnet.auth.models import ApiToken, User
from hrdnet.auth.redirects import local_path
from hrdnet.db import unit_of_work
from hrdnet.errors import DomainError
from hrdnet.extensions import db, limiter, login_rate_limit

bp = Blueprint("auth", __name__)
bp.register_error_handler(throttle.TooManyAttempts, throttle.refusal_response)

# Between the password and the TOTP code the cookie holds only this opaque key of a pending_logins row
# (auth/sessions.py): nothing in it grants a session, even to someone who can read or forge the cookie.
PENDING_LOGIN = "pending_login"


def _failed(response) -> bool:
    """Only failed attempts count towards the login limits (a success redirects)."""
    return response.status_code != 302


def safe_next(target: str | None) -> str:
    """A same-site path to go to after login, parsed as a browser would (redirects.py); else home."""
    return local_path(target) or url_for("site.home")


def _form_page(template: str, form, error: DomainError | None = None, **context):
    """Render a form page: 200 when first shown, 400 with field errors, or the domain error's status."""
    if error is not None:
        form.form_errors.append(error.message)
        return render_template(template, form=form, **context), error.status
    return render_template(template, form=form, **context), 400 if form.is_submitted() else 200


def _start_session(user: User, method: str) -> None:
    session.clear()  # no state from before login survives it (session fixation)
    session.permanent = True
    user.session_key = sessions.open_session(user.id, method=method)
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
            services.register_learner(
                email=form.email.data,
                name=form.name.data,
                phone=normalise_phone(form.phone.data),
                birth_date=form.birth_date.data,
                password=form.password.data,
            )
    except DomainError as exc:
        return _form_page("auth/signup.html", form, exc)
    return redirect(url_for("auth.check_mail", reason="signup"))


@bp.get("/check-mail")
@public
def check_mail():
    return render_template("auth/check_mail.html", reason=request.args.get("reason", "signup"))


# One-time links keep their token out of the path: mails link to /verify#t=TOKEN and /password/reset#t=TOKEN.
# A fragment never reaches the server, its access log, a proxy or a Referer header; the page's script
# (static/js/mail-link.js) copies it into the form, and the POST uses the link up, once. GETs only read,
# so mail scanners that pre-fetch links burn nothing. The old path form (/verify/TOKEN) from mails sent
# before still opens the same page; its token is scrubbed from the logs (auth/log_scrub.py).


@bp.route("/verify", methods=["GET", "POST"])
@public
@limiter.limit("20 per hour", methods=["POST"])
def verify_email():
    form = VerifyEmailForm()
    if not form.validate_on_submit():
        return _form_page("auth/verify.html", form)
    with unit_of_work(write_lock=True):
        services.verify_email(form.token.data)
    flash("이메일 인증을 마쳤습니다. 로그인해 주세요.", "success")
    return redirect(url_for("auth.login"))


@bp.get("/verify/<token>")
@public
def verify_email_old_link(token: str):
    services.peek_link(token, ("verify",))
    return render_template("auth/verify.html", form=VerifyEmailForm(token=token))


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
    target = safe_next(form.next.data)  # checked before any session exists
    try:
        with throttle.password_attempt(form.email.data, throttle.client_address()), unit_of_work(write_lock=True):
            user = services.authenticate(form.email.data, form.password.data)
            if not user.needs_totp:
                _start_session(user, method="password")
                return redirect(target)
            enrolled = user.has_totp
            # A first-time enrolment's secret is chosen now, so that showing it later is a read-only GET.
            pending_key = sessions.start_pending_login(
                user.id, next_path=target, enrolment_secret=None if enrolled else services.new_totp_secret()
            )
    except DomainError as exc:
        return _form_page("auth/login.html", form, exc)
    session[PENDING_LOGIN] = pending_key
    return redirect(url_for("auth.login_totp" if enrolled else "auth.setup_totp"))


def _pending() -> tuple[sessions.PendingLogin, User] | tuple[None, None]:
    """The live pending login of this browser and its user, or (None, None)."""
    pending = sessions.pending_login(session.get(PENDING_LOGIN))
    if pending is None:
        return None, None
    return pending, db.session.get(User, pending.user_id)


def end_pending_login() -> None:
    """Forget the half-finished login (password given, code not yet): the password step starts again."""
    key = session.pop(PENDING_LOGIN, None)
    if key:
        with unit_of_work(write_lock=True):
            sessions.end_pending_login(key)


def _finish_2fa(pending: sessions.PendingLogin, user: User, method: str):
    target = pending.next_path
    sessions.end_pending_login(session[PENDING_LOGIN])
    _start_session(user, method=method)
    return redirect(target)


@bp.route("/login/2fa", methods=["GET", "POST"])
@public
@limiter.limit(login_rate_limit, methods=["POST"], deduct_when=_failed)
def login_totp():
    pending, user = _pending()
    if user is None or not user.has_totp:
        flash("로그인 시간이 지났습니다. 다시 로그인해 주세요.", "warning")
        return redirect(url_for("auth.login"))
    form = OtpForm()
    if not form.validate_on_submit():
        return _form_page("auth/totp.html", form)
    try:
        with throttle.totp_attempt(user.pseudonym), unit_of_work(write_lock=True):
            services.check_totp(user, form.code.data)
            return _finish_2fa(pending, user, method="password+totp")
    except throttle.TooManyAttempts:
        end_pending_login()  # too many wrong codes: the password step must be passed again, later
        raise
    except DomainError as exc:
        return _form_page("auth/totp.html", form, exc)


@bp.route("/login/2fa/setup", methods=["GET", "POST"])
@public
@limiter.limit(login_rate_limit, methods=["POST"], deduct_when=_failed)
def setup_totp():
    pending, user = _pending()
    if user is None or user.has_totp or pending.enrolment_secret_encrypted is None:
        return redirect(url_for("auth.login"))
    secret = pending.enrolment_secret
    form = OtpForm()
    qr = Markup(segno.make(services.totp_uri(user, secret), error="m").svg_inline(scale=4))
    error = None
    if form.validate_on_submit():
        try:
            with throttle.totp_attempt(user.pseudonym), unit_of_work(write_lock=True):
                services.enrol_totp(user, secret, form.code.data)
                return _finish_2fa(pending, user, method="password+totp-enrolment")
        except throttle.TooManyAttempts:
            end_pending_login()
            raise
        except DomainError as exc:
            error = exc
    return _form_page("auth/totp_setup.html", form, error, secret=secret, qr=qr)


@bp.post("/logout")
@signed_in
def logout():
    form = ConfirmForm()
    if form.validate_on_submit():
        with unit_of_work(write_lock=True):
            sessions.revoke_session(current_user.session_key)  # a saved copy of the cookie dies with it
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


@bp.route("/password/reset", methods=["GET", "POST"])
@public
@limiter.limit("20 per hour", methods=["POST"])
def reset_password():
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        return _form_page("auth/reset.html", form)
    with unit_of_work(write_lock=True):
        services.reset_password(form.token.data, form.password.data)
    logout_user()
    session.clear()
    flash("비밀번호를 바꿨습니다. 새 비밀번호로 로그인해 주세요.", "success")
    return redirect(url_for("auth.login"))


@bp.get("/password/reset/<token>")
@public
def reset_password_old_link(token: str):
    services.peek_link(token, ("reset", "invite"))
    return render_template("auth/reset.html", form=ResetPasswordForm(token=token))


@bp.get("/account")
@signed_in
def account():
    tokens = db.session.scalars(
        db.select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id.desc())
    ).all()
    return render_template("auth/account.html", tokens=tokens, token_form=ApiTokenNameForm(), revoke_form=ConfirmForm())


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
@limiter.limit(
    "10 per hour", key_func=lambda: f"password-change:{current_user.id}", methods=["POST"], deduct_when=_failed
)
def change_password():
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _form_page("auth/change_password.html", form)
    user = current_user._get_current_object()
    try:
        with unit_of_work(write_lock=True):
            services.change_password(user, form.current_password.data, form.password.data)
            _start_session(user, method="password-change")  # this browser goes on, on a fresh session
    except DomainError as exc:
        return _form_page("auth/change_password.html", form, exc)
    flash("비밀번호를 바꿨습니다. 다른 기기의 로그인과 API 토큰은 모두 끝났습니다.", "success")
    return redirect(url_for("auth.account"))


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
