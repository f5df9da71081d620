"""Masking of personal data for display to anyone but its owner."""

from __future__ import annotations


def mask_name(name: str | None) -> str:
    """홍길동 -> 홍*동, 남궁민수 -> 남**수, 김철 -> 김*, John Smith -> J********h."""
    if not name:
        return ""
    if len(name) <= 2:
        return name[0] + "*" * (len(name) - 1)
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_email(email: str | None) -> str:
    """learner@example.com -> le*****@example.com."""
    if not email or "@" not in email:
        return ""
    local, domain = email.split("@", 1)
    shown = local[:2] if len(local) > 2 else local[:1]
    return f"{shown}{'*' * max(len(local) - len(shown), 1)}@{domain}"


def mask_phone(phone: str | None) -> str:
    """010-1234-5678 -> 010-****-5678."""
    if not phone:
        return ""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) < 8:
        return "*" * len(digits)
    return f"{digits[:3]}-{'*' * (len(digits) - 7)}-{digits[-4:]}"


def mask_birth_date(value) -> str:
    """1990-05-17 -> 1990-**-**."""
    return "" if value is None else f"{value.year}-**-**"
