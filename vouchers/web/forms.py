"""Forms of the card and enrolment pages (field checks with Korean messages; the services re-check)."""

from __future__ import annotations

import secrets

from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, HiddenField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from hrdnet.auth.forms import MOBILE_RE, REQUIRED, normalise_phone
from hrdnet.forms import Form
from hrdnet.timeutil import kst_today


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class IdentityForm(Form):
    name = StringField(
        "이름",
        validators=[DataRequired(REQUIRED), Length(max=50, message="이름은 50자 이하로 입력해 주세요.")],
        filters=[_strip],
    )
    birth_date = DateField("생년월일", validators=[InputRequired(REQUIRED)], render_kw={"min": "1900-01-01"})
    phone = StringField(
        "휴대전화 번호",
        validators=[
            DataRequired(REQUIRED),
            Regexp(MOBILE_RE, message="휴대전화 번호를 010-1234-5678 형식으로 입력해 주세요."),
        ],
        filters=[_strip],
    )

    def validate_birth_date(self, field):
        if field.data is not None and not (1900 <= field.data.year and field.data <= kst_today()):
            raise ValidationError("생년월일을 다시 확인해 주세요.")

    @property
    def normalised_phone(self) -> str:
        return normalise_phone(self.phone.data)


class MultiCheckboxField(SelectMultipleField):
    """Several checkboxes for one field (the template lays them out in KRDS markup)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CardApplicationForm(Form):
    employment_status = SelectField(
        "고용 상태",
        validators=[InputRequired("고용 상태를 골라 주세요.")],
        description="신청하는 날 기준의 상태를 골라 주세요.",
    )
    groups = MultiCheckboxField(
        "지원 대상 구분 (해당하는 것 모두)",
        validators=[Optional()],
        description="자비부담 감면이나 추가 지원의 근거가 됩니다. 심사 때 증빙을 확인합니다.",
    )
    excluded = MultiCheckboxField(
        "발급 제외 대상 확인", validators=[Optional()], description="해당하는 것이 있으면 카드를 발급받을 수 없습니다."
    )
    confirm = BooleanField(
        "입력한 내용이 사실임을 확인합니다 (필수)", validators=[DataRequired("내용이 사실임을 확인해 주세요.")]
    )

    def set_choices(self, statuses: dict[str, str], groups: dict[str, str], excluded: dict[str, str]) -> None:
        self.employment_status.choices = [("", "골라 주세요")] + list(statuses.items())
        self.groups.choices = sorted(groups.items(), key=lambda item: item[1])
        self.excluded.choices = list(excluded.items())

    def validate_employment_status(self, field):
        if not field.data:
            raise ValidationError("고용 상태를 골라 주세요.")


class StatusForm(Form):
    """The learner's own status (내 계정 → 고용 상태): it picks the self-pay row every price is shown at."""

    employment_status = SelectField(
        "고용 상태",
        validators=[InputRequired("고용 상태를 골라 주세요.")],
        description="오늘부터의 상태입니다. 과정 가격이 이 상태로 계산됩니다.",
    )
    groups = MultiCheckboxField(
        "지원 대상 구분 (해당하는 것 모두)",
        validators=[Optional()],
        description="자비부담 감면이나 추가 지원의 근거가 됩니다. 수강 신청 때 증빙을 확인할 수 있습니다.",
    )

    def set_choices(self, statuses: dict[str, str], groups: dict[str, str]) -> None:
        self.employment_status.choices = [("", "골라 주세요")] + list(statuses.items())
        self.groups.choices = sorted(groups.items(), key=lambda item: item[1])

    def validate_employment_status(self, field):
        if not field.data:
            raise ValidationError("고용 상태를 골라 주세요.")


def new_request_key() -> str:
    """A fresh key for each rendered enrol form: a double click sends the same key twice."""
    return secrets.token_urlsafe(24)


class EnrolForm(Form):
    password = PasswordField(
        "비밀번호",
        validators=[
            DataRequired("본인 확인을 위해 비밀번호를 입력해 주세요."),
            Length(max=128, message="비밀번호가 너무 깁니다."),
        ],
    )
    request_key = HiddenField(
        validators=[
            DataRequired("요청 번호가 없습니다. 페이지를 새로 고친 뒤 다시 시도해 주세요."),
            Length(min=16, max=100, message="요청 번호가 올바르지 않습니다."),
        ]
    )


class CancelForm(Form):
    """The enrolment is in the address; a learner leaving after the free window may give an exempt reason."""

    exempt_reason = SelectField(
        "그만두는 사유",
        validators=[Optional()],
        description="조기취업, 질병·부상 같은 사유가 있으면 골라 주세요. 훈련기관이 증빙을 확인할 때까지 "
        "제재가 보류되고, 확인되면 제재를 받지 않습니다.",
    )

    def set_reasons(self, reasons: dict[str, str]) -> None:
        self.exempt_reason.choices = [("", "해당 없음")] + list(reasons.items())


class DecisionForm(Form):
    decision = StringField(validators=[DataRequired("승인 또는 반려를 골라 주세요.")])
    reason = StringField(
        "사유",
        validators=[Optional(), Length(max=500, message="사유는 500자 이하로 입력해 주세요.")],
        filters=[_strip],
        description="반려할 때는 사유를 꼭 적어 주세요. 신청인에게 보입니다.",
    )

    def validate_decision(self, field):
        if field.data not in ("approve", "reject"):
            raise ValidationError("승인 또는 반려를 골라 주세요.")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.decision.data == "reject" and not self.reason.data:  # Optional() would skip an inline check
            self.reason.errors = [*self.reason.errors, "반려 사유를 적어 주세요."]
            return False
        return valid

    @property
    def approve(self) -> bool:
        return self.decision.data == "approve"


class AttendanceDayForm(Form):
    """One day's marks on the roster page: `day` plus a `mark-<enrolment id>` select per learner (read by
    marks(); the service refuses an enrolment not on the run, a day not scheduled, a settled period)."""

    day = DateField("훈련일", validators=[InputRequired("훈련일을 골라 주세요.")])

    def marks(self, enrolment_ids, formdata) -> list[tuple[int, str]]:
        return [
            (enrolment_id, formdata[f"mark-{enrolment_id}"])
            for enrolment_id in enrolment_ids
            if formdata.get(f"mark-{enrolment_id}")
        ]


class CorrectionRequestForm(Form):
    """A change to one mark in a settled unit period; the auditor of the run's ministry decides."""

    enrolment_id = SelectField("수강생", coerce=int, validate_choice=False)
    day = DateField("훈련일", validators=[InputRequired("훈련일을 골라 주세요.")])
    mark = SelectField("바른 출석 구분", validators=[DataRequired("출석 구분을 골라 주세요.")])
    reason = StringField(
        "정정 사유",
        validators=[DataRequired(REQUIRED), Length(min=5, max=500, message="사유를 5~500자로 적어 주세요.")],
        filters=[_strip],
        description="감사 담당자가 사유를 보고 승인하거나 반려합니다. 승인되면 지급액 차이가 정산됩니다.",
    )


class AttendanceCsvForm(Form):
    file = FileField("출석 CSV 파일", validators=[FileRequired("올릴 파일을 골라 주세요.")])


class ContactReasonForm(Form):
    reason = StringField(
        "연락처를 보려는 이유",
        validators=[DataRequired(REQUIRED), Length(min=5, max=200, message="이유를 5~200자로 적어 주세요.")],
        filters=[_strip],
        description="이유와 조회 사실이 감사 기록에 남습니다.",
    )


class CancelRunForm(Form):
    reason = StringField(
        "폐강 사유",
        validators=[DataRequired(REQUIRED), Length(max=200, message="200자 이내로 적어 주세요.")],
        filters=[_strip],
        description="수강생에게 메일로 그대로 전달됩니다.",
    )


class ToggleForm(Form):
    """A button that only needs its CSRF token (관심 과정 담기/빼기, 모두 읽음)."""


class ReminderSettingsForm(Form):
    """Which kinds of reminder are on (the choices are vouchers.reminders.operations.KINDS)."""

    kinds = SelectMultipleField(
        "받을 알림", option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False), validate_choice=True
    )

    def set_choices(self, kinds: dict[str, str]) -> None:
        self.kinds.choices = list(kinds.items())


class RatingForm(Form):
    score = SelectField("점수", validators=[InputRequired("점수를 골라 주세요.")])
    comment = StringField(
        "한 줄 평 (선택)", validators=[Optional(), Length(max=1000, message="1,000자까지 쓸 수 있습니다.")]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # set after construction, as the other forms do (tuples given to the field itself are deprecated)
        self.score.choices = [
            ("5", "5점 — 매우 좋음"),
            ("4", "4점"),
            ("3", "3점"),
            ("2", "2점"),
            ("1", "1점 — 매우 나쁨"),
        ]


class RatingTextForm(Form):
    """A provider's reply, or an admin's reason for hiding a comment."""

    text = StringField("내용", validators=[DataRequired("내용을 써 주세요."), Length(max=1000)])
