"""Run localstripe (a local, stateful Stripe stand-in) on 127.0.0.1 only.

    with running_localstripe() as base_url:          # a free port, chosen without a race
        client = stripe_client(base_url)               # StripeClient(..., base_addresses={"api": base_url})
        ...

The stock `localstripe` command is not used, for three reasons found in its source (1.15.10):
- it binds `::` (every interface, IPv4 and IPv6) and has no --host option;
- it pickles its whole store to the fixed path /tmp/localstripe.pickle after every write (and reloads it on
  start without --from-scratch), so two instances share and clobber one file;
- it logs a DeprecationWarning per route under current aiohttp.
Instead this module serves localstripe's own aiohttp `app` on a socket that the parent has already bound to
127.0.0.1 (`port=None` picks a free one; the socket is handed to the child, so nothing can take the port in
between), with the store kept in memory only.

`stripe_compat=True` adds two things real Stripe does and localstripe does not (see docs in the tests,
tests/vouchers/payments/test_localstripe_spike.py): honouring `Idempotency-Key` on POST requests, and filtering
`GET /v1/payment_intents` and `GET /v1/refunds` by `created[gt|gte|lt|lte]`, newest first.

Command line (what bin/localstripe runs):  python tests/support/localstripe.py [--port 8420] [--stripe-compat]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

HOST = "127.0.0.1"
DEFAULT_PORT = 8420  # localstripe's own default
TEST_SECRET_KEY = "sk_test_localstripe"  # localstripe accepts any key that starts with sk_ (pk_ for Stripe.js)
TEST_PUBLISHABLE_KEY = "pk_test_localstripe"
STARTUP_SECONDS = 20.0


class LocalstripeError(RuntimeError):
    pass


# -- parent side ---------------------------------------------------------------------------------------


def _bind(port: int | None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port or 0))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    return sock


def _answers(base_url: str, timeout: float) -> bool:
    # No proxies: whatever the environment says, this address is on this machine.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(base_url + "/js.stripe.com/v3/", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def running_localstripe(
    port: int | None = None, *, stripe_compat: bool = False, python: str | None = None
) -> Iterator[str]:
    """Start localstripe on 127.0.0.1 (`port`, or a free one), wait until it answers, yield its base URL
    (http://127.0.0.1:PORT, no trailing slash), and stop it on leaving (SIGTERM, then SIGKILL)."""
    sock = _bind(port)
    base_url = f"http://{HOST}:{sock.getsockname()[1]}"
    log = tempfile.TemporaryFile(mode="w+b")
    argv = [python or sys.executable, str(Path(__file__).resolve()), "--fd", str(sock.fileno())]
    if stripe_compat:
        argv.append("--stripe-compat")
    try:
        process = subprocess.Popen(
            argv,
            pass_fds=[sock.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    finally:
        sock.close()  # the child has its own copy; the port stays bound
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _answers(base_url, timeout=1.0):
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                output = log.read().decode("utf-8", "replace")[-3000:]
                raise LocalstripeError(
                    f"localstripe did not start on {base_url} (exit code {process.poll()}):\n{output}"
                )
            time.sleep(0.05)
        yield base_url
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def stripe_client(base_url: str, api_key: str = TEST_SECRET_KEY):
    """A StripeClient talking to localstripe: no retries (localstripe answers some unsupported calls with
    500, which the library would otherwise retry with back-off) and no proxies from the environment."""
    import requests
    import stripe

    session = requests.Session()
    session.trust_env = False
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": base_url},
        max_network_retries=0,
        http_client=stripe.RequestsClient(session=session, timeout=10),
    )


def _config_request(method: str, url: str, payload: dict | None = None) -> None:
    import json

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"} if data else {}
    )
    with opener.open(request, timeout=10) as response:  # 200 with an empty body; errors raise HTTPError
        response.read()


def configure_webhook(base_url: str, name: str, url: str, secret: str, events: list[str] | None = None) -> None:
    """Have localstripe POST its events to `url`, signed like Stripe (`Stripe-Signature: t=...,v1=...`, HMAC-
    SHA256 with `secret`). `events` limits the event types; [] silences the endpoint. There is no way to
    remove an endpoint: registering the same `name` again replaces it."""
    payload: dict = {"url": url, "secret": secret}
    if events is not None:
        payload["events"] = events
    _config_request("POST", f"{base_url}/_config/webhooks/{name}", payload)


def flush_data(base_url: str) -> None:
    """Forget every object (webhook endpoints are kept)."""
    _config_request("DELETE", f"{base_url}/_config/data")


# -- child side: serve localstripe's app ----------------------------------------------------------------


def _compat_idempotency_middleware():
    """Stripe's idempotent requests: a POST repeated with the same Idempotency-Key (and the same API key)
    gets the first response again, with `Idempotent-Replayed: true`; with other parameters it gets a 400
    `idempotency_error`; while the first is still running, a 409. 5xx answers are not kept."""
    import hashlib

    from aiohttp import web

    saved: dict[tuple[str, str], tuple | None] = {}

    def error(status: int, message: str) -> web.Response:
        return web.json_response({"error": {"type": "idempotency_error", "message": message}}, status=status)

    @web.middleware
    async def idempotency(request, handler):
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key or request.path.startswith("/_config/"):
            return await handler(request)
        body = await request.read()  # aiohttp keeps it for the handler
        fingerprint = hashlib.sha256(
            b"%s?%s\n%s" % (request.path.encode(), request.query_string.encode(), body)
        ).hexdigest()
        scope = (request.headers.get("Authorization", ""), key)
        if scope in saved:
            entry = saved[scope]
            if entry is None:
                return error(409, f"There is currently another in-progress request using this Idempotent Key: {key}.")
            first_fingerprint, status, content, content_type = entry
            if first_fingerprint != fingerprint:
                return error(
                    400,
                    f"Keys for idempotent requests can only be used with the same parameters "
                    f"they were first used with. Try using a key other than '{key}' if you "
                    f"meant to execute a different request.",
                )
            return web.Response(
                status=status,
                body=content,
                content_type=content_type,
                headers={"Idempotency-Key": key, "Idempotent-Replayed": "true"},
            )
        saved[scope] = None
        try:
            response = await handler(request)
        except BaseException:
            del saved[scope]
            raise
        if response.status >= 500 or not isinstance(response.body, bytes):
            del saved[scope]
        else:
            saved[scope] = (fingerprint, response.status, response.body, response.content_type)
            response.headers["Idempotency-Key"] = key
        return response

    return idempotency


def _compat_created_filter(cls) -> None:
    from localstripe.errors import UserError
    from localstripe.resources import try_convert_to_int

    original = cls._api_list_all.__func__
    tests = {"gt": int.__gt__, "gte": int.__ge__, "lt": int.__lt__, "lte": int.__le__}

    def list_all(klass, url, created=None, **kwargs):
        bounds = {}
        if created is not None:
            if isinstance(created, str):
                created = {"eq": created}
            if not isinstance(created, dict) or not created:
                raise UserError(400, "Invalid created")
            for op, value in created.items():
                value = try_convert_to_int(value)
                if op not in (*tests, "eq") or not isinstance(value, int):
                    raise UserError(400, f"Invalid created[{op}]")
                bounds[op] = value
        li = original(klass, url, **kwargs)
        li._list = [
            obj
            for obj in li._list
            if all(obj.created == v if op == "eq" else tests[op](obj.created, v) for op, v in bounds.items())
        ]
        # Newest first, as Stripe lists (the store keeps creation order; `created` has whole seconds).
        order = {id(obj): i for i, obj in enumerate(li._list)}
        li._list.sort(key=lambda obj: (obj.created, order[id(obj)]), reverse=True)
        return li

    cls._api_list_all = classmethod(list_all)


def serve(sock: socket.socket, *, stripe_compat: bool = False, access_log: bool = True) -> None:
    import logging
    import warnings

    # localstripe's routes use plain functions, which aiohttp deprecates with a warning per route.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"aiohttp\..*")
    from aiohttp import web
    from localstripe import resources, server

    resources.Store.dump_to_disk = lambda self: None  # memory only: never /tmp/localstripe.pickle
    app = server.app
    if stripe_compat:
        app.middlewares.insert(0, _compat_idempotency_middleware())
        _compat_created_filter(resources.PaymentIntent)
        _compat_created_filter(resources.Refund)

    logger = None
    if access_log:
        logging.basicConfig(level=logging.INFO, format="localstripe: %(message)s", stream=sys.stderr)
        logger = logging.getLogger("aiohttp.access")
    host, port = sock.getsockname()[:2]
    print(
        f"localstripe {getattr(sys.modules['localstripe'], '__version__', '?')} on http://{host}:{port}"
        f"  (Stripe.js stand-in: http://{host}:{port}/js.stripe.com/v3/)"
        f"{'  [stripe-compat]' if stripe_compat else ''}",
        flush=True,
    )
    web.run_app(app, sock=sock, access_log=logger, print=None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="localstripe", description="localstripe on 127.0.0.1 only, memory-only store")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default {DEFAULT_PORT})")
    parser.add_argument("--fd", type=int, help=argparse.SUPPRESS)  # a listening socket handed over by the parent
    parser.add_argument(
        "--stripe-compat",
        action="store_true",
        help="honour Idempotency-Key; filter payment intents and refunds by created[...]",
    )
    parser.add_argument("--quiet", action="store_true", help="no access log")
    args = parser.parse_args(argv)
    sock = socket.socket(fileno=args.fd) if args.fd is not None else _bind(args.port)
    serve(sock, stripe_compat=args.stripe_compat, access_log=not args.quiet)


if __name__ == "__main__":
    # Run as a script, this file's folder is sys.path[0], where `import localstripe` would find this file.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    main()
