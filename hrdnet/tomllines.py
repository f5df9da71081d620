"""Where a key sits in a TOML file: rule files name the line of a mistake, which tomllib cannot tell.

    key_lines(text)   → {("withdrawal", "steps", 0, "refund_percent"): 93, ...}  every key and table header
    line_of(text, path) → int | None   the line of `path`, else of its nearest ancestor that has one
    parse_path("rules.general.periods[0].bands[2]") → ("rules", "general", "periods", 0, "bands", 2)

Paths are tuples of table keys and array indices, as the parsed document nests them; array-of-tables
headers ([[a.b]]) count their elements, so the second [[withdrawal.free_windows]] is
("withdrawal", "free_windows", 1). Lines are 1-based. This is a scanner for well-formed files (tomllib has
already accepted them): it follows strings, comments, brackets and braces, not TOML's value grammar.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

Path = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def parse_path(dotted: str) -> Path:
    """'a.b[2].c' → ('a', 'b', 2, 'c'); '' or 'top level' → ()."""
    if dotted in ("", "top level"):
        return ()
    parts: list[str | int] = []
    for piece in dotted.split("."):
        name, *indices = re.split(r"\[(\d+)\]", piece)
        if name:
            parts.append(name)
        parts += [int(index) for index in indices if index]
    return tuple(parts)


def line_of(text: str, path: Sequence[str | int]) -> int | None:
    """The line of the key or table at `path`, else of its nearest ancestor found; None if none is.

    A path without array indices ("withdrawal.free_windows.max_days") finds the first element that has it.
    """
    lines = key_lines(text)
    path = tuple(path)
    while path:
        found = lines.get(path) or _first_ignoring_indices(lines, path)
        if found:
            return found
        path = path[:-1]
    return None


def _first_ignoring_indices(lines: dict[Path, int], path: Path) -> int | None:
    names = _names(path)
    return min((line for found, line in lines.items() if _names(found) == names), default=None)


def _names(path: Path) -> Path:
    return tuple(part for part in path if not isinstance(part, int))


def key_lines(text: str) -> dict[Path, int]:
    """Every key and table header of a TOML document, by its path, with the line it starts on."""
    return _Scanner(text).scan()


class _Scanner:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.line = 1
        self.found: dict[Path, int] = {}
        self.table: Path = ()
        self.array_counts: dict[Path, int] = {}  # header path without indices → elements seen

    def scan(self) -> dict[Path, int]:
        while self.pos < len(self.text):
            self._skip_blank_and_comments()
            if self.pos >= len(self.text):
                break
            if self._peek() == "[":
                self._header()
            else:
                self._key_value(self.table)
            self._skip_to_line_end()
        return self.found

    # -- statements --

    def _header(self) -> None:
        line = self.line
        is_array = self.text.startswith("[[", self.pos)
        self.pos += 2 if is_array else 1
        keys = self._dotted_key()
        self.pos += 2 if is_array else 1
        path = self._resolve(keys)
        if is_array:
            count = self.array_counts.get(tuple(keys), 0)
            self.array_counts[tuple(keys)] = count + 1
            path = (*path, count)
        self.table = path
        for depth in range(1, len(path) + 1):  # [a.b.c] also defines a and a.b, if nothing did before
            self.found.setdefault(path[:depth], line)

    def _resolve(self, keys: list[str]) -> Path:
        """A header's keys with the current element index after each prefix that is an array of tables."""
        path: list[str | int] = []
        for depth in range(1, len(keys) + 1):
            path.append(keys[depth - 1])
            count = self.array_counts.get(tuple(keys[:depth]))
            if count and depth < len(keys):
                path.append(count - 1)
        return tuple(path)

    def _key_value(self, table: Path) -> None:
        line = self.line
        path = (*table, *self._dotted_key())
        for depth in range(len(table) + 1, len(path) + 1):  # a.b = 1 also defines a
            self.found.setdefault(path[:depth], line)
        self._skip_spaces()
        self.pos += 1  # '='
        self._skip_spaces()
        self._value(path)

    # -- values: only their structure matters --

    def _value(self, path: Path) -> None:
        char = self._peek()
        if char == "{":
            self._inline_table(path)
        elif char == "[":
            self._array(path)
        elif char and char in "\"'":
            self._string()
        else:
            while self.pos < len(self.text) and self.text[self.pos] not in ",]}\n#":
                self.pos += 1

    def _inline_table(self, path: Path) -> None:
        self.pos += 1
        while True:
            self._skip_blank_and_comments()
            if self._peek() == "}":
                self.pos += 1
                return
            self._key_value(path)
            self._skip_blank_and_comments()
            if self._peek() == ",":
                self.pos += 1

    def _array(self, path: Path) -> None:
        self.pos += 1
        index = 0
        while True:
            self._skip_blank_and_comments()
            if self._peek() == "]":
                self.pos += 1
                return
            self.found.setdefault((*path, index), self.line)
            self._value((*path, index))
            self._skip_blank_and_comments()
            if self._peek() == ",":
                self.pos += 1
                index += 1

    # -- lexical pieces --

    def _dotted_key(self) -> list[str]:
        keys = []
        while True:
            self._skip_spaces()
            if self._peek() and self._peek() in "\"'":
                start = self.pos
                self._string()
                keys.append(self.text[start + 1 : self.pos - 1])
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                keys.append(match.group() if match else "")
                self.pos = match.end() if match else self.pos + 1
            self._skip_spaces()
            if self._peek() != ".":
                return keys
            self.pos += 1

    def _string(self) -> None:
        quote = self._peek()
        triple = self.text.startswith(quote * 3, self.pos)
        closing = quote * 3 if triple else quote
        self.pos += len(closing)
        while self.pos < len(self.text) and not self.text.startswith(closing, self.pos):
            if self.text[self.pos] == "\\" and quote == '"':
                self.pos += 1
            self._advance()
        self.pos += len(closing)

    def _advance(self) -> None:
        if self.pos < len(self.text) and self.text[self.pos] == "\n":
            self.line += 1
        self.pos += 1

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _skip_spaces(self) -> None:
        while self._peek() in (" ", "\t"):
            self.pos += 1

    def _skip_blank_and_comments(self) -> None:
        while self.pos < len(self.text):
            char = self._peek()
            if char in " \t\r\n":
                self._advance()
            elif char == "#":
                self._skip_to_line_end()
            else:
                return

    def _skip_to_line_end(self) -> None:
        while self.pos < len(self.text) and self._peek() != "\n":
            self.pos += 1
