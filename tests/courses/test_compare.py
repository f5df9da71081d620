"""/compare?runs=…: 2–4 runs side by side, each viewer's own price, shareable by its address."""

from __future__ import annotations

import re

from courses import services
from tests.support.pages import page, text_of


def columns(response) -> list[str]:
    head = re.search(r"<thead>(.*?)</thead>", page(response), re.S).group(1)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r'<th scope="col">(.*?)</th>', head, re.S)]


def row(response, label: str) -> list[str]:
    match = re.search(r'<tr><th scope="row">' + re.escape(label) + r"</th>(.*?)</tr>", page(response), re.S)
    assert match, label
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip()
        for cell in re.findall(r"<td>(.*?)</td>", match.group(1), re.S)
    ]


def test_two_runs_side_by_side_with_the_learners_own_price(client, login, world):
    cheap = world.run(fee=1_000_000, capacity=20, source_enrolled=5)
    dear = world.run(fee=2_000_000, satisfaction=91.5)
    login(world.learner())

    response = client.get(f"/compare?runs={cheap.id},{dear.id}")

    assert response.status_code == 200
    assert columns(response) == [
        f"{cheap.course.title} {cheap.run_number}회차",
        f"{dear.course.title} {dear.run_number}회차",
    ]
    mine = row(response, "내가 낼 금액")
    assert mine[0].startswith("150,000원") and "카드에서 850,000원" in mine[0]
    assert mine[1].startswith("300,000원") and "카드에서 1,700,000원" in mine[1]
    assert row(response, "남은 자리")[0] == "15석 / 정원 20명"
    assert row(response, "만족도")[1] == "91.5점"
    assert f'href="/runs/{cheap.id}/enrol"' in page(response)  # enrol straight from the comparison


def test_the_address_is_the_comparison_and_anyone_can_open_it(client, world):
    a, b, c = world.run(), world.run(), world.run()
    response = client.get(f"/compare?runs={c.id},{a.id},{c.id},999999,{b.id}")
    assert [title.split()[-1] for title in columns(response)] == [
        f"{c.run_number}회차",
        f"{a.run_number}회차",
        f"{b.run_number}회차",
    ]
    assert "찾을 수 없는 회차(999999번)" in text_of(response)
    assert row(response, "자비부담금(일반 기준)")[0] == "150,000원"  # anonymous: the generic price
    assert f"/compare?runs={a.id},{b.id}" in page(response)  # removing one keeps the others


def test_at_most_four_runs_and_only_digits():
    assert services.parse_compare_ids("1,2,x,3,3,4,5") == [1, 2, 3, 4]
    assert services.parse_compare_ids("") == []


def test_one_run_asks_for_another_and_none_explains(client, world):
    run = world.run()
    assert "한 회차를 더 담으면" in text_of(client.get(f"/compare?runs={run.id}"))
    assert "비교할 회차를 담아 주세요" in text_of(client.get("/compare"))
    assert f'data-compare-add="{run.id}"' in page(client.get(f"/runs/{run.id}"))


def test_the_providers_accreditation_grade_is_on_the_run_page_and_in_compare(client, world):
    graded = world.catalog.course("파이썬 실무", provider=world.catalog.provider("인증 아카데미", grade="3년인증"))
    accredited = world.run(course=graded)
    other = world.run(course=world.catalog.course("자바 실무", provider=world.catalog.provider("새 아카데미")))
    assert row(client.get(f"/compare?runs={accredited.id},{other.id}"), "훈련기관 인증 등급") == [
        "3년인증",
        "정보 없음",
    ]
    shown = re.sub(r"\s+", " ", text_of(client.get(f"/runs/{accredited.id}")))
    assert "훈련기관 인증 등급 3년인증" in shown
    assert "훈련기관 인증 등급 정보 없음" in re.sub(r"\s+", " ", text_of(client.get(f"/runs/{other.id}")))
