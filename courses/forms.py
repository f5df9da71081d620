"""Catalog admin forms (field checks with Korean messages; the services re-check)."""

from __future__ import annotations

from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange

from hrdnet.forms import Form


class MergeForm(Form):
    merge_id = IntegerField(
        "합칠 과정 번호",
        validators=[
            InputRequired("합칠 과정의 번호를 입력해 주세요."),
            NumberRange(min=1, max=2**31 - 1, message="올바른 과정 번호를 입력해 주세요."),
        ],
        description="이 과정으로 옮길 다른 과정의 번호입니다. 그 과정의 목록과 회차가 모두 이 과정으로 옮겨집니다.",
    )


class SplitForm(Form):
    """Only the CSRF token: the listing to split is in the address."""
