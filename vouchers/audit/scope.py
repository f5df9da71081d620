"""Who may see which ministry's money: an auditor their own ministry, an admin every ministry.

Scoping is applied in the queries (spend, drill-down, flags, outcomes, exports), never only in templates.
"""

from __future__ import annotations

from dataclasses import dataclass

from hrdnet.access import Role


@dataclass(frozen=True)
class Scope:
    """The ministry a reader is limited to; None = every ministry (admins)."""

    ministry_id: int | None

    @classmethod
    def of(cls, user) -> Scope:
        if user.role == Role.ADMIN:
            return cls(None)
        if user.role == Role.AUDITOR and user.ministry_id is not None:
            return cls(user.ministry_id)
        raise PermissionError("only auditors and admins read the audit console")

    def allows(self, ministry_id: int | None) -> bool:
        return self.ministry_id is None or self.ministry_id == ministry_id

    @property
    def everything(self) -> bool:
        return self.ministry_id is None
