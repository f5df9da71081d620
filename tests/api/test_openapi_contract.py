"""The API answers what its OpenAPI document says (red-team finding 17), checked by schemathesis.

The app's own /api/v1/openapi.json is loaded over WSGI, and every operation is called with examples that
schemathesis generates from the document (valid and invalid ones), checking each answer: no 5xx, a status
the operation documents, a body matching the documented schema and content type, and the other checks of
`case.call_and_validate()`.

Deterministic and cheap: the demo catalog (small), the demo learner with a card and an API token are made
once per module into a SQLite file and a search index; each operation's test runs on its own copy of both,
so what one operation's examples leave behind (enrolments, a revoked token, a cancelled enrolment) never
reaches another, and within one test Hypothesis runs the same examples in the same order every time
(derandomize=True, no example database, no deadline).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from hrdnet import create_app
from hrdnet.extensions import db
from tests.conftest import _test_config

EXAMPLES_PER_OPERATION = 25
DEMO_RUNS = 40
LEARNER_EMAIL = "learner@demo.hrdnet.kr"


def _spec_app(tmp_path: Path):
    """An app for reading the document only (it opens no database connection)."""
    return create_app(_test_config(tmp_path, f"sqlite:///{tmp_path / 'unused.sqlite3'}"))


def _operation_labels(tmp_path: Path) -> list[tuple[str, str]]:
    spec = _spec_app(tmp_path).test_client().get("/api/v1/openapi.json").get_json()
    return [
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if method != "parameters"
    ]


def pytest_generate_tests(metafunc):
    if "operation" in metafunc.fixturenames:
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            labels = _operation_labels(Path(folder))
        metafunc.parametrize("operation", labels, ids=[f"{method} {path}" for method, path in labels])


@pytest.fixture(scope="module")
def seeded(sqlite_template, tmp_path_factory):
    """The demo catalog, one account per role, the demo learner's card, the search index and a learner token."""
    from hrdnet.auth import services as auth_services
    from hrdnet.db import unit_of_work
    from search.index import build as index_build
    from vouchers import demo

    folder = tmp_path_factory.mktemp("contract-seed")
    shutil.copyfile(sqlite_template, folder / "seed.sqlite3")
    app = create_app(_test_config(folder, f"sqlite:///{folder / 'seed.sqlite3'}"))
    with app.app_context():
        list(demo.load(runs=DEMO_RUNS, seed=1))
        index_build.rebuild()
        with unit_of_work(write_lock=True):
            learner = auth_services.find_user_by_email(LEARNER_EMAIL)
            token = auth_services.issue_api_token(learner, "contract").token
        db.session.remove()
        db.engine.dispose()
    return folder, token


@pytest.fixture
def contract_app(seeded, tmp_path):
    """A fresh copy of the seeded database and index. No app context is kept pushed: every request of
    schemathesis gets its own, as under a server."""
    folder, token = seeded
    shutil.copyfile(folder / "seed.sqlite3", tmp_path / "test.sqlite3")
    shutil.copytree(folder / "index", tmp_path / "index")
    app = create_app(_test_config(tmp_path, f"sqlite:///{tmp_path / 'test.sqlite3'}"))
    yield app, token
    with app.app_context():
        db.engine.dispose()


def test_every_operation_of_the_document_is_checked(tmp_path):
    labels = _operation_labels(tmp_path)
    assert ("POST", "/api/v1/enrolments") in labels and ("GET", "/api/v1/courses") in labels


def test_operation_answers_as_documented(contract_app, operation):
    app, token = contract_app
    method, path = operation
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # The token is ours to send (not a generated parameter); unknown query parameters are ignored by design
    # (hrdnet.api.QueryArgs), so a request is not "invalid" for carrying one.
    schema.config.generation.update(with_security_parameters=False, allow_extra_parameters=False)
    api_operation = schema[path][method]
    # Valid examples (must be answered as documented) and invalid ones (must be refused with a 4xx).
    strategy = api_operation.as_strategy(GenerationMode.POSITIVE) | api_operation.as_strategy(GenerationMode.NEGATIVE)
    headers = {"Authorization": f"Bearer {token}"}

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def answers_as_documented(case):
        case.call_and_validate(headers=headers)

    answers_as_documented()
