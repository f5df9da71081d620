"""Card and enrolment endpoints of the JSON API."""

from __future__ import annotations

from flask_smorest import Blueprint

bp = Blueprint("vouchers_api", __name__, description="내일배움카드와 수강 신청")
