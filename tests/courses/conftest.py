"""Fixtures of the catalog tests."""

from __future__ import annotations

import threading

import pytest

from tests.support.feed_api import FeedAPI


@pytest.fixture
def api():
    """The local OpenAPI stand-in, serving on 127.0.0.1 for one test."""
    server = FeedAPI()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
