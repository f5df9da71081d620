"""Learner pages for cards and enrolments (HTML)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("vouchers", __name__)
