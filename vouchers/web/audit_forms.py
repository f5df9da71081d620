"""Forms of the audit console: each POST carries a CSRF token; the services re-check every value."""

from __future__ import annotations

from wtforms import HiddenField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length

from hrdnet.forms import Form
from vouchers.audit.drill import MIN_REASON

_REASON = f"사유를 {MIN_REASON}자 이상 적어 주세요."


class UnmaskForm(Form):
    reason = TextAreaField(
        "열람 사유",
        validators=[DataRequired(_REASON), Length(min=MIN_REASON, max=500, message=_REASON)],
        description="예: 2027년 4월 출석 정산 이의 건 확인. 사유와 열람자는 감사 로그에 남습니다.",
    )


class ReviewForm(Form):
    note = TextAreaField(
        "검토 메모",
        validators=[DataRequired("검토 내용을 적어 주세요."), Length(min=5, max=2000, message="5자 이상 적어 주세요.")],
    )


class ExportForm(Form):
    """The filters of the table being exported travel as hidden fields, exactly as the page used them."""

    table = HiddenField()
    format = HiddenField("형식", validators=[AnyOf(["csv", "xlsx"], message="CSV 또는 XLSX를 고르세요.")])
    group_by = HiddenField()
    programme = HiddenField()
    provider = HiddenField()
    region = HiddenField()
    month_from = HiddenField()
    month_to = HiddenField()
    run = HiddenField()
    ministry = HiddenField()
