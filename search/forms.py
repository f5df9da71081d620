"""The search page's query string (/courses?q=…&region=…) as a WTForms form, built from search.interfaces.PARAMS.

Each field wraps its parameter's `Param.parse` (what it accepts and the Korean message for what it does not
are defined once, in search.interfaces, and shared with the API's marshmallow schema, search.schemas). A GET
form that only reads needs no CSRF token (`meta.csrf = False`): links to searches are shared and bookmarked.

The page's policy (parse_page_args) differs from the API's: it never answers an error for its query string.
A bad value is left out, the search runs without it, and the page says in Korean which condition it ignored;
a link someone shortened, a bookmark from an older version or a hand-edited address still shows results. A
bad page or per_page goes back to its default silently (nobody types those), a text longer than Q_MAX is cut
to it (the first 200 characters still mean something), and a reversed date range drops start_to.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from werkzeug.datastructures import MultiDict
from wtforms import Field, StringField
from wtforms.validators import DataRequired, Length, ValidationError
from wtforms.widgets import TextInput

from hrdnet.forms import Form
from search.interfaces import PARAM_ORDER, PARAMS, Q_MAX, InvalidParam, Param, SearchParams, range_problem

SILENT = ("page", "per_page")  # set back to the default without a word


class ParamField(Field):
    """A query-string parameter: its value parsed by search.interfaces (None when empty)."""

    widget = TextInput()

    def __init__(self, param: Param, **kwargs):
        super().__init__(label=param.label, **kwargs)
        self.param = param

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist:
            try:
                self.data = self.param.parse(valuelist[0])
            except InvalidParam as problem:
                raise ValueError(str(problem)) from None

    def _value(self) -> str:
        return self.raw_data[0] if self.raw_data else ""


class _SearchFormBase(Form):
    class Meta:
        csrf = False  # a GET search form only reads

    def validate_start_to(self, field) -> None:
        problem = range_problem(self.start_from.data, field.data)
        if problem:
            raise ValidationError(problem)


SearchForm = type("SearchForm", (_SearchFormBase,), {param.name: ParamField(param) for param in PARAMS})


@dataclasses.dataclass(frozen=True)
class Ignored:
    """A condition of the address the page left out, and why (Korean)."""

    param: str
    label: str
    value: str
    message: str


def _first_values(args: Mapping) -> MultiDict:
    """A repeated parameter counts once (its first value); a text longer than Q_MAX is cut to it."""
    getlist = getattr(args, "getlist", None)
    first = {key: (getlist(key) or [None])[0] for key in args} if getlist else dict(args)
    q = first.get("q")
    if isinstance(q, str) and len(q.strip()) > Q_MAX:
        first["q"] = q.strip()[:Q_MAX]
    return MultiDict({key: value for key, value in first.items() if value is not None})


def parse_page_args(args: Mapping) -> tuple[SearchParams, list[Ignored]]:
    """The page's policy: keep every valid condition, leave out the bad ones and say which (never raises)."""
    formdata = _first_values(args)
    form = SearchForm(formdata=formdata)
    form.validate()
    values, ignored = {}, []
    for field in form:
        if field.errors:
            if field.name not in SILENT:
                ignored.append(
                    Ignored(
                        field.name, field.label.text, str(formdata.get(field.name) or "")[:40], " ".join(field.errors)
                    )
                )
        elif field.data is not None:
            values[field.name] = field.data
    ignored.sort(key=lambda item: PARAM_ORDER.index(item.param))
    return SearchParams(**values), ignored


class SavedSearchForm(Form):
    """Save the search of the page under a short name, or rename a saved one (the search is the page's
    query arguments, sent alongside as hidden fields and read by parse_page_args)."""

    name = StringField(
        "이름",
        validators=[DataRequired("이름을 입력해 주세요."), Length(max=40, message="40자 이하로 입력해 주세요.")],
    )


class DeleteSavedSearchForm(Form):
    """A button that only needs its CSRF token."""
