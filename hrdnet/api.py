"""The JSON API root (/api/v1): flask-smorest generates the OpenAPI document from the code.

Every endpoint is declared with marshmallow schemas, so /api/v1/openapi.json is always what the code
does; /api/v1/docs renders that same document as a page (server-side, no third-party script).
The API authenticates with Bearer tokens only (never the session cookie), which is why it is exempt
from CSRF: a forged cross-site request carries no token.
"""

from __future__ import annotations

import marshmallow as ma
from flask import Blueprint as FlaskBlueprint
from flask import Flask, render_template
from flask_smorest import Api, Blueprint

from hrdnet.access import ALL_ROLES, PUBLIC, access_of_view, declare_public, public

API_PREFIX = "/api/v1"


class ApiErrorDetail(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "안정된 오류 코드 (예: invalid_credentials)"})
    message = ma.fields.String(required=True, metadata={"description": "사용자에게 보여 줄 한국어 메시지"})
    details = ma.fields.Dict(metadata={"description": "입력 항목별 오류 (검증 실패 시)"})


class ApiErrorSchema(ma.Schema):
    """Every error answer of the API: `{"error": {"code", "message"}}`."""

    error = ma.fields.Nested(ApiErrorDetail, required=True)


class QueryArgs(ma.Schema):
    """Base of the API's query-string schemas, one rule for every optional parameter: an empty value
    (`?before=`) means "not given", as on the search (search.forms.SearchArgs), and the document says so
    (`allowEmptyValue`). Unknown parameters are ignored."""

    class Meta:
        unknown = ma.EXCLUDE

    @ma.pre_load
    def _empty_means_not_given(self, data, **_kwargs):
        return {key: data[key] for key in data if data[key] != ""}


def _empty_query_value_is_not_given(self, field, ret, **_kwargs) -> dict:
    """apispec parameter attribute function: document the QueryArgs rule on every optional query parameter."""
    return {"allowEmptyValue": True} if ret.get("in") == "query" and not field.required else {}


class HrdnetApi(Api):
    # The shape hrdnet.errors really answers with (flask-smorest's own would be {code, status, message}).
    ERROR_SCHEMA = ApiErrorSchema
    # No catch-all "default" answer: every status an operation can answer is listed, so the document can be
    # checked against what the API does (tests/api/test_openapi_contract.py).
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        """Errors are rendered by hrdnet.errors for the whole site (`{"error": {...}}` under /api/)."""


# Answers that follow from a route's access declaration or its method, documented once here for every route.
_SIGN_IN_REQUIRED = (
    401,
    "로그인이 필요합니다: `Authorization: Bearer <토큰>` 헤더가 없거나 토큰이 올바르지 않음 (code: unauthorized)",
)
_ROLE_REFUSED = (403, "이 역할의 계정으로는 쓸 수 없음 (code: forbidden)")
_TOO_LARGE = (413, "요청 본문이 너무 큼 (code: too_large, MAX_CONTENT_LENGTH)")
_BAD_BODY = (400, "요청 본문을 JSON으로 읽을 수 없음 (code: bad_request)")
_BODY_METHODS = {"POST", "PUT", "PATCH"}
BEARER_SECURITY = [{"bearerAuth": []}]


class ApiBlueprint(Blueprint):
    """flask-smorest's Blueprint, documenting what a route's @public/@roles/@signed_in declaration implies.

    Put the access decorator directly under @bp.route (as everywhere): every operation that needs a token gets
    the bearer security requirement and 401, one limited to some roles also 403, one that takes a body 413.
    An answer the route documents itself (its own 403 with a domain code, say) is kept.
    """

    def route(self, rule, **options):
        register = super().route(rule, **options)
        methods = {method.upper() for method in options.get("methods", ["GET"])}
        return lambda view: register(self._document_access(view, methods))

    def _document_access(self, view, methods: set[str]):
        access = access_of_view(view)
        answers = []
        if access is not PUBLIC:
            answers.append(_SIGN_IN_REQUIRED)
            if access != ALL_ROLES:
                answers.append(_ROLE_REFUSED)
        if methods & _BODY_METHODS:
            answers += [_TOO_LARGE, _BAD_BODY]
        documented = {int(status) for status in getattr(view, "_apidoc", {}).get("response", {}).get("responses", {})}
        for status, description in answers:
            if status not in documented:
                view = self.alt_response(status, schema=ApiErrorSchema, description=description)(view)
        if access is not PUBLIC:
            view = self.doc(security=BEARER_SECURITY)(view)
        return view


api = HrdnetApi()

docs_bp = FlaskBlueprint("api_docs", __name__)


@docs_bp.get(f"{API_PREFIX}/docs")
@public
def docs():
    return render_template("api/docs.html", spec=api.spec.to_dict())


def init_api(app: Flask, blueprints) -> None:
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "info": {
                "description": "hrdnet 공개 API. 인증이 필요한 엔드포인트는 `POST /api/v1/auth/token`으로 받은 "
                "토큰을 `Authorization: Bearer <token>` 헤더로 보냅니다."
            },
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        },
    )
    api.init_app(app)
    api.ma_plugin.converter.add_parameter_attribute_function(_empty_query_value_is_not_given)
    for blueprint in blueprints:
        api.register_blueprint(blueprint, url_prefix=API_PREFIX)
    declare_public(app, "api-docs.openapi_json")
    app.register_blueprint(docs_bp)
    csrf = app.extensions["csrf"]
    for blueprint in blueprints:
        csrf.exempt(blueprint)
