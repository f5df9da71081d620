"""The provider's course-and-run form (Korean messages). WTForms checks each field's type and size, so a
draft saves incomplete; `check_submission` adds every rule a submission must meet (courses.portal.rules,
which the services apply again and the database backs with its constraints)."""

from __future__ import annotations

import re
from datetime import date

from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from courses.models import Programme, Region
from courses.portal import fields, registration, rules
from courses.portal.models import DOCUMENT_KINDS
from courses.services import MODE_LABELS, WEEKEND_LABELS
from hrdnet.auth.forms import EMAIL_FIELD, REQUIRED, new_password_field
from hrdnet.extensions import db
from hrdnet.forms import Form

MAX_INT = 2**31 - 1
_DAY_SPLIT = re.compile(r"[\s,]+")


def _choices(pairs) -> list[SelectChoice]:
    """A select's options after an empty "선택" (nothing chosen yet: a draft may leave it so)."""
    return [SelectChoice("", "선택")] + [SelectChoice(value, label) for value, label in pairs]


def _amount(label: str) -> IntegerField:
    return IntegerField(
        label,
        validators=[Optional(), NumberRange(min=0, max=MAX_INT, message="0 이상의 금액(원)을 숫자로 입력해 주세요.")],
    )


def _optional_date(label: str) -> DateField:
    return DateField(label, validators=[Optional()], render_kw={"type": "date"})


class TrainingDaysField(TextAreaField):
    """Scheduled training days as YYYY-MM-DD, separated by spaces, commas or lines; empty = by 훈련 요일."""

    def process_formdata(self, valuelist):
        self.data = []
        text = (valuelist[0] if valuelist else "") or ""
        for token in filter(None, _DAY_SPLIT.split(text.strip())):
            try:
                self.data.append(date.fromisoformat(token))
            except ValueError:
                self.data = []
                raise ValueError(f"날짜는 2026-03-02 처럼 입력해 주세요: {token[:20]}") from None
        self.data = sorted(set(self.data))

    def _value(self):
        return "\n".join(d.isoformat() for d in self.data or [])


class RunSubmissionForm(Form):
    programme = SelectField(fields.FIELDS["programme"], validators=[Optional()])
    title = StringField(fields.FIELDS["title"], validators=[Length(max=300, message="300자 이내로 입력해 주세요.")])
    summary = TextAreaField(
        fields.FIELDS["summary"], validators=[Length(max=500, message="500자 이내로 입력해 주세요.")]
    )
    contents = TextAreaField(
        fields.FIELDS["contents"], validators=[Length(max=5000, message="5,000자 이내로 입력해 주세요.")]
    )
    ncs = StringField(
        fields.FIELDS["ncs"],
        validators=[Optional(), Regexp(r"^\d{8}$", message="NCS 세분류 코드 8자리를 입력해 주세요.")],
        description="세분류(8자리) 코드입니다. 분류 이름(예: 응용SW엔지니어링)으로 찾을 수 있습니다.",
    )
    mode = SelectField(
        fields.FIELDS["mode"], choices=_choices((m, MODE_LABELS[m]) for m in rules.MODES), validators=[Optional()]
    )
    region = SelectField(fields.FIELDS["region"], validators=[Optional()])
    address = StringField(fields.FIELDS["address"], validators=[Length(max=300, message="300자 이내로 입력해 주세요.")])
    start_date = _optional_date(fields.FIELDS["start_date"])
    end_date = _optional_date(fields.FIELDS["end_date"])
    weekend = SelectField(
        fields.FIELDS["weekend"],
        choices=_choices((w, WEEKEND_LABELS[w]) for w in rules.WEEKEND_KINDS),
        validators=[Optional()],
    )
    training_days = TrainingDaysField(
        fields.FIELDS["training_days"],
        description="비워 두면 훈련 요일과 공휴일로 계산합니다. 직접 정하려면 날짜를 한 줄에 하나씩 입력하세요.",
    )
    hours_per_day = IntegerField(
        fields.FIELDS["hours_per_day"],
        validators=[Optional(), NumberRange(min=0, max=24, message="0~24 사이의 시간을 입력해 주세요.")],
    )
    fee = _amount(fields.FIELDS["fee"])
    support_amount = _amount(fields.FIELDS["support_amount"])
    capacity = IntegerField(
        fields.FIELDS["capacity"],
        validators=[Optional(), NumberRange(min=0, max=100_000, message="정원을 숫자로 입력해 주세요.")],
    )
    apply_from = _optional_date(fields.FIELDS["apply_from"])
    apply_until = _optional_date(fields.FIELDS["apply_until"])
    certificate = StringField(
        fields.FIELDS["certificate"], validators=[Length(max=300, message="300자 이내로 입력해 주세요.")]
    )
    target_learners = StringField(
        fields.FIELDS["target_learners"], validators=[Length(max=300, message="300자 이내로 입력해 주세요.")]
    )
    save = SubmitField("임시 저장")
    submit = SubmitField("승인 요청")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        programmes = db.session.execute(select(Programme.code, Programme.name).order_by(Programme.code))
        self.programme.choices = _choices((code, f"{name} ({code})") for code, name in programmes)
        self.region.choices = _choices(db.session.execute(select(Region.code, Region.name).order_by(Region.code)))

    @property
    def submitting(self) -> bool:
        return bool(self.submit.data)

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in fields.FIELDS}

    def fill(self, values: dict) -> None:
        for name in fields.FIELDS:
            getattr(self, name).data = values.get(name)

    def check_submission(self, provider_id: int, run_id: int | None) -> bool:
        """Every rule of a submission, each message on its field; False when any fails."""
        problems = rules.check(self.values(), provider_id=provider_id, run_id=run_id)
        for name, messages in problems.items():
            getattr(self, name).errors = list(getattr(self, name).errors) + messages
        return not problems


class DecisionForm(Form):
    reason = TextAreaField(
        "사유",
        validators=[Length(max=1000, message="1,000자 이내로 입력해 주세요.")],
        description="반려할 때는 꼭 적어 주세요. 훈련기관에 그대로 전달됩니다.",
    )
    approve = SubmitField("승인")
    reject = SubmitField("반려")

    def validate_reason(self, field):
        if self.reject.data and not (field.data or "").strip():
            raise ValidationError("반려 사유를 입력해 주세요.")


class ConfirmForm(Form):
    """Only the CSRF token (e.g. withdrawing a submission)."""


# -- registration, vetting, staff, claims ------------------------------------------------------------------


class RegistrationForm(Form):
    name = StringField(
        "기관명", validators=[DataRequired(REQUIRED), Length(max=200, message="200자 이내로 입력해 주세요.")]
    )
    business_number = StringField(
        "사업자등록번호",
        validators=[DataRequired(REQUIRED)],
        description="10자리 숫자 (예: 123-45-67891). 검증 숫자를 확인합니다.",
    )
    representative = StringField(
        "대표자", validators=[DataRequired(REQUIRED), Length(max=50, message="50자 이내로 입력해 주세요.")]
    )
    region = SelectField("지역", validators=[DataRequired(REQUIRED)])
    address = StringField(
        "주소", validators=[DataRequired(REQUIRED), Length(max=300, message="300자 이내로 입력해 주세요.")]
    )
    contact_name = StringField(
        "담당자 이름", validators=[DataRequired(REQUIRED), Length(max=50, message="50자 이내로 입력해 주세요.")]
    )
    contact_email = EmailField("담당자 이메일", validators=EMAIL_FIELD, description="이 주소로 확인 링크를 보냅니다.")
    password = new_password_field("비밀번호")
    agree_privacy = BooleanField(
        "개인정보 수집·이용에 동의합니다 (필수)", validators=[DataRequired("동의해야 등록할 수 있습니다.")]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        regions = db.session.execute(select(Region.code, Region.name).where(Region.level == 1).order_by(Region.code))
        self.region.choices = _choices(regions)

    def validate_business_number(self, field):
        if not registration.valid_business_number(field.data):
            raise ValidationError("사업자등록번호가 올바르지 않습니다. 10자리 숫자를 다시 확인해 주세요.")


class DocumentForm(Form):
    kind = SelectField("서류 종류", choices=[SelectChoice(k, v) for k, v in DOCUMENT_KINDS.items()])
    file = FileField("파일 (PDF, PNG, JPG)", validators=[FileRequired("올릴 파일을 골라 주세요.")])


class VerifyForm(Form):
    note = TextAreaField(
        "외부 확인 기록",
        validators=[
            DataRequired("무엇을 어떻게 확인했는지 적어 주세요."),
            Length(max=1000, message="1,000자 이내로 입력해 주세요."),
        ],
        description="예: 국세청 사업자 상태 조회(계속사업자), 등록 대표번호로 전화해 대표자 확인.",
    )


class InviteForm(Form):
    email = EmailField("이메일", validators=EMAIL_FIELD)
    name = StringField(
        "이름", validators=[DataRequired(REQUIRED), Length(max=50, message="50자 이내로 입력해 주세요.")]
    )
    takes_attendance = BooleanField("출석 담당 (수강생 이름 전체를 보고 출석을 기록)")


class ClaimForm(Form):
    external_id = StringField(
        "HRD-Net 훈련기관 ID (trainstCstId)",
        validators=[
            DataRequired(REQUIRED),
            Regexp(r"^[0-9A-Za-z_-]{3,64}$", message="영문·숫자로 된 ID를 입력해 주세요."),
        ],
    )


class BulkUploadForm(Form):
    file = FileField("회차 CSV 파일", validators=[FileRequired("올릴 파일을 골라 주세요.")])
