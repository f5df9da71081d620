"""Paying the self-pay share, the processor's webhooks, and the reconciliation report (HTML)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("payments", __name__)
