"""Account errors, each with a Korean message for the user and a stable code for the API."""

from hrdnet.errors import DomainError


class EmailTaken(DomainError):
    status, code = 409, "email_taken"
    message = "이미 가입된 이메일 주소입니다. 로그인하거나 비밀번호 찾기를 이용해 주세요."


class InvalidCredentials(DomainError):
    status, code = 401, "invalid_credentials"
    message = "이메일 또는 비밀번호가 올바르지 않습니다."


class EmailNotVerified(DomainError):
    status, code = 403, "email_not_verified"
    message = "이메일 인증을 마쳐야 로그인할 수 있습니다. 받은 편지함의 인증 링크를 눌러 주세요."


class AccountDisabled(DomainError):
    status, code = 403, "account_disabled"
    message = "사용이 중지된 계정입니다. 관리자에게 문의해 주세요."


class InvalidLink(DomainError):
    status, code = 400, "invalid_link"
    message = "링크가 만료되었거나 이미 사용되었습니다. 새 링크를 요청해 주세요."


class InvalidOtp(DomainError):
    status, code = 401, "invalid_otp"
    message = "인증 코드가 올바르지 않거나 이미 사용되었습니다. 인증 앱의 새 코드를 입력해 주세요."


class OtpRequired(DomainError):
    status, code = 401, "otp_required"
    message = "관리자와 감사 담당자는 2단계 인증 코드(otp)를 함께 보내야 합니다."


class UnknownOrganisation(DomainError):
    status, code = 400, "unknown_organisation"
    message = "소속 기관 코드를 찾을 수 없습니다."


class WrongPassword(DomainError):
    status, code = 400, "wrong_password"
    message = "현재 비밀번호가 올바르지 않습니다. 다시 입력해 주세요."
