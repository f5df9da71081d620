"""Pricing: the government share and the learner's self-pay for one run (courses/pricing.py).

Examples come from the design's domain.md ("Pricing: who pays what for one run"); the rule tables from
courses/data/pricing_rules.toml (docs/pricing.md). Pure functions: no app, no database.
"""

from __future__ import annotations

import hashlib
import math
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from courses import pricing
from courses.models import Programme, Run
from courses.pricing import PricingRulesError, Split, generic_split, load_rules, rules_version, split_for_run
from courses.reference import read_csv

SHIPPED = pricing.DEFAULT_RULES_FILE
PROGRAMMES = read_csv("programmes.csv")
D2025 = date(2025, 6, 2)
D2026 = date(2026, 3, 2)


def kdt(fee: int, start: date = D2026, **kwargs) -> Split:
    split = generic_split(fee=fee, start_date=start, rule_key="capped2026", programme_code="C0104", **kwargs)
    assert split is not None
    return split


def general(fee: int, start: date = D2025, **kwargs) -> Split:
    split = generic_split(fee=fee, start_date=start, rule_key="general", programme_code="C0061", **kwargs)
    assert split is not None
    return split


def copy_rules(tmp_path: Path, replace: dict[str, str] | None = None, append: str = "") -> Path:
    """A copy of the shipped rule file with some text replaced (each replacement must match once)."""
    text = SHIPPED.read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "pricing_rules.toml"
    path.write_text(text + append, encoding="utf-8")
    return path


# -- KDT, 국기, 산대특 (capped2026) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fee", "self_pay"),
    [
        (0, 0),
        (99, 0),  # 10 % = 9.9 원, truncated down to 10 원
        (1_234_567, 123_450),
        (2_000_000, 200_000),
        (3_000_000, 300_000),
        (3_000_001, 300_000),
        (5_000_000, 300_000),
        (6_000_000, 300_000),
        (6_000_001, 400_000),
        (7_000_000, 400_000),
        (12_000_000, 400_000),
        (12_000_001, 500_000),
        (18_000_000, 500_000),
        (18_000_001, 600_000),
        (20_000_000, 600_000),
    ],
)
def test_kdt_2026_self_pay_table(fee, self_pay):
    split = kdt(fee)
    assert (split.self_pay, split.government_share, split.fee) == (self_pay, fee - self_pay, fee)
    assert split.rule == "capped2026"


@pytest.mark.parametrize("start", [date(2025, 12, 31), date(2025, 1, 2), date(2021, 3, 1)])
@pytest.mark.parametrize("fee", [2_000_000, 5_000_000, 20_000_000])
def test_kdt_before_2026_is_free_for_the_learner(start, fee):
    split = kdt(fee, start)
    assert (split.self_pay, split.government_share) == (0, fee)


def test_the_2026_rule_starts_on_new_years_day():
    assert kdt(2_000_000, date(2025, 12, 31)).self_pay == 0
    assert kdt(2_000_000, date(2026, 1, 1)).self_pay == 200_000


@pytest.mark.parametrize("code", ["C0104", "C0054", "C0054G", "C0054Y", "C0054S", "C0102"])
def test_capped_programmes_share_the_rule_and_do_not_draw_the_card_by_default(code):
    split = generic_split(fee=7_000_000, start_date=D2026, rule_key="capped2026", programme_code=code)
    assert split.self_pay == 400_000
    assert split.account == "none"
    assert split.shortfall == "refuse"


def test_kdt_explanation_is_one_korean_sentence():
    assert kdt(2_000_000).explanation == "2026년 이후 K-디지털 트레이닝: 훈련비의 10%(최대 30만원)"
    assert "정액 40만원" in kdt(7_000_000).explanation
    assert "자비부담 없음" in kdt(7_000_000, D2025).explanation


# -- general card courses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "self_pay"),
    [
        (100, 150_000),
        (70, 150_000),
        (69.99, 250_000),
        (60, 250_000),
        (59.9, 350_000),
        (50, 350_000),
        (45, 450_000),
        (40, 450_000),
        (39.9, 550_000),
        (0.5, 550_000),
        (None, 350_000),  # unknown → the middle band
        (0, 350_000),  # feeds send 0 for unknown
        (float("nan"), 350_000),
        (120, 350_000),  # not a rate: unknown
        (-3, 350_000),
    ],
)
def test_general_self_pay_by_employment_rate_band(rate, self_pay):
    split = general(1_000_000, employment_rate=rate)
    assert (split.self_pay, split.government_share) == (self_pay, 1_000_000 - self_pay)
    assert split.account == "card"
    assert split.rule == "general"


def test_general_self_pay_is_truncated_down_to_10_won():
    assert general(1_234_567, employment_rate=75).self_pay == 185_180  # 15 % = 185,185.05
    assert general(1_234_567, employment_rate=10).self_pay == 679_010  # 55 % = 679,011.85


def test_general_self_pay_from_the_feed_wins_over_the_table():
    split = general(1_000_000, employment_rate=90, general_self_pay=123_456)
    assert (split.self_pay, split.government_share) == (123_456, 876_544)
    assert "HRD-Net" in split.explanation


def test_general_self_pay_of_zero_in_the_feed_means_not_given():
    assert general(1_000_000, employment_rate=90, general_self_pay=0).self_pay == 150_000


def test_general_self_pay_from_the_feed_never_exceeds_the_fee():
    assert general(100_000, general_self_pay=250_000).self_pay == 100_000


def test_general_explanation_names_the_rate_and_the_band():
    assert general(1_000_000, employment_rate=72.5).explanation == (
        "국민내일배움카드 일반과정: 직종 취업률 72.5%에 따라 훈련비의 15%"
    )
    assert "정보가 없어" in general(1_000_000).explanation


# -- the fee above the approved support amount --------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "self_pay"),
    [
        # general, 15 % band: 15 % of the supported 1,000,000 + the 200,000 above it
        (dict(rule_key="general", fee=1_200_000, support_amount=1_000_000, employment_rate=80), 350_000),
        # the feed's amount is for the supported part; the overage comes on top
        (dict(rule_key="general", fee=1_200_000, support_amount=1_000_000, general_self_pay=150_000), 350_000),
        # KDT 2026: 10 % of 3,000,000 capped + 500,000 above the support
        (dict(rule_key="capped2026", fee=3_500_000, support_amount=3_000_000), 800_000),
        # the tier is chosen by the supported amount, not the fee
        (dict(rule_key="capped2026", fee=7_000_000, support_amount=2_000_000), 5_200_000),
        # before 2026 only the overage
        (dict(rule_key="capped2026", fee=3_500_000, support_amount=3_000_000, start_date=D2025), 500_000),
        (dict(rule_key="kdigital", fee=600_000, support_amount=500_000), 150_000),
        (dict(rule_key="free", fee=300_000, support_amount=250_000), 50_000),
        # support at or above the fee, or unknown (None / 0): no overage
        (dict(rule_key="capped2026", fee=3_000_000, support_amount=5_000_000), 300_000),
        (dict(rule_key="capped2026", fee=3_500_000, support_amount=0), 300_000),
        (dict(rule_key="capped2026", fee=3_500_000, support_amount=None), 300_000),
    ],
)
def test_overage_above_the_support_amount_is_self_pay(kwargs, self_pay):
    kwargs.setdefault("start_date", D2026)
    split = generic_split(**kwargs)
    assert split.self_pay == self_pay
    assert split.government_share == kwargs["fee"] - self_pay


def test_overage_is_explained():
    split = kdt(3_500_000, support_amount=3_000_000)
    assert split.explanation.endswith("승인 지원금(300만원) 초과분 50만원 본인 부담")


# -- K-Digital Credit, free academies, unknown rules --------------------------------------------------------


def test_kdigital_draws_the_kdigital_account_with_10_percent_self_pay():
    split = generic_split(
        fee=450_000, start_date=D2025, rule_key="kdigital", programme_code="C0105", voucher_kind="kdigital"
    )
    assert (split.self_pay, split.government_share, split.account) == (45_000, 405_000, "kdigital")
    # the rule names its account even when the caller leaves voucher_kind at its default
    assert generic_split(fee=450_000, start_date=D2025, rule_key="kdigital").account == "kdigital"


@pytest.mark.parametrize("code", ["MSIT-SWA", "MSIT-AIC", "MOTIE-IDA", "MOE-LLL"])
def test_free_academies_cost_the_learner_nothing_and_draw_nothing(code):
    split = generic_split(fee=2_500_000, start_date=D2026, rule_key="free", programme_code=code, voucher_kind="none")
    assert (split.self_pay, split.government_share, split.account) == (0, 2_500_000, "none")


def test_a_programme_without_a_voucher_never_draws_one():
    split = generic_split(fee=1_000_000, start_date=D2025, rule_key="general", voucher_kind="none", employment_rate=80)
    assert (split.self_pay, split.account) == (150_000, "none")


@pytest.mark.parametrize("rule_key", [None, "", "nonexistent", "GENERAL"])
def test_unknown_rule_has_no_price(rule_key):
    assert generic_split(fee=1_000_000, start_date=D2026, rule_key=rule_key) is None


def test_a_run_before_the_rules_first_period_has_no_price():
    assert generic_split(fee=1_000_000, start_date=date(2019, 12, 31), rule_key="general") is None
    assert generic_split(fee=1_000_000, start_date=date(2020, 12, 31), rule_key="kdigital") is None


def test_every_shipped_programme_has_a_known_rule():
    book = load_rules()
    for row in PROGRAMMES:
        assert row["pricing_rule"] in book.rules, row
        split = generic_split(
            fee=1_000_000,
            start_date=D2026,
            rule_key=row["pricing_rule"],
            programme_code=row["code"],
            voucher_kind=row["voucher_kind"],
        )
        assert split is not None and split.explanation
        if row["voucher_kind"] == "none":
            assert split.account == "none"


# -- exemptions (for the learner-specific quote) ---------------------------------------------------------------


@pytest.mark.parametrize("group", ["kua_type1", "basic_livelihood"])
def test_exemption_groups_pay_nothing_on_general_courses(group):
    split = general(1_000_000, employment_rate=10, exemptions=frozenset({group}))
    assert (split.self_pay, split.government_share) == (0, 1_000_000)
    assert split.explanation.endswith("자비부담 면제")


def test_an_exemption_also_overrides_the_feed_amount_but_not_the_overage():
    split = general(1_200_000, support_amount=1_000_000, general_self_pay=150_000, exemptions=frozenset({"kua_type1"}))
    assert split.self_pay == 200_000


def test_an_exemption_applies_only_to_its_rules():
    assert kdt(2_000_000, exemptions=frozenset({"kua_type1"})).self_pay == 200_000


def test_unknown_exemption_group_is_an_error():
    with pytest.raises(ValueError, match="unknown exemption"):
        general(1_000_000, exemptions=frozenset({"kua_typo"}))


def test_exemption_groups_are_data():
    groups = pricing.exemption_groups()
    assert groups["kua_type1"].percent == 0 and "general" in groups["kua_type1"].rules
    assert groups["basic_livelihood"].name == "기초생활수급자"
    assert groups["near_poor"].percent is None and groups["near_poor"].source  # by bands, with its source


# -- the status table: the learner's status in the general self-pay ---------------------------------------------


@pytest.mark.parametrize(
    ("rate", "unemployed", "employed"),
    [
        (75, 150_000, 300_000),
        (65, 250_000, 400_000),
        (55, 350_000, 500_000),
        (45, 450_000, 550_000),
        (20, 550_000, 550_000),  # both at the top of the 15–55 % range
        (None, 350_000, 500_000),  # unknown rate: each row's own unknown_percent
    ],
)
def test_an_employed_learner_pays_the_employed_row_an_unemployed_one_the_general_row(rate, unemployed, employed):
    assert general(1_000_000, employment_rate=rate, learner_status="unemployed").self_pay == unemployed
    split = general(1_000_000, employment_rate=rate, learner_status="employed")
    assert (split.self_pay, split.government_share, split.priced_as) == (employed, 1_000_000 - employed, "재직자")
    assert split.explanation.startswith("국민내일배움카드 일반과정: 재직자 기준 직종 취업률")


@pytest.mark.parametrize("status", ["self_employed", "special_employment"])
def test_self_employed_and_special_employment_share_the_employed_row(status):
    assert general(1_000_000, employment_rate=75, learner_status=status).self_pay == 300_000


@pytest.mark.parametrize("status", [None, "unemployed", "student", "short_hours_worker", "nobody"])
def test_without_a_row_a_learner_pays_the_general_row_and_the_split_says_whom_it_is_for(status):
    split = general(1_000_000, employment_rate=75, learner_status=status)
    assert (split.self_pay, split.priced_as, split.learner_status) == (150_000, "일반훈련생", status)
    assert split.as_dict()["priced_as"] == "일반훈련생"


@pytest.mark.parametrize(
    ("feed", "employed"),
    [
        (150_000, 300_000),  # the feed's 15 %: the best band's column
        (350_000, 500_000),  # 35 %: the middle column
        (200_000, 300_000),  # 20 % (e.g. a surcharge) reaches the 15 % column only
        (550_000, 550_000),
        (10_000, 300_000),  # below every band: the cheapest column
    ],
)
def test_for_a_status_row_the_feed_amount_tells_the_column(feed, employed):
    assert general(1_000_000, employment_rate=20, general_self_pay=feed).self_pay == feed  # the feed still wins
    assert general(1_000_000, employment_rate=20, general_self_pay=feed, learner_status="employed").self_pay == (
        employed
    )


def test_a_status_row_keeps_the_overage_with_the_learner():
    split = general(1_200_000, support_amount=1_000_000, employment_rate=75, learner_status="employed")
    assert split.self_pay == 300_000 + 200_000


def test_exemptions_still_win_over_a_status_row():
    split = general(1_000_000, employment_rate=75, learner_status="employed", exemptions=frozenset({"kua_type1"}))
    assert split.self_pay == 0 and split.explanation.endswith("자비부담 면제")


@pytest.mark.parametrize(
    ("rate", "near_poor", "general_row"),
    [
        (75, 50_000, 150_000),
        (60, 100_000, 250_000),
        (50, 200_000, 350_000),
        (40, 300_000, 450_000),
        (10, 500_000, 550_000),
    ],
)
def test_near_poor_learners_pay_less_by_the_2017_rows_own_bands(rate, near_poor, general_row):
    assert general(1_000_000, employment_rate=rate).self_pay == general_row
    split = general(1_000_000, employment_rate=rate, exemptions=frozenset({"near_poor"}))
    assert split.self_pay == near_poor and "차상위계층 감면으로 훈련비의" in split.explanation


def test_near_poor_with_an_unknown_rate_pays_its_middle_band_and_never_more_than_the_feed():
    assert general(1_000_000, exemptions=frozenset({"near_poor"})).self_pay == 200_000
    assert general(1_000_000, general_self_pay=150_000, exemptions=frozenset({"near_poor"})).self_pay == 150_000


def test_the_status_table_is_only_for_the_general_rule():
    assert kdt(2_000_000, learner_status="employed").self_pay == kdt(2_000_000).self_pay == 200_000
    assert kdt(2_000_000).priced_as == ""


def test_a_learner_status_must_be_a_string():
    with pytest.raises(TypeError):
        general(1_000_000, learner_status=3)


# -- inputs ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        (dict(fee=-1), ValueError),
        (dict(fee=1000.0), TypeError),
        (dict(fee=True), TypeError),
        (dict(support_amount=-5), ValueError),
        (dict(general_self_pay=1.5), TypeError),
        (dict(start_date=datetime(2026, 3, 2, 9)), TypeError),
        (dict(start_date="2026-03-02"), TypeError),
        (dict(voucher_kind="cash"), ValueError),
    ],
)
def test_bad_inputs_are_refused(kwargs, error):
    arguments = dict(fee=1_000_000, start_date=D2026, rule_key="general") | kwargs
    with pytest.raises(error):
        generic_split(**arguments)


# -- a Run from the catalog --------------------------------------------------------------------------------------


def make_run(code: str, rule: str | None, voucher: str = "card", **fields) -> Run:
    programme = Programme(code=code, name=code, ministry_id=1, voucher_kind=voucher, pricing_rule=rule)
    values = (
        dict(course_id=1, run_number=1, start_date=D2026, end_date=date(2026, 8, 31), fee=7_000_000, capacity=30)
        | fields
    )
    return Run(programme=programme, **values)


def test_split_for_run_reads_the_run_and_its_programme():
    assert split_for_run(make_run("C0104", "capped2026")).self_pay == 400_000
    run = make_run("C0061", "general", fee=1_200_000, support_amount=1_000_000, employment_rate_3m=65.0)
    assert split_for_run(run).self_pay == 250_000 + 200_000
    run = make_run("C0061", "general", fee=1_000_000, general_self_pay=111_110, employment_rate_3m=65.0)
    assert split_for_run(run).self_pay == 111_110
    run = make_run("C0105", "kdigital", "kdigital", fee=400_000)
    assert (split_for_run(run).self_pay, split_for_run(run).account) == (40_000, "kdigital")


def test_split_for_run_without_programme_or_rule_is_unknown():
    assert split_for_run(make_run("X", None)) is None
    run = make_run("C0104", "capped2026")
    run.programme = None
    assert split_for_run(run) is None


# -- the rules are data -------------------------------------------------------------------------------------------


def test_rules_version_is_a_short_hash_of_the_file():
    assert rules_version() == hashlib.sha256(SHIPPED.read_bytes()).hexdigest()[:12]
    assert kdt(2_000_000).rules_version == rules_version()


def test_rules_come_from_the_file_named_by_the_environment(tmp_path, monkeypatch):
    path = copy_rules(tmp_path, {'label = ""\npercent = 10 ': 'label = ""\npercent = 20 '})
    before = generic_split(fee=450_000, start_date=D2025, rule_key="kdigital")
    monkeypatch.setenv("PRICING_RULES_FILE", str(path))
    after = generic_split(fee=450_000, start_date=D2025, rule_key="kdigital")
    assert (before.self_pay, after.self_pay) == (45_000, 90_000)
    assert after.rules_version == rules_version() != before.rules_version
    monkeypatch.delenv("PRICING_RULES_FILE")
    assert generic_split(fee=450_000, start_date=D2025, rule_key="kdigital").self_pay == 45_000


def test_rules_come_from_the_file_given_to_the_loader(tmp_path):
    path = copy_rules(
        tmp_path,
        {
            "{ min_rate = 70, percent = 15 }": "{ min_rate = 80, percent = 15 }",
            "unknown_percent = 35": "unknown_percent = 55",
        },
    )
    book = load_rules(path)
    assert general(1_000_000, employment_rate=75, rules=book).self_pay == 250_000
    assert general(1_000_000, rules=book).self_pay == 550_000
    assert general(1_000_000, employment_rate=75).self_pay == 150_000  # the shipped file is untouched


def test_an_edited_file_is_read_again(tmp_path):
    path = copy_rules(tmp_path)
    assert general(1_000_000, employment_rate=75, rules=load_rules(path)).self_pay == 150_000
    text = path.read_text(encoding="utf-8").replace(
        "{ min_rate = 70, percent = 15 }", "{ min_rate = 70, percent = 17.5 }"
    )
    path.write_text(text + "\n# edited\n", encoding="utf-8")  # a different size, whatever the clock says
    assert general(1_000_000, employment_rate=75, rules=load_rules(path)).self_pay == 175_000


def test_a_new_year_is_a_new_period(tmp_path):
    path = copy_rules(
        tmp_path,
        append="""
[[rules.capped2026.periods]]
effective_from = 2027-01-01
method = "tiers"
label = "2027년 이후"
tiers = [
    { up_to = 5_000_000, percent = 5, cap = 200_000 },
    { fixed = 250_000 },
]
""",
    )
    book = load_rules(path)
    assert kdt(2_000_000, date(2026, 12, 31), rules=book).self_pay == 200_000
    later = kdt(2_000_000, date(2027, 1, 4), rules=book)
    assert later.self_pay == 100_000 and later.effective_from == date(2027, 1, 1)
    assert later.explanation.startswith("2027년 이후 K-디지털 트레이닝")
    assert kdt(20_000_000, date(2027, 1, 4), rules=book).self_pay == 250_000


def test_draws_card_and_shortfall_are_set_per_programme(tmp_path):
    path = copy_rules(
        tmp_path,
        {
            "[rules.capped2026.programmes.C0054]\ndraws_card = false": '[rules.capped2026.programmes.C0054]\ndraws_card = true\nshortfall = "self_pay"'
        },
    )
    book = load_rules(path)
    for code in ("C0054", "C0054G"):  # a code covers its sub-codes
        split = generic_split(fee=7_000_000, start_date=D2026, rule_key="capped2026", programme_code=code, rules=book)
        assert (split.account, split.shortfall) == ("card", "self_pay")
    assert kdt(7_000_000, rules=book).account == "none"
    policy = pricing.policy("capped2026", D2026, programme_code="C0054Y", rules=book)
    assert (policy.draws_card, policy.account, policy.shortfall) == (True, "card", "self_pay")
    assert pricing.policy("general", D2026).draws_card is True
    assert pricing.policy("nope", D2026) is None


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        ({"format = 1": "format = 2"}, "format"),
        ({"rounding_unit = 10 ": "rounding_unit = 0 "}, "rounding_unit"),
        ({'shortfall = "refuse"      # card balance': 'shortfall = "maybe"      # card balance'}, "shortfall"),
        ({"{ min_rate = 60, percent = 25 }": "{ min_rate = 80, percent = 25 }"}, "decrease"),
        ({"{ min_rate = 0, percent = 55 }": "{ min_rate = 10, percent = 55 }"}, "min_rate = 0"),
        ({"{ min_rate = 70, percent = 15 }": "{ min_rate = 70, percent = 150 }"}, "between 0 and 100"),
        ({"{ up_to = 6_000_000, fixed = 300_000 }": "{ up_to = 6_000_000, fixed = 300_000, percent = 5 }"}, "either"),
        ({"{ up_to = 12_000_000, fixed = 400_000 }": "{ up_to = 2_000_000, fixed = 400_000 }"}, "increase"),
        ({"{ fixed = 600_000 }": "{ up_to = 30_000_000, fixed = 600_000 }"}, "last"),
        ({"effective_from = 2026-01-01": 'effective_from = "2026-01-01"'}, "must be a date"),
        ({"effective_from = 2026-01-01": "effective_from = 2026-01-01T00:00:00"}, "must be a date"),
        ({"effective_from = 2026-01-01": "effective_from = 2019-01-01"}, "increasing order"),
        (
            {
                'rules = ["general", "kdigital"]\n\n[exemptions.basic': 'rules = ["general", "kdgital"]\n\n[exemptions.basic'
            },
            "unknown rule",
        ),
        ({'method = "percent"\nlabel = "2025년까지 시작한"': 'method = "flat"\nlabel = "2025년까지 시작한"'}, "method"),
        ({"unknown_percent = 35": "unknown_percent = 35\nunkown_percent = 35"}, "unknown key"),
        ({"format = 1": "format = 1\n[[["}, "TOML"),
        ({"percents = [30, 40, 50, 55, 55]": "percents = [30, 40, 50, 55]"}, "one percent per band"),
        ({"percents = [30, 40, 50, 55, 55]": "percents = [30, 40, 50, 55, 155]"}, "percents.4.: must be between"),
        ({'statuses = ["employed", "self_employed"': 'statuses = ["employed", "employed"'}, "already in"),
        ({'statuses = ["employed", "self_employed", "special_employment"]': "statuses = []"}, "learner statuses"),
        ({'name = "차상위계층"\n': 'name = "차상위계층"\npercent = 10\n'}, "either percent or bands"),
        ({"unknown_percent = 20\n": ""}, "missing unknown_percent"),
    ],
)
def test_an_invalid_rule_file_is_refused_with_a_clear_message(tmp_path, replace, message):
    path = copy_rules(tmp_path, replace)
    with pytest.raises(PricingRulesError, match=message):
        load_rules(path)


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("unknown_percent = 35", "unkown_percent = 35", "rules.general.periods[0]: unknown key(s) unkown_percent"),
        ('label = "재직자"', 'lable = "재직자"', "rules.general.periods[0].status_rows.employed: unknown key(s) lable"),
        (
            "{ min_rate = 60, percent = 25 }",
            "{ min_rate = 60, percnt = 25 }",
            "rules.general.periods[0].bands[1]: unknown",
        ),
        (
            "{ min_rate = 55, percent = 10 }",
            "{ min_rate = 55, percent = 110 }",
            "exemptions.near_poor.bands[1].percent",
        ),
        (
            "[rules.capped2026.programmes.C0102]\ndraws_card",
            "[rules.capped2026.programmes.C0102]\ndraw_card",
            "C0102: unknown",
        ),
    ],
)
def test_a_mistake_in_the_rule_file_names_the_file_and_its_line(tmp_path, old, new, where):
    path = copy_rules(tmp_path, {old: new})
    text = path.read_text(encoding="utf-8")
    line = text[: text.index(new)].count("\n") + 1 + new.count("\n")  # the mistake is on new's last line
    with pytest.raises(PricingRulesError) as refused:
        load_rules(path)
    assert str(refused.value).startswith(f"{path.resolve()}:{line}: ") and where in str(refused.value)


def test_a_missing_rule_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PRICING_RULES_FILE", str(tmp_path / "missing.toml"))
    with pytest.raises(FileNotFoundError):
        generic_split(fee=1, start_date=D2026, rule_key="general")


def test_the_shipped_file_can_be_copied_anywhere(tmp_path):
    copy = tmp_path / "elsewhere.toml"
    shutil.copy(SHIPPED, copy)
    assert rules_version(copy) == rules_version()


# -- properties ---------------------------------------------------------------------------------------------------

RULE_KEYS = ["general", "capped2026", "kdigital", "free"]
FIRST_PERIOD = {
    "general": date(2020, 1, 1),
    "capped2026": date(2020, 1, 1),
    "kdigital": date(2021, 1, 1),
    "free": date(2020, 1, 1),
}
fees = st.integers(min_value=0, max_value=40_000_000)
amounts = st.none() | st.integers(min_value=0, max_value=45_000_000)
rates = st.none() | st.just(math.nan) | st.floats(min_value=-10, max_value=130)
starts = st.dates(min_value=date(2018, 1, 1), max_value=date(2032, 12, 31))
rule_keys = st.sampled_from([*RULE_KEYS, None, "unknown"])
codes = st.none() | st.sampled_from([row["code"] for row in PROGRAMMES] + ["C9999"])
vouchers = st.sampled_from(pricing.ACCOUNTS)
exemption_sets = st.frozensets(st.sampled_from(["kua_type1", "basic_livelihood", "near_poor"]))
learner_statuses = st.none() | st.sampled_from(["unemployed", "employed", "self_employed", "student", "nobody"])


@given(
    fee=fees,
    start=starts,
    rule_key=rule_keys,
    code=codes,
    voucher=vouchers,
    support=amounts,
    feed=amounts,
    rate=rates,
    exemptions=exemption_sets,
    status=learner_statuses,
)
def test_every_split_keeps_the_invariants(fee, start, rule_key, code, voucher, support, feed, rate, exemptions, status):
    split = generic_split(
        fee=fee,
        start_date=start,
        rule_key=rule_key,
        programme_code=code,
        voucher_kind=voucher,
        support_amount=support,
        general_self_pay=feed,
        employment_rate=rate,
        exemptions=exemptions,
        learner_status=status,
    )
    if rule_key not in RULE_KEYS or start < FIRST_PERIOD[rule_key]:
        assert split is None
        return
    assert type(split.fee) is int and type(split.self_pay) is int and type(split.government_share) is int
    assert split.fee == fee
    assert 0 <= split.self_pay <= fee
    assert split.government_share + split.self_pay == fee
    assert split.account in pricing.ACCOUNTS
    assert split.rule == rule_key
    assert split.shortfall in pricing.SHORTFALL_POLICIES
    assert split.explanation and "\n" not in split.explanation
    base = min(fee, support) if support else fee
    assert split.self_pay >= fee - base  # the overage is always the learner's
    if voucher == "none" or rule_key == "free":
        assert split.account == "none"
    if rule_key == "free":
        assert split.self_pay == fee - base


@given(
    fee=fees,
    start=starts,
    rule_key=st.sampled_from(RULE_KEYS),
    support=amounts,
    feed=amounts,
    rate=rates,
    exemptions=exemption_sets,
    status=learner_statuses,
)
def test_an_exemption_never_raises_the_price(fee, start, rule_key, support, feed, rate, exemptions, status):
    common = dict(
        fee=fee,
        start_date=start,
        rule_key=rule_key,
        support_amount=support,
        general_self_pay=feed,
        employment_rate=rate,
        learner_status=status,
    )
    plain = generic_split(**common)
    exempt = generic_split(**common, exemptions=exemptions)
    assert (plain is None) == (exempt is None)
    if plain is not None:
        assert exempt.self_pay <= plain.self_pay


@given(fee=fees, start=st.dates(min_value=date(2026, 1, 1), max_value=date(2032, 12, 31)))
def test_capped_2026_self_pay_follows_the_domain_table(fee, start):
    self_pay = kdt(fee, start).self_pay
    if fee <= 3_000_000:
        expected = min(fee // 100 * 10, 300_000)  # 10 %, truncated to 10 원, capped
    elif fee <= 6_000_000:
        expected = 300_000
    elif fee <= 12_000_000:
        expected = 400_000
    elif fee <= 18_000_000:
        expected = 500_000
    else:
        expected = 600_000
    assert self_pay == expected


@given(low=fees, high=fees, start=starts, rule_key=st.sampled_from(RULE_KEYS), rate=rates)
def test_a_dearer_run_never_costs_the_learner_less(low, high, start, rule_key, rate):
    low, high = sorted((low, high))
    a = generic_split(fee=low, start_date=start, rule_key=rule_key, employment_rate=rate)
    b = generic_split(fee=high, start_date=start, rule_key=rule_key, employment_rate=rate)
    if a is not None:
        assert a.self_pay <= b.self_pay


@given(fee=fees, low=st.floats(min_value=0.01, max_value=100), high=st.floats(min_value=0.01, max_value=100))
def test_a_higher_employment_rate_never_raises_the_general_self_pay(fee, low, high):
    low, high = sorted((low, high))
    assert general(fee, employment_rate=high).self_pay <= general(fee, employment_rate=low).self_pay
    for status in ("employed",):
        dear = general(fee, employment_rate=low, learner_status=status, exemptions=frozenset({"near_poor"}))
        cheap = general(fee, employment_rate=high, learner_status=status, exemptions=frozenset({"near_poor"}))
        assert cheap.self_pay <= dear.self_pay


@given(low=fees, high=fees, start=starts, rate=rates, status=learner_statuses, exemptions=exemption_sets)
def test_a_dearer_run_never_costs_any_learner_less(low, high, start, rate, status, exemptions):
    low, high = sorted((low, high))
    common = dict(start_date=start, rule_key="general", employment_rate=rate, learner_status=status)
    a = generic_split(fee=low, exemptions=exemptions, **common)
    b = generic_split(fee=high, exemptions=exemptions, **common)
    if a is not None:
        assert a.self_pay <= b.self_pay


@given(fee=fees, support=amounts, rate=rates, start=st.dates(min_value=date(2020, 1, 1), max_value=date(2032, 12, 31)))
def test_an_employed_learner_never_pays_less_than_the_generic_price(fee, support, rate, start):
    common = dict(fee=fee, start_date=start, rule_key="general", support_amount=support, employment_rate=rate)
    assert generic_split(**common, learner_status="employed").self_pay >= generic_split(**common).self_pay


@given(fee=fees, rate=st.floats(min_value=0.01, max_value=100))
def test_rate_derived_self_pay_is_a_multiple_of_10_won(fee, rate):
    self_pay = general(fee, employment_rate=rate).self_pay
    assert self_pay % 10 == 0
    assert fee * 0.15 - 10 < self_pay <= fee * 0.55


# -- price classes: the learner's own self-pay from the search index's per-class amounts ----------------------

LEARNER_STATUSES = (None, "unemployed", "student", "employed", "self_employed", "special_employment")


@given(
    code_rule=st.sampled_from(
        [
            ("C0061", "general", "card"),
            ("C0104", "capped2026", "card"),
            ("C0105", "kdigital", "kdigital"),
            ("MSIT-SWA", "free", "none"),
            ("X", None, "card"),  # no pricing rule: no price for anyone
        ]
    ),
    start=st.sampled_from([date(2025, 6, 2), D2026, date(2019, 5, 1)]),
    fee=st.integers(min_value=0, max_value=20_000_000),
    rate=st.none() | st.floats(min_value=0, max_value=100),
    feed=st.none() | st.integers(min_value=0, max_value=3_000_000),
    status=st.sampled_from(LEARNER_STATUSES),
    groups=st.sets(st.sampled_from(sorted(pricing.exemption_groups()))),
)
def test_the_lowest_of_a_learners_price_classes_is_their_own_self_pay(
    code_rule, start, fee, rate, feed, status, groups
):
    """What the search's "자비부담 낮은순" sorts a signed-in learner by is exactly the quote's self-pay."""
    code, rule, voucher = code_rule
    run = make_run(code, rule, voucher, start_date=start, fee=fee, employment_rate_3m=rate, general_self_pay=feed)
    amounts = pricing.class_self_pays(run)
    mine = min(amounts[i] for i in pricing.price_classes_of(status, frozenset(groups)))
    split = split_for_run(run, exemptions=frozenset(groups), learner_status=status)
    assert mine == (-1 if split is None else split.self_pay)
