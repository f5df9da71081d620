"""The voucher domain's errors: each maps to an HTTP status, a stable code and a Korean message."""

from __future__ import annotations

from hrdnet.errors import Conflict, DomainError, Forbidden, NotFound


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


# -- cards -------------------------------------------------------------------------------------------------


class IdentityRequired(DomainError):
    status, code, message = 403, "identity_required", "본인인증을 먼저 해 주세요."


class IdentityTaken(Conflict):
    code, message = "identity_taken", "이 로그인은 이미 다른 사람으로 본인인증되었습니다."


class IdentityUnavailable(DomainError):
    status, code, message = (
        503,
        "identity_unavailable",
        ("본인인증 서비스가 아직 연결되지 않았습니다. 카드 발급은 고객센터나 관리자에게 문의해 주세요."),
    )


class EnrolmentBusy(DomainError):
    """The batching writer did not answer in time (vouchers.web.api): the request may still be written, so the
    client retries with the same Idempotency-Key, which answers it once."""

    status, code, message = (
        503,
        "enrolment_busy",
        "신청이 몰려 처리가 늦어지고 있습니다. 같은 Idempotency-Key로 잠시 후 다시 시도해 주세요. "
        "이중으로 신청되지 않습니다.",
    )


class IdentityLinkNotPending(Conflict):
    code, message = (
        "identity_link_not_pending",
        "검토를 기다리는 본인 연결 요청이 아닙니다. 이미 처리되었을 수 있습니다.",
    )


class NotEligible(DomainError):
    status, code, message = 422, "not_eligible", "내일배움카드 발급 대상이 아닙니다."


class ApplicationPending(Conflict):
    code, message = "application_pending", "심사 중인 카드 신청이 이미 있습니다."


class ApplicationNotFound(NotFound):
    code, message = "application_not_found", "카드 신청을 찾을 수 없습니다."


class ApplicationDecided(Conflict):
    code, message = "application_decided", "이미 승인되었거나 반려된 신청입니다."


class CardExists(Conflict):
    code, message = "card_exists", "사용 중인 카드가 이미 있습니다. 한 사람은 한 장의 카드만 가질 수 있습니다."


class NoCard(Conflict):
    code, message = "no_card", "사용할 수 있는 내일배움카드가 없습니다. 카드를 먼저 신청해 주세요."


class CardNotFound(NotFound):
    code, message = "card_not_found", "카드를 찾을 수 없습니다."


class CardSuspended(Conflict):
    code, message = "card_suspended", "카드 사용이 정지된 기간이라 수강 신청을 할 수 없습니다."


class CardExpired(Conflict):
    code, message = "card_expired", "카드 유효기간이 지났습니다."


class NoKDigitalAccount(Conflict):
    code, message = "no_kdigital_account", "K-디지털 크레딧 계정이 없어 이 과정에 신청할 수 없습니다."


class TopUpNotAllowed(Conflict):
    code, message = "top_up_not_allowed", "추가 지원 대상이 아니거나 이미 추가 지원을 받았습니다."


# -- enrolments --------------------------------------------------------------------------------------------


class RunNotFound(NotFound):
    code, message = "run_not_found", "훈련과정 회차를 찾을 수 없습니다."


class RunFull(Conflict):
    code, message = "run_full", "정원이 모두 찼습니다."


class AlreadyEnrolled(Conflict):
    code, message = "already_enrolled", "이미 신청한 회차입니다."


class EnrolmentClosed(Conflict):
    code, message = "enrolment_closed", "수강 신청 기간이 아닙니다."


class PriceUnknown(Conflict):
    code, message = "price_unknown", "이 회차는 훈련비 지원 기준이 정해지지 않아 이곳에서 신청할 수 없습니다."


class EnrolmentNotFound(NotFound):
    code, message = "enrolment_not_found", "수강 신청 내역을 찾을 수 없습니다."


class IllegalTransition(Conflict):
    code, message = "illegal_transition", "지금 상태에서는 할 수 없는 처리입니다."


class ReasonNotPending(Conflict):
    code, message = "reason_not_pending", "확인을 기다리는 제재 면제 사유가 없습니다. 이미 처리되었을 수 있습니다."


class UnknownExemptReason(DomainError):
    status, code, message = 422, "unknown_exempt_reason", "알 수 없는 제재 면제 사유입니다."


class KdtAfterDropout(Conflict):
    code, message = (
        "kdt_after_dropout",
        "K-디지털 트레이닝을 중도탈락한 뒤에는 새 카드를 발급받기 전까지 K-디지털 트레이닝 과정에 신청할 수 없습니다.",
    )


class CourseEnded(Conflict):
    code, message = (
        "course_ended",
        "훈련이 끝난 과정은 취소할 수 없습니다. 수료 여부는 출석에 따라 정해집니다.",
    )


class AttendanceInvalid(DomainError):
    status, code, message = 422, "invalid_attendance", "출석 기록이 올바르지 않습니다."


class CompletionNotReached(Conflict):
    code, message = "attendance_below_completion", "출석률이 수료 기준에 미달합니다."


class PaymentFailed(DomainError):
    status, code, message = 402, "payment_failed", "결제가 완료되지 않았습니다."


class RunCancelTooLate(Conflict):
    code, message = (
        "run_cancel_too_late",
        "무료 취소 기한이 지난 회차는 폐강할 수 없습니다. 수강생별 정산이 필요하니 관리자에게 문의해 주세요.",
    )


class AttendanceDutyRequired(Forbidden):
    code, message = "attendance_duty_required", "출석을 기록하는 담당자만 할 수 있습니다. 기관 관리자에게 요청하세요."


class ProviderAdminRequired(Forbidden):
    code, message = "provider_admin_required", "기관 관리자만 할 수 있습니다."


class CorrectionPending(Conflict):
    code, message = "correction_pending", "이 날짜의 출석 정정 요청이 이미 승인을 기다리고 있습니다."


class CorrectionNotFound(NotFound):
    code, message = "correction_not_found", "출석 정정 요청을 찾을 수 없거나 소관이 아닙니다."
