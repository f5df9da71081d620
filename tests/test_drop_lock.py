"""The lock that keeps test-database drops out of a many_connections test (tests/conftest.py, _Dropper).

Drops share the lock; a many_connections test (paused()) takes it exclusively. Once paused() waits, no drop may
take its turn before it: a drop of the other worker starting meanwhile waits until paused() is done. Without the
gate, flock granted the new drop at once, and a stream of overlapping drops kept paused() waiting.
"""

from __future__ import annotations

import fcntl
import threading
import time

from tests.conftest import _Dropper

PATIENCE = 10.0  # seconds: how long a step may take on a loaded machine before the test gives up


def _gate_is_taken(gate_path) -> bool:
    with gate_path.open("a") as gate:
        try:
            fcntl.flock(gate, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False


def test_a_drop_that_starts_while_paused_waits_does_not_go_before_it(tmp_path):
    dropper = _Dropper(tmp_path / "drop.lock", tmp_path / "drop.gate")  # never connects: only the lock is used
    order: list[str] = []
    release = threading.Event()

    def many_connections_test():
        with dropper.paused():
            order.append("paused")
            release.wait(PATIENCE)
            order.append("done")  # inside the block: a drop may come only after this

    def new_drop():
        with dropper.turn():
            order.append("drop")

    try:
        with dropper.turn():  # a drop under way (on either worker) while the many_connections test arrives
            waiting = threading.Thread(target=many_connections_test)
            waiting.start()
            deadline = time.monotonic() + PATIENCE
            while not _gate_is_taken(dropper.gate_path):  # paused() is waiting for the lock now
                assert time.monotonic() < deadline, "paused() never came to wait for the lock"
                time.sleep(0.01)
            late = threading.Thread(target=new_drop)
            late.start()
            late.join(0.5)  # a drop that could go first goes now (the old lock let it: this failed)
            order.append("first drop done")
        deadline = time.monotonic() + PATIENCE
        while "paused" not in order:
            assert time.monotonic() < deadline, f"paused() never got the lock: {order}"
            time.sleep(0.01)
        release.set()
        waiting.join(PATIENCE)
        late.join(PATIENCE)
        assert order == ["first drop done", "paused", "done", "drop"]
    finally:
        release.set()
        dropper.close()
