"""Authentication endpoints of the JSON API."""

from __future__ import annotations

from contextlib import nullcontext

import marshmallow as ma
from flask import g
from flask_login import current_user

from hrdnet.access import public, signed_in
from hrdnet.api import ApiBlueprint, ApiErrorSchema
from hrdnet.auth import services, throttle
from hrdnet.auth.errors import OtpRequired
from hrdnet.db import unit_of_work
from hrdnet.extensions import limiter, login_rate_limit

bp = ApiBlueprint("auth_api", __name__, description="인증: API 토큰 발급과 폐기")
bp.register_error_handler(throttle.TooManyAttempts, throttle.refusal_response)


class TokenRequest(ma.Schema):
    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=254))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=128))
    otp = ma.fields.String(
        validate=ma.validate.Regexp(r"^\d{6}$"),
        metadata={"description": "관리자·감사 담당자는 인증 앱의 6자리 코드가 필요합니다."},
    )
    name = ma.fields.String(load_default="API", validate=ma.validate.Length(max=100))


class TokenResponse(ma.Schema):
    token = ma.fields.String(metadata={"description": "한 번만 보여 줍니다. 안전하게 보관하세요."})
    token_id = ma.fields.Integer()


class Me(ma.Schema):
    id = ma.fields.Integer()
    email = ma.fields.String()
    name = ma.fields.String()
    role = ma.fields.String()
    provider_id = ma.fields.Integer(allow_none=True)
    ministry_id = ma.fields.Integer(allow_none=True)


@bp.route("/auth/token", methods=["POST"])
@public
@limiter.limit(login_rate_limit)
@bp.arguments(TokenRequest)
@bp.response(201, TokenResponse)
@bp.alt_response(401, schema=ApiErrorSchema, description="잘못된 자격 증명 또는 2단계 인증 코드")
@bp.alt_response(403, schema=ApiErrorSchema, description="이메일 미인증 또는 사용 중지된 계정")
@bp.alt_response(429, schema=ApiErrorSchema, description="시도 횟수 초과")
def create_token(body):
    """API 토큰 발급 (이메일·비밀번호, 관리자와 감사 담당자는 otp 포함)"""
    # The same failure counters as the HTML login. The throttle claims each attempt in a short transaction
    # of its own, outside any unit of work, so the password and the code are checked in two units of work.
    with throttle.password_attempt(body["email"], throttle.client_address()), unit_of_work(write_lock=True):
        user = services.authenticate(body["email"], body["password"])
        if user.needs_totp and "otp" not in body:
            raise OtpRequired()
    second_factor = throttle.totp_attempt(user.pseudonym) if user.needs_totp else nullcontext()
    with second_factor, unit_of_work(write_lock=True):
        if user.needs_totp:
            services.check_totp(user, body["otp"])
        issued = services.issue_api_token(user, body["name"])
        services.record_login(user, method="api-token")
        return {"token": issued.token, "token_id": issued.record.id}


@bp.route("/auth/token", methods=["DELETE"])
@signed_in
@bp.response(204)
def revoke_token():
    """지금 쓰고 있는 API 토큰 폐기"""
    with unit_of_work(write_lock=True):
        services.revoke_api_token(current_user, g.api_token_id)


@bp.route("/me", methods=["GET"])
@signed_in
@bp.response(200, Me)
@bp.doc(security=[{"bearerAuth": []}])
def me():
    """토큰 주인의 계정 정보"""
    return current_user
