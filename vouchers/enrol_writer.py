"""The batching writer (issue 14 point 4): enrolment requests queued in this process and written 10–50 per
transaction by vouchers.checkout.enrol_batch.

A caller submits a request and waits for its answer (`enrol`), which comes once the batch holding it has
committed (or failed), so nothing is acknowledged before it is durable: the queue is in memory, and a crash
loses only requests nobody has been answered for (their clients retry with the same request key, which the
database answers once). Each writer thread takes the requests waiting in the queue, up to `batch_size`,
after waiting up to `linger` seconds for a batch to fill when fewer are waiting; under load batches fill at
once and the wait is never paid. docs/ledger.md "The batching writer" explains the locks and the chain.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date

from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from vouchers import checkout

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Queued:
    request: checkout.EnrolRequest  # carries its actor and, for the API, its answer (respond)
    today: date
    answer: Future


class BatchingWriter:
    """`writers` threads, each with its own app context (session, connection), writing batches of up to
    `batch_size` requests. Use as a context manager, or call close(). One batch mixes requests of different
    actors (each request's history lines and audit entries carry its own); `respond_many` stores the answers
    of a batch's confirmed requests in its outcome transaction (checkout.enrol_batch)."""

    def __init__(
        self,
        app,
        *,
        batch_size: int = 25,
        linger: float = 0.002,
        writers: int = 1,
        respond_many: checkout.RespondMany | None = None,
    ):
        self.app, self.batch_size, self.linger, self.respond_many = app, batch_size, linger, respond_many
        self.batches = self.requests = 0  # written so far (figures for the benchmarks)
        self._queue: queue.Queue[_Queued | None] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._run, name=f"enrol-writer-{n}", daemon=True) for n in range(writers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, user_id: int, run_id: int, *, request_key: str, today: date, actor: str, respond=None) -> Future:
        """Queue a request; the future's result is its enrolment's id, or it raises the refusal enrol() raises.
        `respond(enrolment)` (optional): the request's answer, stored in its enrolment's last transaction."""
        answer: Future = Future()
        request = checkout.EnrolRequest(user_id, run_id, request_key, actor=actor, respond=respond)
        self._queue.put(_Queued(request, today, answer))
        return answer

    def enrol(self, user_id: int, run_id: int, *, request_key: str, today: date, actor: str) -> int:
        """Submit and wait for the batch's commit: the enrolment's id (raises the refusal)."""
        return self.submit(user_id, run_id, request_key=request_key, today=today, actor=actor).result()

    def close(self) -> None:
        for _thread in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> BatchingWriter:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _run(self) -> None:
        with self.app.app_context():
            while (batch := self._take()) is not None:
                for group in _by_day(batch):
                    self._write(group)
                db.session.remove()

    def _take(self) -> list[_Queued] | None:
        """The next batch: what is waiting, up to batch_size, lingering briefly for more; None to stop."""
        first = self._queue.get()
        if first is None:
            return None
        batch, deadline = [first], time.monotonic() + self.linger
        while len(batch) < self.batch_size:
            try:
                item = (
                    self._queue.get_nowait()
                    if not self.linger
                    else self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                )
            except queue.Empty:
                break
            if item is None:  # stopping: finish this batch, let the next get() see the stop again
                self._queue.put(None)
                break
            batch.append(item)
        return batch

    def _write(self, group: list[_Queued]) -> None:
        try:
            results = checkout.enrol_batch(
                [item.request for item in group],
                now=utcnow(),
                today=group[0].today,
                actor=group[0].request.actor,
                respond_many=self.respond_many,
            )
        except BaseException as exc:  # noqa: BLE001 - every waiting caller must hear of it
            log.exception("enrolment batch failed")
            db.session.rollback()
            for item in group:
                item.answer.set_exception(exc)
            return
        self.batches, self.requests = self.batches + 1, self.requests + len(group)
        for item, result in zip(group, results, strict=True):
            if isinstance(result, Exception):
                item.answer.set_exception(result)
            else:
                item.answer.set_result(result)


def _by_day(batch: list[_Queued]) -> list[list[_Queued]]:
    groups: dict[date, list[_Queued]] = {}
    for item in batch:
        groups.setdefault(item.today, []).append(item)
    return list(groups.values())
