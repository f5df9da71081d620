"""The voucher domain's errors: each maps to an HTTP status, a stable code and a Korean message."""

from __future__ import annotations

from hrdnet.errors import Conflict, DomainError, NotFound


class InvalidTransfer(DomainError):
    """A transfer, hold or account request that can never succeed as given (a bug in the caller)."""

    status, code, message = 422, "invalid_transfer", "거래 내용이 올바르지 않습니다."


class AccountNotFound(NotFound):
    code, message = "account_not_found", "계정을 찾을 수 없습니다."


class HoldNotFound(NotFound):
    code, message = "hold_not_found", "보류 내역을 찾을 수 없습니다."


class InsufficientBalance(Conflict):
    code, message = "insufficient_balance", "카드 잔액이 부족합니다."


class DuplicateKeyConflict(Conflict):
    """The same idempotency key arrived again with different content: neither is applied twice."""

    code = "duplicate_key_conflict"
    message = "같은 요청 번호로 내용이 다른 거래가 이미 처리되었습니다. 새로 요청해 주세요."


class HoldNotPending(Conflict):
    """The hold was already captured, released or expired (by another request)."""

    code, message = "hold_not_pending", "이미 결제되었거나 해제된 보류 건입니다."
