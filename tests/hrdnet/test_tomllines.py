"""hrdnet/tomllines.py: the line of a key in a TOML file, which the rule files name in their errors."""

from __future__ import annotations

import tomllib

import pytest

from courses import pricing
from hrdnet.tomllines import key_lines, line_of, parse_path
from vouchers.cards import rules as card_rules_module

TEXT = """\
# a comment with [brackets] and key = "value"
format = 1
title = "a # that is no comment"   # but this is

[a]
b = 2
"quoted key" = 3
dotted.key = 4
list = [
    { x = 1, y = 2 },   # first
    { x = 3, z = 4 },
]
text = \"\"\"
multi [line] { string }
\"\"\"


[[rows]]
n = 1

[[rows]]
n = 2

[rows.sub]
m = 3

[c.d]
e = 'single'
"""


def test_the_text_is_valid_toml():
    tomllib.loads(TEXT)


@pytest.mark.parametrize(
    ("path", "line"),
    [
        (("format",), 2),
        (("title",), 3),
        (("a",), 5),
        (("a", "b"), 6),
        (("a", "quoted key"), 7),
        (("a", "dotted", "key"), 8),
        (("a", "list"), 9),
        (("a", "list", 0), 10),
        (("a", "list", 0, "y"), 10),
        (("a", "list", 1, "x"), 11),
        (("a", "list", 1, "z"), 11),
        (("a", "text"), 13),
        (("rows", 0), 18),
        (("rows", 0, "n"), 19),
        (("rows", 1, "n"), 22),
        (("rows", 1, "sub", "m"), 25),
        (("c",), 27),  # an implicit table: the line of the header that made it
        (("c", "d", "e"), 28),
        (("a", "dotted"), 8),
    ],
)
def test_every_key_has_its_line(path, line):
    assert key_lines(TEXT)[path] == line


def test_a_missing_key_gets_its_nearest_ancestors_line():
    assert line_of(TEXT, ("a", "list", 1, "missing")) == 11
    assert line_of(TEXT, ("a", "list", 5)) == 9
    assert line_of(TEXT, ("nowhere",)) is None
    assert line_of(TEXT, ("rows", "n")) == 19  # without indices: the first element that has it


@pytest.mark.parametrize(
    ("dotted", "path"),
    [
        ("", ()),
        ("top level", ()),
        ("format", ("format",)),
        ("rules.general.periods[0].bands[2].percent", ("rules", "general", "periods", 0, "bands", 2, "percent")),
        ("withdrawal.steps[0]", ("withdrawal", "steps", 0)),
    ],
)
def test_parse_path(dotted, path):
    assert parse_path(dotted) == path


@pytest.mark.parametrize("path", [pricing.DEFAULT_RULES_FILE, card_rules_module.DEFAULT_FILE])
def test_the_shipped_rule_files_are_scanned_whole(path):
    text = path.read_text(encoding="utf-8")
    lines = key_lines(text)
    data = tomllib.loads(text)

    def walk(value, at):
        if isinstance(value, dict):
            for key, inner in value.items():
                assert (*at, key) in lines, (*at, key)
                walk(inner, (*at, key))
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(inner, (*at, index))

    walk(data, ())
