"""Card rules as data (vouchers/cards/rules.py, vouchers/data/card_rules.toml): loading, validation, the functions.

Pure: no app, no database. Values come from the design's domain.md ("The card", "Enrolment lifecycle") and the
sources named in the file beside each value.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from vouchers.cards import rules as rules_module
from vouchers.cards.rules import Allowance, CardRulesError, Penalty, card_rules

SHIPPED = rules_module.DEFAULT_FILE
START = date(2027, 3, 2)


def copy_rules(tmp_path: Path, replace: dict[str, str] | None = None, name: str = "card_rules.toml") -> Path:
    """A copy of the shipped rule file with some text replaced (each replacement must match exactly once)."""
    text = SHIPPED.read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- the shipped file ------------------------------------------------------------------------------------------


def test_the_shipped_file_loads_with_the_values_of_the_design():
    rules = card_rules()
    assert (rules.min_age, rules.max_age) == (15, 74)
    assert set(rules.excluded_groups) == {"public_servant", "private_school_staff", "high_earner"}
    assert (rules.card_limit, rules.card_valid_years, rules.top_up_when_below) == (3_000_000, 5, 100_000)
    assert rules.top_ups == {
        "basic_livelihood": 2_000_000,
        "kua_type1": 2_000_000,
        "near_poor": 2_000_000,
        "disabled": 2_000_000,  # in the +200만원 group (it shipped as 1,000,000, the pre-2026 amount)
        "non_regular_worker": 2_000_000,
        "single_parent": 2_000_000,
        "care_leaver": 2_000_000,
    }
    assert rules.top_up_labels["disabled"] == "장애인" and rules.top_up_labels["care_leaver"] == "자립준비청년"
    assert all(group.source for group in rules.top_up_groups.values())  # every group says where it comes from
    assert (rules.kdigital_limit, rules.kdigital_valid_years) == (500_000, 1)
    assert set(rules.statuses) == {
        "unemployed",
        "short_hours_worker",
        "employed",
        "self_employed",
        "special_employment",
        "student",
    }
    assert rules.allowance_statuses == {"unemployed", "short_hours_worker"}
    assert (rules.hold_minutes, rules.completion_rate, rules.lates_per_absence) == (30, 0.8, 3)
    assert (rules.settlement_rounding, rules.settlement_period_months) == (10, 1)
    assert [(w.max_days, w.days_after_start) for w in rules.free_windows] == [(9, 0), (29, 1), (180, 7), (None, 14)]
    assert rules.remote_days_after_start == 0 and rules.refund_steps == ()
    assert rules.sanctions["card"].penalties == (Penalty(200_000, 0), Penalty(500_000, 60), Penalty(1_000_000, 60))
    assert rules.sanctions["card"].outcomes == {"dropped", "incomplete"}
    assert rules.sanctions["kdigital"].penalties == (Penalty(40_000, 0), Penalty(100_000, 0), Penalty(200_000, 0))
    assert set(rules.exempt_reasons) == {
        "early_employment",
        "illness",
        "military_service",
        "pregnancy",
        "disaster",
        "provider_closure",
    }
    assert rules.completion_reasons == {"early_employment"}
    assert (rules.deduct_trained_programmes, rules.kdt_programmes) == ({"C0104"}, {"C0104"})
    assert (rules.long_span_months, rules.long_span_days_after_start, rules.roll_to_working_day) == (6, 14, True)
    assert (
        rules.allowance_min_hours,
        rules.allowance_long_day_hours,
        rules.allowance_per_day,
        rules.allowance_monthly_max,
        rules.allowance_short_per_day,
        rules.allowance_short_monthly_max,
    ) == (140, 5, 5_800, 116_000, 2_500, 50_000)
    (kdt,) = rules.allowance_programmes
    assert (kdt.codes, kdt.start, kdt.per_day, kdt.monthly_max) == (
        frozenset({"C0104", "C0102"}),
        date(2026, 1, 1),
        10_000,
        200_000,
    )


def test_loading_the_same_file_twice_gives_the_cached_rules():
    assert card_rules() is card_rules()
    assert card_rules(SHIPPED) is card_rules()


# -- broken files ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("replace", "key"),
    [
        ({"format = 1": "format = 2"}, "format"),
        ({"limit = 3_000_000\n": ""}, "card.limit"),  # missing key
        ({"limit = 3_000_000\n": "limit = -3_000_000\n"}, "card.limit"),  # negative amount
        ({"limit = 3_000_000\n": "limit = 0\n"}, "card.limit"),  # a card of 0 원
        ({"limit = 3_000_000\n": 'limit = "3,000,000"\n'}, "card.limit"),  # not an integer
        ({"limit = 500_000": "limit = 500_000.5"}, "kdigital.limit"),
        ({"valid_years = 5": "valid_years = 0"}, "card.valid_years"),
        (
            {
                "[[withdrawal.free_windows]]\ndays_after_start = 14": "[[withdrawal.free_windows]]\nmax_days = 365\ndays_after_start = 14"
            },
            "withdrawal.free_windows",
        ),
        (
            {"max_days = 29\ndays_after_start = 1": "max_days = 29\ndays_after_start = -1"},
            "withdrawal.free_windows.days_after_start",
        ),
        ({"amount = 500_000": "amount = -500_000"}, "dropout.card.penalties.amount"),
        (
            {
                "[[dropout.card.penalties]]\namount = 200_000\nsuspend_days = 0": "[[dropout.card.penalties]]\namount = 200_000"
            },
            "dropout.card.penalties.suspend_days",
        ),
        (
            {'outcomes = ["dropped", "incomplete"]\n\n[[dropout.card': 'outcomes = ["quit"]\n\n[[dropout.card'},
            "dropout.card.outcomes",
        ),
        ({'completion_reasons = ["early_employment"]': 'completion_reasons = ["luck"]'}, "dropout.completion_reasons"),
        ({"roll_to_working_day = true": 'roll_to_working_day = "yes"'}, "withdrawal.roll_to_working_day"),
        ({"amount = 2_000_000            # 1,000,000": "amount = -1            # 1,000,000"}, "top_up.disabled.amount"),
        ({'label = "장애인"\n': ""}, "top_up.disabled.label"),
        ({"effective_from = 2021-01-01": 'effective_from = "2021-01-01"'}, "top_up.kua_type1.effective_from"),
        ({'label = "재직자"\nallowance = false': 'label = "재직자"\nallowance = "no"'}, "statuses.employed.allowance"),
        ({'label = "재직자"\nallowance = false': 'label = "재직자"'}, "statuses.employed.allowance"),
        ({"min_age = 15": "min_age = 80"}, "min_age"),
        ({"max_age = 74": "max_age = -1"}, "eligibility.max_age"),
        ({"hold_minutes = 30": "hold_minutes = 0"}, "enrolment.hold_minutes"),
        ({"completion_rate = 0.8": "completion_rate = 80"}, "enrolment.completion_rate"),
        ({"completion_rate = 0.8": "completion_rate = 0"}, "enrolment.completion_rate"),
        ({"lates_per_absence = 3": "lates_per_absence = 0"}, "enrolment.lates_per_absence"),
        ({"settlement_rounding = 10": "settlement_rounding = 0"}, "enrolment.settlement_rounding"),
        ({"\nfrom = 2026-01-01": '\nfrom = "2026-01-01"'}, "allowance.programmes.kdt_2026.from"),
        ({'codes = ["C0104", "C0102"]': "codes = []"}, "allowance.programmes.kdt_2026.codes"),
        ({"per_day = 5_800": "per_day = true"}, "allowance.per_day"),
        ({"long_day_hours = 5": "long_day_hours = 0"}, "allowance.long_day_hours"),
        ({'illness = "질병·사고"': 'illness = ""'}, "exempt_reasons.illness"),
        ({"[dropout.exempt_reasons]": "[dropout.exempt]"}, "exempt_reasons"),
        ({"[card]\n": "[cards]\n"}, "[card]"),
        ({"[card]\n": "[cards]\n"}, "unknown key cards"),  # … and the misspelt name beside it
        ({"format = 1": "format = 1\n[[["}, "card_rules.toml"),  # not TOML at all: the file is named
    ],
)
def test_a_broken_rule_file_is_refused_naming_the_key(tmp_path, replace, key):
    path = copy_rules(tmp_path, replace)
    with pytest.raises(CardRulesError) as refused:
        card_rules(path)
    assert key in str(refused.value)
    assert str(path.resolve()) in str(refused.value)  # and the file


def test_a_schedule_without_penalties_is_refused(tmp_path):
    text = SHIPPED.read_text(encoding="utf-8")
    head, tail = text.split("[[dropout.card.penalties]]", 1)
    path = tmp_path / "card_rules.toml"
    path.write_text(head + "[dropout.kdigital]" + tail.split("[dropout.kdigital]", 1)[1], encoding="utf-8")
    with pytest.raises(CardRulesError, match="dropout.card.penalties"):
        card_rules(path)


def test_a_missing_rule_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CARD_RULES_FILE", str(tmp_path / "missing.toml"))
    with pytest.raises(FileNotFoundError):
        card_rules()


# -- where the rules come from ---------------------------------------------------------------------------------


def test_the_environment_names_another_file(tmp_path, monkeypatch):
    path = copy_rules(
        tmp_path, {"limit = 3_000_000\n": "limit = 2_500_000\n", "hold_minutes = 30": "hold_minutes = 15"}
    )
    monkeypatch.setenv("CARD_RULES_FILE", str(path))
    assert rules_module.rules_file() == path
    assert (card_rules().card_limit, card_rules().hold_minutes) == (2_500_000, 15)
    monkeypatch.setenv("CARD_RULES_FILE", "  ")  # blank: the shipped file
    assert card_rules().card_limit == 3_000_000
    monkeypatch.delenv("CARD_RULES_FILE")
    assert rules_module.rules_file() == SHIPPED and card_rules().card_limit == 3_000_000


def test_an_edited_file_is_read_again(tmp_path):
    path = copy_rules(tmp_path)
    assert card_rules(path).card_limit == 3_000_000
    path.write_text(
        path.read_text(encoding="utf-8").replace("limit = 3_000_000\n", "limit = 3_100_000\n") + "\n# edited\n",
        encoding="utf-8",
    )
    assert card_rules(path).card_limit == 3_100_000


# -- free withdrawal, penalties, age ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("training_days", "deadline"),
    [
        (1, START),
        (9, START),  # under 10 training days: the start date
        (10, START + timedelta(days=1)),
        (29, START + timedelta(days=1)),  # 10–29: the day after
        (30, START + timedelta(days=7)),
        (180, START + timedelta(days=7)),  # 30–180: 7 days after
        (181, START + timedelta(days=14)),
        (1000, START + timedelta(days=14)),  # longer: 14 days after
    ],
)
def test_the_free_withdrawal_deadline_by_length(training_days, deadline):
    end = START + timedelta(days=max(training_days, 1))  # within five months: the length decides
    assert (
        card_rules().free_withdrawal_deadline(START, min(end, START + timedelta(days=150)), training_days, remote=False)
        == deadline
    )


@pytest.mark.parametrize("training_days", [1, 9, 10, 30, 181])
def test_a_remote_course_is_free_to_leave_until_its_start_date(training_days):
    assert (
        card_rules().free_withdrawal_deadline(START, START + timedelta(days=200), training_days, remote=True) == START
    )


def test_the_remote_deadline_and_the_windows_are_configurable(tmp_path):
    path = copy_rules(
        tmp_path,
        {
            "remote_days_after_start = 0": "remote_days_after_start = 2",
            "max_days = 9\ndays_after_start = 0": "max_days = 9\ndays_after_start = 3",
        },
    )
    rules = card_rules(path)
    end = START + timedelta(days=6)
    assert rules.free_withdrawal_deadline(START, end, 5, remote=True) == START + timedelta(days=2)
    assert rules.free_withdrawal_deadline(START, end, 5, remote=False) == START + timedelta(days=3)


@pytest.mark.parametrize(
    ("number", "amount", "suspend_days"),
    [(1, 200_000, 0), (2, 500_000, 60), (3, 1_000_000, 60), (4, 1_000_000, 60), (10, 1_000_000, 60)],
)
def test_the_penalty_for_the_nth_dropout_and_the_last_row_repeats(number, amount, suspend_days):
    assert card_rules().sanctions["card"].penalty_for(number) == Penalty(amount, suspend_days)


@pytest.mark.parametrize(
    ("birth", "on", "allowed"),
    [
        (date(2000, 3, 15), date(2015, 3, 14), False),  # 14, the day before the 15th birthday
        (date(2000, 3, 15), date(2015, 3, 15), True),  # 15 on the birthday
        (date(2000, 3, 15), date(2075, 3, 14), True),  # still 74
        (date(2000, 3, 15), date(2075, 3, 15), False),  # 75 on the birthday
        (date(2000, 12, 31), date(2015, 12, 30), False),
        (date(2000, 12, 31), date(2015, 12, 31), True),
        (date(2008, 2, 29), date(2023, 2, 28), False),  # born on 29 February: 15 only from 1 March in common years
        (date(2008, 2, 29), date(2023, 3, 1), True),
        (date(2008, 2, 29), date(2024, 2, 29), True),
        (date(1952, 2, 29), date(2027, 2, 28), True),  # 74 until 1 March 2027
        (date(1952, 2, 29), date(2027, 3, 1), False),
    ],
)
def test_age_is_allowed_from_the_15th_birthday_through_age_74(birth, on, allowed):
    assert card_rules().age_allowed(birth, on) is allowed


def test_the_age_limits_are_configurable(tmp_path):
    rules = card_rules(copy_rules(tmp_path, {"min_age = 15": "min_age = 18"}))
    assert not rules.age_allowed(date(2000, 3, 15), date(2018, 3, 14))
    assert rules.age_allowed(date(2000, 3, 15), date(2018, 3, 15))


# -- the training allowance (훈련장려금) ----------------------------------------------------------------------------

LONG = Allowance(5_800, 116_000)
SHORT = Allowance(2_500, 50_000)
KDT_2026 = Allowance(10_000, 200_000)


@pytest.mark.parametrize(
    ("hours", "days", "programme", "start", "expected"),
    [
        (640, 80, "C0061", START, LONG),  # 8 hours a day
        (140, 28, "C0061", START, LONG),  # exactly 5 hours a day is a long day
        (140, 29, "C0061", START, SHORT),  # 4.8 hours a day
        (160, 40, "C0061", START, SHORT),  # 4 hours a day: 2,500원, at most 50,000 a unit period
        (139, 20, "C0061", START, None),  # under min_hours
        (None, 80, "C0061", START, None),  # hours unknown
        (640, None, "C0061", START, None),  # training days unknown: the day length is too
        (640, 0, "C0061", START, None),
        (640, 80, "C0104", date(2026, 1, 1), KDT_2026),  # KDT from 2026
        (640, 80, "C0104", date(2025, 12, 31), LONG),
        (640, 80, "C0102", date(2026, 3, 2), KDT_2026),  # 산대특 too
        (640, 80, "C0054", date(2026, 3, 2), LONG),  # 국기: not confirmed (see the file)
        (300, 100, "C0104", date(2026, 3, 2), SHORT),  # a KDT run of short days pays the short-day amount
        (640, 80, None, START, LONG),
    ],
)
def test_the_training_allowance_by_day_length_and_programme(hours, days, programme, start, expected):
    assert card_rules().allowance_for(hours=hours, days=days, programme_code=programme, start=start) == expected


@pytest.mark.parametrize(
    ("status", "paid"),
    [
        ("unemployed", True),
        ("short_hours_worker", True),  # insured, but under 15 hours a week
        ("employed", False),
        ("self_employed", False),
        ("special_employment", False),
        ("student", False),
        (None, False),  # no status recorded
        ("nobody", False),
    ],
)
def test_who_can_be_paid_the_allowance_is_data_per_status(status, paid):
    assert card_rules().allowance_paid_to(status) is paid


def test_allowance_eligibility_is_configurable(tmp_path):
    path = copy_rules(tmp_path, {'label = "재직자"\nallowance = false': 'label = "재직자"\nallowance = true'})
    assert card_rules(path).allowance_paid_to("employed")


# -- top-up groups --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "day", "amount"),
    [
        ("disabled", date(2026, 1, 1), 2_000_000),
        ("disabled", date(2025, 12, 31), None),  # before its effective date the group does not count
        ("non_regular_worker", date(2026, 6, 1), 2_000_000),
        ("single_parent", date(2026, 6, 1), 2_000_000),
        ("care_leaver", date(2026, 6, 1), 2_000_000),
        ("basic_livelihood", date(2020, 1, 1), 2_000_000),
        ("kua_type1", date(2020, 12, 31), None),  # 국민취업지원제도 began in 2021
        ("kua_type1", date(2021, 1, 1), 2_000_000),
        ("nobody", START, None),
    ],
)
def test_a_top_up_group_counts_from_its_effective_date(group, day, amount):
    assert card_rules().top_up_amount(group, day) == amount


# -- the file is strict: a misspelt key is refused with the file, the line and the key -------------------------------


def line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("format = 1\n", "format = 1\nformats = 1\n", "formats"),
        ("min_age = 15", "min_ages = 15", "eligibility.min_ages"),
        ('label = "재직자"', 'lable = "재직자"', "statuses.employed.lable"),
        ("top_up_when_below = 100_000", "top_up_when_belo = 100_000", "card.top_up_when_belo"),
        ('label = "장애인"', 'labels = "장애인"', "top_up.disabled.labels"),
        (
            'effective_from = 2020-01-01\nsource = "국민내일배움카드 제도 안내(2020): 저소득',
            'effective_form = 2020-01-01\nsource = "국민내일배움카드 제도 안내(2020): 저소득',
            "top_up.near_poor.effective_form",
        ),
        ("short_monthly_max = 50_000", "short_monthly_maximum = 50_000", "allowance.short_monthly_maximum"),
        ('codes = ["C0104", "C0102"]', 'code = ["C0104", "C0102"]', "allowance.programmes.kdt_2026.code"),
        ("[kdigital]\nlimit = 500_000", "[kdigital]\nlimits = 500_000", "kdigital.limits"),
        ("hold_minutes = 30", "hold_minute = 30", "enrolment.hold_minute"),
        ("remote_days_after_start = 0", "remote_days_after_starts = 3", "withdrawal.remote_days_after_starts"),
        ("max_days = 29\n", "max_day = 29\n", "withdrawal.free_windows[1].max_day"),
        ("steps = []", "steps = [{ up_to_trained = 50, refund_percnt = 50 }]", "withdrawal.steps[0].refund_percnt"),
        (
            "amount = 500_000\nsuspend_days = 60",
            "amount = 500_000\nsuspended_days = 60",
            "dropout.card.penalties[1].suspended_days",
        ),
        ("long_span_months = 6", "long_span_month = 6", "withdrawal.long_span_month"),
        ("kdt_first_week_notice_day = 3", "kdt_first_week_notice_days = 3", "dropout.kdt_first_week_notice_days"),
        ("[dropout.kdigital]\n", '[dropout.kdigital]\noutcome = ["dropped"]\n', "dropout.kdigital.outcome"),
    ],
)
def test_a_misspelt_key_in_each_table_is_refused_with_file_line_and_key(tmp_path, old, new, key):
    path = copy_rules(tmp_path, {old: new})
    text = path.read_text(encoding="utf-8")
    misspelt = key.rsplit(".", 1)[-1].split("]")[-1]
    with pytest.raises(CardRulesError) as refused:
        card_rules(path)
    line = line_of(text, new) + new[: new.index(misspelt)].count("\n")
    assert str(refused.value) == f"{path.resolve()}:{line}: unknown key {key}"


def test_a_misspelt_key_is_refused(tmp_path):
    path = copy_rules(tmp_path, {"remote_days_after_start = 0": "remote_days_after_starts = 3"})
    with pytest.raises(CardRulesError, match="remote_days_after_starts"):
        card_rules(path)


def test_a_kdt_typo_no_longer_drops_the_kdt_allowance(tmp_path):
    # the bug of issue 13: `kdt_programme = [...]` for `kdt_programmes` loaded and paid KDT 116,000
    path = copy_rules(tmp_path, {"\nfrom = 2026-01-01": "\nfrom_date = 2026-01-01\nfrom = 2026-01-01"})
    with pytest.raises(CardRulesError, match=r":\d+: unknown key allowance\.programmes\.kdt_2026\.from_date"):
        card_rules(path)


def test_keys_no_code_reads_are_refused(tmp_path):
    # which account pays is the pricing rule's `account`, not a list in the card rules
    path = copy_rules(tmp_path, {"[kdigital]\nlimit = 500_000": '[kdigital]\nprogrammes = ["C0105"]\nlimit = 500_000'})
    with pytest.raises(CardRulesError, match="unknown key kdigital.programmes"):
        card_rules(path)


def test_a_value_error_names_its_line_too(tmp_path):
    path = copy_rules(tmp_path, {"hold_minutes = 30": "hold_minutes = 0"})
    text = path.read_text(encoding="utf-8")
    with pytest.raises(CardRulesError) as refused:
        card_rules(path)
    assert str(refused.value).startswith(
        f"{path.resolve()}:{line_of(text, 'hold_minutes = 0')}: enrolment.hold_minutes"
    )


def test_a_refund_step_above_100_percent_is_refused(tmp_path):
    path = copy_rules(tmp_path, {"steps = []": "steps = [{ up_to_trained = 50, refund_percent = 150 }]"})
    with pytest.raises(CardRulesError, match="withdrawal.steps"):
        card_rules(path)
