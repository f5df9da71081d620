"""The worker's account jobs: outbox handlers that do what a request only asked for."""

from __future__ import annotations

from hrdnet import outbox
from hrdnet.auth import services
from hrdnet.db import unit_of_work


@outbox.handler(services.PASSWORD_RESET_TOPIC)
def send_password_reset(payload: dict) -> None:
    # Delivered at least once: a repeat only makes a fresh link that replaces the previous one, and it
    # counts towards the hourly cap, so a retry loop cannot flood the mailbox either.
    with unit_of_work(write_lock=True):
        services.send_password_reset(payload["email"])
