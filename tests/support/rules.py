"""A copy of the shipped card rules with some lines changed, for tests that run under other rule values."""

from __future__ import annotations

from pathlib import Path

from vouchers.cards.rules import DEFAULT_FILE as CARD_RULES_SHIPPED


def copy_card_rules(tmp_path: Path, replace: dict[str, str]) -> Path:
    """The shipped card_rules.toml with each `old` (which must occur exactly once) replaced by `new`."""
    text = CARD_RULES_SHIPPED.read_text(encoding="utf-8")
    for old, new in replace.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "card_rules.toml"
    path.write_text(text, encoding="utf-8")
    return path
