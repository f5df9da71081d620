"""The JSON API's query string (GET /api/v1/courses), as a marshmallow schema built from search.interfaces.PARAMS.

Each field wraps its parameter's `Param.parse` (what it accepts and the Korean message for what it does not
are defined once, in search.interfaces, and shared with the page's WTForms form, search.forms), and states
the parameter's type, enum and bounds for the OpenAPI document. The API refuses a bad value: 422
`{"error": {"code": "validation_error", "message", "details": {param: [messages]}}}` (search/api.py): a
client that sends page=0 or per_page=1000 has a bug, and clamping would hide it. An empty value means "not
set"; unknown parameters are ignored; a repeated parameter counts once (its first value).
"""

from __future__ import annotations

import marshmallow as ma

from search.interfaces import PARAMS, InvalidParam, Param, SearchParams, range_problem

_FIELD_TYPES = {"text": ma.fields.String, "date": ma.fields.Date, "flag": ma.fields.Boolean, "int": ma.fields.Integer}


def _field(param: Param) -> ma.fields.Field:
    """A marshmallow field of the parameter's type (for the OpenAPI document) that parses like the page."""

    class ParamField(_FIELD_TYPES[param.kind]):
        def _deserialize(self, value, attr, data, **kwargs):
            try:
                return param.parse(value)
            except InvalidParam as problem:
                raise ma.ValidationError(str(problem)) from None

    documented = {"description": param.description}
    if param.choices:
        documented["enum"] = list(param.choices)
    if param.low is not None:
        documented |= {"minimum": param.low, "maximum": param.high}
    if param.max_length is not None:
        documented["maxLength"] = param.max_length
    if param.pattern is not None:
        documented["pattern"] = param.pattern
    return ParamField(metadata=documented)


class _SearchArgsBase(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    @ma.pre_load
    def _first_values(self, data, **_kwargs):
        """A repeated parameter counts once (its first value)."""
        return {
            key: (value[0] if value else None) if isinstance(value, list | tuple) else value
            for key, value in data.items()
            if key in self.fields
        }

    @ma.validates_schema
    def _range_in_order(self, data, **_kwargs):
        problem = range_problem(data.get("start_from"), data.get("start_to"))
        if problem:
            raise ma.ValidationError(problem, field_name="start_to")

    @ma.post_load
    def _to_params(self, data, **_kwargs) -> SearchParams:
        return SearchParams(**{name: value for name, value in data.items() if value is not None})


# The search's query-string parameters (documented in the OpenAPI document of /api/v1/courses).
SearchArgs = type("SearchArgs", (_SearchArgsBase,), {param.name: _field(param) for param in PARAMS})
