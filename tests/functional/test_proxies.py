"""Red-team finding 16: behind a TLS proxy the site saw one client (the proxy) and no HTTPS, so every user
shared one rate-limit bucket and no HSTS was sent. TRUSTED_PROXY_COUNT says how many proxies to believe."""

from __future__ import annotations

import pytest
from flask import jsonify, request

from hrdnet import create_app
from hrdnet.access import public
from tests.support.production import production_config

FORWARDED = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}


def _echo_client(app_config: dict, **overrides):
    app = create_app({**app_config, **overrides})

    @public
    def echo():
        return jsonify(addr=request.remote_addr, secure=request.is_secure)

    app.add_url_rule("/_test/echo", "test_echo", echo)
    return app.test_client()


def test_with_one_trusted_proxy_the_client_address_and_https_come_from_it(app_config):
    client = _echo_client(app_config, TRUSTED_PROXY_COUNT=1)
    response = client.get("/_test/echo", headers=FORWARDED)
    assert response.get_json() == {"addr": "198.51.100.7", "secure": True}
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_without_trusted_proxies_forwarded_headers_are_ignored(app_config):
    client = _echo_client(app_config)
    response = client.get("/_test/echo", headers=FORWARDED)
    assert response.get_json() == {"addr": "127.0.0.1", "secure": False}
    assert "Strict-Transport-Security" not in response.headers


def test_only_the_configured_number_of_hops_is_believed(app_config):
    """A client cannot pick its own address by sending X-Forwarded-For through our one proxy."""
    client = _echo_client(app_config, TRUSTED_PROXY_COUNT=1)
    spoofed = {"X-Forwarded-For": "10.0.0.1, 198.51.100.7", "X-Forwarded-Proto": "https"}
    assert client.get("/_test/echo", headers=spoofed).get_json()["addr"] == "198.51.100.7"


@pytest.mark.parametrize("path", ["/", "/login"])
def test_production_always_sends_hsts(app_config, path):
    client = _echo_client(app_config, **production_config())
    assert client.get(path).headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
