"""Account forms: field validation with Korean messages (services re-check; the database enforces)."""

from __future__ import annotations

import re

from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, Optional, Regexp, ValidationError

from hrdnet.access import ROLE_LABELS, Role
from hrdnet.forms import Form
from hrdnet.timeutil import kst_today

PASSWORD_MIN, PASSWORD_MAX = 10, 128
MOBILE_RE = re.compile(r"^01[016789]-?\d{3,4}-?\d{4}$")

REQUIRED = "필수 입력 항목입니다."
EMAIL_FIELD = [
    DataRequired(REQUIRED),
    Length(max=254, message="이메일은 254자 이하로 입력해 주세요."),
    Email("올바른 이메일 주소를 입력해 주세요."),
]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _not_trivial(form, field):
    if len(set(field.data or "")) < 4:
        raise ValidationError("같은 문자를 반복한 비밀번호는 쓸 수 없습니다. 서로 다른 문자를 4개 이상 넣어 주세요.")


def new_password_field(label: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[
            DataRequired(REQUIRED),
            Length(
                min=PASSWORD_MIN,
                max=PASSWORD_MAX,
                message=f"비밀번호는 {PASSWORD_MIN}자 이상 {PASSWORD_MAX}자 이하로 입력해 주세요.",
            ),
            _not_trivial,
        ],
    )


def normalise_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return f"{digits[:3]}-{digits[3:-4]}-{digits[-4:]}"


class SignupForm(Form):
    email = EmailField("이메일", validators=EMAIL_FIELD, filters=[_strip])
    name = StringField(
        "이름",
        validators=[DataRequired(REQUIRED), Length(max=50, message="이름은 50자 이하로 입력해 주세요.")],
        filters=[_strip],
    )
    phone = StringField(
        "휴대전화 번호",
        validators=[
            DataRequired(REQUIRED),
            Regexp(MOBILE_RE, message="휴대전화 번호를 010-1234-5678 형식으로 입력해 주세요."),
        ],
        filters=[_strip],
    )
    birth_date = DateField("생년월일", validators=[InputRequired(REQUIRED)], render_kw={"min": "1900-01-01"})
    password = new_password_field("비밀번호")
    password_confirm = PasswordField(
        "비밀번호 확인", validators=[DataRequired(REQUIRED), EqualTo("password", message="비밀번호가 서로 다릅니다.")]
    )
    agree_privacy = BooleanField(
        "개인정보 수집·이용에 동의합니다 (필수)",
        validators=[DataRequired("개인정보 수집·이용에 동의해야 가입할 수 있습니다.")],
    )

    def validate_birth_date(self, field):
        today = kst_today()
        if field.data is None:
            return
        if field.data > today:
            raise ValidationError("생년월일이 오늘보다 늦을 수 없습니다.")
        if field.data.year < 1900:
            raise ValidationError("생년월일을 다시 확인해 주세요.")
        age = today.year - field.data.year - ((today.month, today.day) < (field.data.month, field.data.day))
        if age < 14:
            raise ValidationError("만 14세 미만은 법정대리인 동의가 필요해 온라인으로 가입할 수 없습니다.")


class LoginForm(Form):
    email = EmailField("이메일", validators=EMAIL_FIELD, filters=[_strip])
    password = PasswordField(
        "비밀번호", validators=[DataRequired(REQUIRED), Length(max=PASSWORD_MAX, message="비밀번호가 너무 깁니다.")]
    )
    next = HiddenField()


class OtpForm(Form):
    code = StringField(
        "인증 코드 (6자리)",
        validators=[DataRequired(REQUIRED), Regexp(r"^\d{6}$", message="인증 앱에 표시된 6자리 숫자를 입력해 주세요.")],
        filters=[_strip],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": "6"},
    )


class EmailOnlyForm(Form):
    email = EmailField("이메일", validators=EMAIL_FIELD, filters=[_strip])


class ConfirmForm(Form):
    """A form with only the CSRF token: a button that confirms an action."""


class NewPasswordForm(Form):
    password = new_password_field("새 비밀번호")
    password_confirm = PasswordField(
        "새 비밀번호 확인",
        validators=[DataRequired(REQUIRED), EqualTo("password", message="비밀번호가 서로 다릅니다.")],
    )


def _link_token_field() -> StringField:
    """The token of a mailed link: filled in by the page's script from the link's #t= fragment, or pasted
    by hand where scripts do not run."""
    return StringField(
        "확인 코드",
        validators=[
            DataRequired("메일의 링크를 다시 열거나, 메일에 적힌 확인 코드를 붙여 넣어 주세요."),
            Length(max=100, message="확인 코드가 너무 깁니다. 메일에 적힌 코드를 그대로 붙여 넣어 주세요."),
        ],
        filters=[_strip],
        description="메일의 링크로 열었다면 자동으로 채워집니다. 아니면 메일에 적힌 확인 코드를 붙여 넣어 주세요.",
        render_kw={"autocomplete": "off", "spellcheck": "false", "data-link-token": ""},
    )


class VerifyEmailForm(Form):
    token = _link_token_field()


class ResetPasswordForm(NewPasswordForm):
    token = _link_token_field()


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(
        "현재 비밀번호",
        validators=[DataRequired(REQUIRED), Length(max=PASSWORD_MAX, message="비밀번호가 너무 깁니다.")],
    )

    def validate_password(self, field):
        if field.data and field.data == self.current_password.data:
            raise ValidationError("새 비밀번호는 현재 비밀번호와 달라야 합니다.")


STAFF_ROLES = [SelectChoice(role.value, ROLE_LABELS[role]) for role in (Role.PROVIDER, Role.AUDITOR, Role.ADMIN)]


class CreateUserForm(Form):
    email = EmailField("이메일", validators=EMAIL_FIELD, filters=[_strip])
    name = StringField(
        "이름",
        validators=[DataRequired(REQUIRED), Length(max=50, message="이름은 50자 이하로 입력해 주세요.")],
        filters=[_strip],
    )
    role = SelectField("역할", choices=STAFF_ROLES, validators=[DataRequired(REQUIRED)])
    org_code = StringField(
        "소속 기관 코드",
        validators=[Optional(), Length(max=16, message="16자 이하로 입력해 주세요.")],
        filters=[_strip],
        description="훈련기관 담당자는 훈련기관 번호, 감사 담당자는 부처 코드(예: MOEL)를 입력합니다.",
    )


class ApiTokenNameForm(Form):
    name = StringField(
        "토큰 이름",
        validators=[DataRequired(REQUIRED), Length(max=100, message="100자 이하로 입력해 주세요.")],
        filters=[_strip],
    )
