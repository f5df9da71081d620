"""Catalog models. For now only the organisations users belong to; the catalog issue grows them."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from hrdnet.extensions import db


class Ministry(db.Model):
    """A ministry that funds programmes (고용노동부 MOEL, 과학기술정보통신부 MSIT, …)."""

    __tablename__ = "ministries"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))


class Provider(db.Model):
    """A training provider (훈련기관)."""

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    business_number: Mapped[str | None] = mapped_column(String(10), unique=True)
