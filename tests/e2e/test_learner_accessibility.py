"""axe-core over every learner page at 320, 390 and 1280 px, with the site's CSP intact: home, search, the run
page, compare, enrol, pay, /me, my card, my enrolments, the rating form, favourites, notifications, saved
searches and the job finder.

axe-core (tests/e2e/assets/axe.min.js, MPL-2.0, vendored: no CDN, no network) is evaluated through the
DevTools protocol (page.evaluate), which the page's Content-Security-Policy does not govern; the page itself
is served with its real headers, so what axe checks is what a learner gets. No serious or critical violation
is allowed on any page state at 390 and 1280 px. At 320 and 390 px no page may scroll sideways; at 390×844 the run page's
수강 신청 button is on the first screen; after a failed form submit, focus is on the error summary.
Screenshots at 390 and 1280 px land in tests/e2e/artifacts/ (the README's come from there).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from courses import calendar
from hrdnet.db import unit_of_work
from hrdnet.timeutil import utcnow
from search import saved
from search.interfaces import SearchParams
from tests.conftest import PASSWORD
from tests.e2e.conftest import settle, shot
from vouchers.enrolments import endings
from vouchers.reminders import operations as reminders

AXE = (Path(__file__).parent / "assets" / "axe.min.js").read_text(encoding="utf-8")
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
WIDTHS = {"320": (320, 720), "390": (390, 844), "1280": (1280, 900)}


def axe_violations(page) -> list[str]:
    """Serious and critical WCAG 2.2 AA violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE)
    result = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def no_sideways_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def too_wide(page) -> list[str]:
    """What sticks out on the right (outside scrolling regions and the off-screen mobile menu), to say why."""
    return page.evaluate(
        "() => [...document.querySelectorAll('body *')]"
        ".filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)"
        ".filter((e) => !e.closest('[role=region], #mobile-nav')).slice(0, 3)"
        ".map((e) => e.tagName + '.' + e.className)"
    )


# Written before the live server (and its worker) start: fixtures are set up in the order the test names them.
@pytest.fixture
def learner_world(app, world, reindex, today):
    """A learner with a paid enrolment, an unpaid one (the pay page), a completed run to rate, a favourite, a
    saved search and the reminders the worker makes."""
    learner = world.learner()
    learner_id, email = learner.id, learner.email  # reindex() ends the session's objects
    paid = world.run(fee=1_000_000, hours=600)
    other = world.run(fee=2_000_000, start=today + timedelta(days=21))
    held = world.run(fee=500_000)
    ended = world.run(programme="MSIT-SWA", fee=0, start=today - timedelta(days=12), days=5)  # draws nothing
    world.enrol(learner, paid)
    unpaid = world.enrol(learner, held, pay=False)
    finished = world.enrol(learner, ended, today=ended.start_date - timedelta(days=5))
    world.mark(finished, calendar.days_between(ended, ended.start_date, ended.end_date))
    with unit_of_work(write_lock=True):
        endings.complete_due(ended.end_date + timedelta(days=1))
        reminders.toggle_favourite(learner_id, other.id)
    values = email, paid.id, other.id, unpaid.id, finished.id  # plain values: the live server has its own sessions
    reindex()
    with unit_of_work(write_lock=True):
        saved.save(learner_id, "백엔드 개발", SearchParams(q="백엔드"), utcnow())
        reminders.send_due(today, utcnow())
    return values


@pytest.mark.parametrize("width", list(WIDTHS))
def test_learner_pages_pass_axe_and_fit_the_screen(learner_world, page, live_server, page_problems, width):
    email, paid, other, unpaid, finished = learner_world
    page_problems.ignore(r"status of 400 .*/runs/\d+/enrol")  # the wrong password, on purpose
    w, h = WIDTHS[width]
    page.set_viewport_size({"width": w, "height": h})
    screenshots = width in ("390", "1280")
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        settle(page)  # axe and the width check judge the page as drawn, web fonts included
        problems = axe_violations(page) if width != "320" else []  # 320: the layout only (axe is the slow part)
        if not no_sideways_scroll(page):
            problems.append(f"the page scrolls sideways; too wide: {too_wide(page)}")
        if problems:
            found[name] = problems
        if screenshots:
            shot(page, f"{name}-{width}", check_font=False)  # fonts: the other journeys check them

    page.goto("/")
    check("home")
    page.goto("/courses?q=백엔드")
    check("search")
    page.goto(f"/runs/{other}")
    check("run-anonymous")

    page.goto("/login")
    page.get_by_label("이메일").fill(email)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="로그인").click()
    page.wait_for_url(f"{live_server}/")

    page.goto(f"/runs/{other}")
    button = page.locator(".run-summary").first.get_by_role("link", name="수강 신청", exact=True)
    expect(button).to_be_visible()
    if width == "390":
        settle(page)  # where the button lands depends on the web fonts of the text above it
        box = button.bounding_box()
        assert box["y"] + box["height"] <= h, f"수강 신청 is below the first screen ({box})"
    check("run")
    page.goto(f"/compare?runs={paid},{other}")
    check("compare")
    page.goto(f"/runs/{other}/enrol")
    check("enrol")
    page.get_by_label("비밀번호").fill("wrong-password-123")
    page.get_by_role("button", name="수강 신청하기").click()
    expect(page.locator(".site-error-summary")).to_be_focused()
    check("enrol-error")
    page.goto(f"/runs/{paid}/enrol")
    check("enrol-refused")
    page.goto("/me")
    check("me")
    page.goto("/me/card")
    check("my-card")
    page.goto("/me/enrolments")
    check("my-enrolments")
    page.goto(f"/me/enrolments/{unpaid}/pay")
    check("pay")
    page.goto(f"/me/enrolments/{finished}/rating")
    expect(page.get_by_label("점수")).to_be_visible()  # the form itself, not the "평가 불가" notice
    check("rating")
    page.goto("/me/favourites")
    check("favourites")
    page.goto("/me/notifications")
    check("notifications")
    page.goto("/me/saved-searches")
    check("saved-searches")
    page.goto("/jobs?job=20010202")
    check("jobs")

    assert not found, "\n".join(f"{name}: {p}" for name, problems in found.items() for p in problems)
