"""Issue 17.8's smaller fixes, through HTTP: the footer no longer sends learners elsewhere to enrol, sources
have Korean names, each run links to its own page at the source, the masthead sits in the banner landmark,
pages carry Open Graph tags, and the signed-in user sees their own name unmasked."""

from __future__ import annotations

import re

from courses import services
from tests.support.pages import page, text_of


def test_each_run_links_to_its_own_run_at_the_source():
    url = "https://www.work24.go.kr/hr/a/a/3100/selectTracseDetl.do?tracseId=AIG20250000524076&tracseTme=12"
    assert services.run_source_url(url, 13).endswith("tracseId=AIG20250000524076&tracseTme=13")
    assert services.run_source_url("https://example.org/course/7", 13) == "https://example.org/course/7"
    assert services.run_source_url(None, 13) is None


def test_sources_have_korean_names_never_slugs():
    assert services.source_label("moe-kmooc") == "교육부 K-MOOC 목록"
    assert services.source_label("some-new-feed") == "기관 제공 목록"


def test_the_shell_tells_the_truth_and_previews_when_shared(client, world, login):
    run = world.run()
    body = page(client.get(f"/runs/{run.id}"))
    assert "각 기관의 공식 누리집에서 해 주세요" not in body
    header = re.search(r'<header id="krds-header">.*?</header>', body, re.S).group(0)
    assert 'id="krds-masthead"' in header  # inside the banner landmark
    assert f'<meta property="og:title" content="{run.course.title} {run.run_number}회차">' in body
    assert (
        f'<meta property="og:url" content="http://127.0.0.1:5000/runs/{run.id}">' in body or 'property="og:url"' in body
    )
    assert 'property="og:description" content="' in body and "개강 · 훈련비 1,000,000원" in body

    learner = world.learner()
    login(learner)
    assert f"{learner.name}님" in text_of(client.get("/"))
