"""Admins create staff accounts (page and command line); the new person sets their own password."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import func, select

from hrdnet.audit import SYSTEM_ACTOR, AuditEntry
from hrdnet.auth.models import User
from hrdnet.extensions import db
from tests.conftest import PASSWORD, csrf_token
from tests.functional.mail_links import mailed_link, submit_link
from tests.support.pages import error_summary, main_text, page

NEW_EMAIL = "staff.member@example.com"
CHOSEN = "chosen-by-the-person-7"


def create_account(client, *, email=NEW_EMAIL, name="김담당", role="provider", org_code=""):
    return client.post(
        "/admin/users",
        data={
            "email": email,
            "name": name,
            "role": role,
            "org_code": org_code,
            "csrf_token": csrf_token(client, "/admin/users"),
        },
    )


def user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def log_in(client, email, password):
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_token(client, "/login")}
    )


def table_rows(response) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", page(response), re.S)
    return re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S) if body else []


def test_admin_creates_a_provider_account_and_the_person_sets_a_password(app, client, login_as, make_provider, mailbox):
    admin = login_as("admin")
    provider = make_provider()
    response = create_account(client, org_code=str(provider.id))
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    assert "계정을 만들고 비밀번호 설정 안내 메일을 보냈습니다." in page(client.get("/admin/users"))

    created = db.session.scalar(select(User).where(User.email == NEW_EMAIL))
    assert (created.role, created.provider_id, created.ministry_id) == ("provider", provider.id, None)
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "user.created", AuditEntry.subject_id == created.pseudonym)
    )
    assert entry.actor == admin.pseudonym

    (invite,) = [m for m in mailbox() if m["To"] == NEW_EMAIL]
    assert "비밀번호를 설정해 주세요" in invite["Subject"]
    link = mailed_link(invite, "/password/reset")

    person = app.test_client()
    assert person.get(link).status_code == 200
    assert submit_link(person, link, password=CHOSEN, password_confirm=CHOSEN).status_code == 302
    assert log_in(person, NEW_EMAIL, CHOSEN).status_code == 302
    assert person.get("/provider/").status_code == 200
    assert person.get("/admin/").status_code == 403


@pytest.mark.parametrize(
    ("role", "org_code", "message"),
    [
        ("provider", "999999", "훈련기관 번호를 찾을 수 없습니다."),
        ("provider", "abc", "훈련기관 번호를 찾을 수 없습니다."),
        ("provider", "", "훈련기관 번호를 찾을 수 없습니다."),
        ("auditor", "NOPE", "부처 코드를 찾을 수 없습니다."),
        ("auditor", "", "부처 코드를 찾을 수 없습니다."),
        ("admin", "MOEL", "훈련생과 관리자 계정에는 소속 기관을 지정하지 않습니다."),
    ],
    ids=[
        "provider-unknown-id",
        "provider-not-a-number",
        "provider-no-org",
        "auditor-unknown-ministry",
        "auditor-no-org",
        "admin-with-org",
    ],
)
def test_unknown_organisation_is_refused_and_nobody_is_created(
    client, login_as, make_ministry, mailbox, role, org_code, message
):
    login_as("admin")
    make_ministry("MOEL")
    before = user_count()
    response = create_account(client, role=role, org_code=org_code)
    assert response.status_code == 400
    assert message in error_summary(response)
    assert user_count() == before
    assert [m for m in mailbox() if m["To"] == NEW_EMAIL] == []


def test_auditor_account_takes_a_ministry_code_in_any_case(client, login_as, make_ministry):
    login_as("admin")
    ministry = make_ministry("MOEL")
    assert create_account(client, role="auditor", org_code="moel").status_code == 302
    assert db.session.scalar(select(User).where(User.email == NEW_EMAIL)).ministry_id == ministry.id


def test_learner_accounts_cannot_be_made_on_the_admin_page(client, login_as):
    login_as("admin")
    before = user_count()
    response = create_account(client, role="learner")
    assert response.status_code == 400
    assert error_summary(response)
    assert user_count() == before


def test_an_email_that_is_taken_is_refused(client, login_as, make_provider):
    login_as("admin")
    provider = make_provider()
    assert create_account(client, org_code=str(provider.id)).status_code == 302
    again = create_account(client, email=NEW_EMAIL.upper(), org_code=str(provider.id))
    assert again.status_code == 409
    assert "이미 가입된 이메일 주소입니다" in error_summary(again)
    assert db.session.scalar(select(func.count()).select_from(User).where(User.email == NEW_EMAIL)) == 1


def test_users_list_masks_email_and_name(client, login_as, make_user):
    login_as("admin")
    make_user("learner", email="gildong.hong@example.com")
    listing = client.get("/admin/users")
    text = main_text(listing)  # the header greets the admin (also 홍길동 in tests) by name
    assert "gi**********@example.com" in text
    assert "gildong.hong@example.com" not in text
    assert "홍*동" in text
    assert "홍길동" not in text


def test_users_list_filters_by_role(client, login_as, make_user):
    login_as("admin")
    make_user("provider")
    make_user("auditor")
    make_user("auditor")
    rows = table_rows(client.get("/admin/users?role=auditor"))
    assert len(rows) == 2
    assert all("<td>부처 감사</td>" in row for row in rows)
    assert len(table_rows(client.get("/admin/users"))) == 4
    assert len(table_rows(client.get("/admin/users?role=nonsense"))) == 4  # an unknown role filters nothing


def test_users_list_has_pages(client, login_as, make_user):
    login_as("admin")
    for _ in range(25):
        make_user("learner")
    first = client.get("/admin/users")
    assert len(table_rows(first)) == 20
    assert 'href="/admin/users?page=2"' in page(first)
    second = client.get("/admin/users?page=2")
    assert second.status_code == 200
    assert len(table_rows(second)) == 6  # 25 learners and the admin
    filtered = client.get("/admin/users?role=learner")
    assert re.search(r'href="/admin/users\?(role=learner&amp;page=2|page=2&amp;role=learner)"', page(filtered))
    beyond = client.get("/admin/users?page=99")
    assert beyond.status_code == 200
    assert "계정이 없습니다" in page(beyond)


@pytest.mark.parametrize("role", ["learner", "provider", "auditor"])
def test_only_admins_manage_accounts(client, login_as, role):
    login_as(role)
    assert client.get("/admin/users").status_code == 403
    before = user_count()
    response = client.post(
        "/admin/users",
        data={"email": NEW_EMAIL, "name": "x", "role": "admin", "csrf_token": csrf_token(client, "/account")},
    )
    assert response.status_code == 403
    assert user_count() == before


def test_signed_out_visitors_are_sent_to_login(client):
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/admin/users")


# -- the command line --------------------------------------------------------------------------------


def test_cli_creates_an_auditor_who_can_sign_in(client, runner, make_ministry):
    make_ministry("MOEL")
    result = runner.invoke(
        args=["users", "create", "x@example.com", "--role", "auditor", "--org", "MOEL", "--password-stdin"],
        input="a-long-password-1\n",
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"created user \d+ \(auditor\)", result.output)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.created"))
    assert entry.actor == SYSTEM_ACTOR

    response = log_in(client, "x@example.com", "a-long-password-1")
    assert response.headers["Location"] == "/login/2fa/setup"  # auditors must enrol TOTP first
    secret = re.search(r'<code class="totp-secret">([A-Z2-7]+)</code>', page(client.get("/login/2fa/setup"))).group(1)
    enrolled = client.post(
        "/login/2fa/setup",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_token(client, "/login/2fa/setup")},
    )
    assert enrolled.status_code == 302
    assert client.get("/audit/").status_code == 200


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["--role", "auditor", "--org", "NOPE", "--password-stdin"],
            "a-long-password-1\n",
            "부처 코드를 찾을 수 없습니다.",
        ),
        (
            ["--role", "provider", "--org", "424242", "--password-stdin"],
            "a-long-password-1\n",
            "훈련기관 번호를 찾을 수 없습니다.",
        ),
        (["--role", "auditor", "--org", "MOEL", "--password-stdin"], "short\n", "password must be 10-128 characters"),
        (["--role", "superuser"], "", "Invalid value for '--role'"),
    ],
    ids=["unknown-ministry", "unknown-provider", "short-password", "unknown-role"],
)
def test_cli_refuses_bad_accounts_with_a_message(runner, make_ministry, args, stdin, message):
    make_ministry("MOEL")
    result = runner.invoke(args=["users", "create", "x@example.com", *args], input=stdin)
    assert result.exit_code != 0
    assert message in result.output
    assert user_count() == 0


def test_cli_refuses_a_taken_email(runner, make_user):
    make_user("learner", email="x@example.com")
    result = runner.invoke(
        args=["users", "create", "X@example.com", "--role", "admin", "--password-stdin"], input="a-long-password-1\n"
    )
    assert result.exit_code != 0
    assert "이미 가입된 이메일 주소입니다" in result.output


def test_cli_without_a_password_sends_an_invitation(client, runner, mailbox):
    result = runner.invoke(args=["users", "create", "boss@example.com", "--role", "admin"])
    assert result.exit_code == 0, result.output
    (invite,) = mailbox()
    assert invite["To"] == "boss@example.com"
    link = mailed_link(invite, "/password/reset")
    assert client.get(link).status_code == 200
    assert log_in(client, "boss@example.com", PASSWORD).status_code == 401  # no known password until set


def test_a_role_change_from_the_command_line_is_audited_and_signs_the_person_out(
    app, client, runner, make_user, login, make_ministry
):
    make_ministry("MOEL")
    user = make_user("learner")
    login(user)
    assert client.get("/me").status_code == 200
    result = runner.invoke(args=["users", "set-role", user.email, "--role", "auditor", "--org", "MOEL"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    changed = db.session.get(User, user.id)
    assert changed.role == "auditor" and changed.ministry_id is not None
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.role_changed")).one()
    assert entry.subject_id == user.pseudonym and entry.actor == "system"
    assert '"old":"learner"' in entry.data and '"new":"auditor"' in entry.data
    assert client.get("/me").status_code == 302  # the old session ended with the old rights
    unknown = runner.invoke(args=["users", "set-role", "nobody@example.com", "--role", "admin"])
    assert unknown.exit_code != 0
