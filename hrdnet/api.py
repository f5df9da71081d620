"""The JSON API root (/api/v1): flask-smorest generates the OpenAPI document from the code.

Every endpoint is declared with marshmallow schemas, so /api/v1/openapi.json is always what the code
does; /api/v1/docs renders that same document as a page (server-side, no third-party script).
The API authenticates with Bearer tokens only (never the session cookie), which is why it is exempt
from CSRF: a forged cross-site request carries no token.
"""

from __future__ import annotations

import marshmallow as ma
from flask import Blueprint, Flask, render_template
from flask_smorest import Api

from hrdnet.access import declare_public, public

API_PREFIX = "/api/v1"


class HrdnetApi(Api):
    def _register_error_handlers(self):
        """Errors are rendered by hrdnet.errors for the whole site (`{"error": {...}}` under /api/)."""


api = HrdnetApi()

docs_bp = Blueprint("api_docs", __name__)


@docs_bp.get(f"{API_PREFIX}/docs")
@public
def docs():
    return render_template("api/docs.html", spec=api.spec.to_dict())


def init_api(app: Flask, blueprints) -> None:
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "hrdnet 공개 API. 인증이 필요한 엔드포인트는 `POST /api/v1/auth/token`으로 받은 "
                                "토큰을 `Authorization: Bearer <token>` 헤더로 보냅니다."},
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    })
    api.init_app(app)
    for blueprint in blueprints:
        api.register_blueprint(blueprint, url_prefix=API_PREFIX)
    declare_public(app, "api-docs.openapi_json")
    app.register_blueprint(docs_bp)
    csrf = app.extensions["csrf"]
    for blueprint in blueprints:
        csrf.exempt(blueprint)


class ApiErrorDetail(ma.Schema):
    code = ma.fields.String(metadata={"description": "안정된 오류 코드 (예: invalid_credentials)"})
    message = ma.fields.String(metadata={"description": "사용자에게 보여 줄 한국어 메시지"})
    details = ma.fields.Dict(metadata={"description": "입력 항목별 오류 (검증 실패 시)"})


class ApiErrorSchema(ma.Schema):
    """Every error answer of the API: `{"error": {"code", "message"}}`."""

    error = ma.fields.Nested(ApiErrorDetail)
