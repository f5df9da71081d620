"""Fixtures for the payment tests: a real localstripe process (tests/support/localstripe.py) on 127.0.0.1.

The processes are started once per session, and only by the tests that ask for them. Tests are skipped only
when localstripe cannot be imported (it comes with the `test` extra); any other failure to start is an error.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from tests.support.localstripe import running_localstripe, stripe_client

SKIP_REASON = (
    "localstripe cannot be imported (it comes with the test extra: pip install -e '.[test]' -c constraints.txt)"
)


def _require_localstripe() -> None:
    try:
        import localstripe  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"{SKIP_REASON}: {exc}")


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    """Base URL of localstripe as it is (http://127.0.0.1:PORT)."""
    _require_localstripe()
    with running_localstripe() as base_url:
        yield base_url


@pytest.fixture(scope="session")
def localstripe_compat() -> Iterator[str]:
    """Base URL of localstripe with the stripe-compat shims (Idempotency-Key, created[...] on lists)."""
    _require_localstripe()
    with running_localstripe(stripe_compat=True) as base_url:
        yield base_url


@pytest.fixture
def stripe(localstripe):
    """A stripe.StripeClient on the plain localstripe."""
    return stripe_client(localstripe)


@pytest.fixture
def stripe_compat(localstripe_compat):
    return stripe_client(localstripe_compat)


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    url: str
    deliveries: list[Delivery] = field(default_factory=list)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, matches: Callable[[Delivery], bool], timeout: float = 10.0) -> Delivery:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = next((d for d in self.deliveries if matches(d)), None)
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no matching webhook within {timeout}s; got {len(self.deliveries)}")
                self._arrived.wait(remaining)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """An HTTP server on 127.0.0.1 that records every POST (answering 200)."""
    receiver: WebhookReceiver

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.end_headers()
            with receiver._arrived:
                receiver.deliveries.append(Delivery(self.path, dict(self.headers), body))
                receiver._arrived.notify_all()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = WebhookReceiver(url=f"http://127.0.0.1:{server.server_address[1]}/stripe/webhook")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
