"""The catalog's domain errors: each maps to an HTTP status, a stable code and a Korean message."""

from __future__ import annotations

from hrdnet.errors import Conflict, DomainError, Forbidden, NotFound


class RunNotFound(NotFound):
    code, message = "run_not_found", "훈련과정 회차를 찾을 수 없습니다."


class ProviderNotFound(NotFound):
    code, message = "provider_not_found", "훈련기관을 찾을 수 없습니다."


class CourseNotFound(NotFound):
    code, message = "course_not_found", "과정을 찾을 수 없습니다."


class ListingNotFound(NotFound):
    code, message = "listing_not_found", "과정 목록(출처별 등록 정보)을 찾을 수 없습니다."


class CategoryNotFound(NotFound):
    """An unknown ministry, programme, NCS or region code in a browse address."""

    code, message = "category_not_found", "찾으시는 분류를 찾을 수 없습니다."


class ImportNotFound(NotFound):
    code, message = "import_not_found", "가져오기 기록을 찾을 수 없습니다."


class CannotMerge(DomainError):
    status, code, message = 400, "cannot_merge", "두 과정을 합칠 수 없습니다."


class CannotSplit(Conflict):
    code, message = "cannot_split", "이 목록은 분리할 수 없습니다."


class InvalidApplicationWindow(DomainError):
    """A provider's application window that cannot be (the message says which rule it breaks)."""

    status, code, message = 422, "invalid_application_window", "모집 기간이 올바르지 않습니다."


# -- the provider portal and its approval workflow (courses.portal) ---------------------------------


class ProviderNotVerified(Conflict):
    """409, not 403: the role may do this, the provider's state does not allow it yet (403 means the role may not)."""

    code = "provider_not_verified"
    message = "관리자가 훈련기관을 확인한 뒤에 과정을 제출할 수 있습니다. 확인을 기다려 주세요."


class SubmissionNotFound(NotFound):
    code, message = "submission_not_found", "제출한 과정을 찾을 수 없습니다."


class SubmissionInvalid(DomainError):
    """A submission that breaks the rules; `details` maps each field to its Korean messages."""

    status, code, message = 422, "submission_invalid", "입력 내용을 확인해 주세요."


class DuplicateSubmission(Conflict):
    code, message = "duplicate_submission", "같은 과정명과 시작일의 회차를 이미 제출했습니다."


class ReasonRequired(DomainError):
    status, code, message = 422, "reason_required", "반려 사유를 입력해 주세요."


class RunHasLearners(Conflict):
    code, message = "run_has_learners", "수강생이 있는 회차는 철회할 수 없습니다. 폐강 절차를 이용해 주세요."


class RunCancelled(Conflict):
    code, message = "run_cancelled", "폐강된 회차는 다시 공개할 수 없습니다. 새 회차로 등록해 주세요."


# -- provider registration and vetting (courses.portal.registration) ---------------------------------------


class BusinessNumberInvalid(DomainError):
    status, code, message = 422, "business_number_invalid", "사업자등록번호가 올바르지 않습니다(검증 숫자 불일치)."


class BusinessNumberTaken(Conflict):
    code, message = "business_number_taken", "이미 등록된 사업자등록번호입니다."


class NotProviderAdmin(Forbidden):
    code, message = "not_provider_admin", "훈련기관 관리자만 할 수 있습니다."


class StaffNotFound(NotFound):
    code, message = "staff_not_found", "이 기관의 담당자가 아닙니다."


class CannotVerify(Conflict):
    code, message = "cannot_verify", "서류와 외부 확인 기록이 있어야 확인할 수 있습니다."


class DocumentRefused(DomainError):
    status, code, message = 422, "document_refused", "PDF, PNG, JPG 파일만 올릴 수 있습니다."


class ClaimNotFound(NotFound):
    code, message = "claim_not_found", "확인을 기다리는 연결 요청이 아닙니다."


class ClaimExists(Conflict):
    code, message = "claim_exists", "이미 요청한 출처 번호입니다."
