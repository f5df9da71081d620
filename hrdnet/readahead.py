"""Read-ahead for a batch: facts read for many keys in one statement each, then looked up one key at a time by
the functions that would otherwise read them one statement per key.

The batching writer (vouchers.checkout.enrol_batch) plans every request of a batch with the same functions
the single path uses (the quote, the pre-checks); inside `batch()` those functions first look here. Only keys
that were read ahead are answered from here (a key read ahead and not found answers None, as the query
would); anything else is read as usual. Nothing here is trusted under a lock: what a plan read ahead is
re-checked under the card's lock, or decided by the database's constraints, exactly as a plan read one query
at a time is.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager

from hrdnet.extensions import db

MISSING = object()
_key = "hrdnet_readahead"  # session.info: {kind: {key: value}} while a batch is planned


@contextmanager
def batch() -> Iterator[None]:
    """Answer from what is read ahead (fill) until the block ends."""
    info = db.session().info
    info[_key] = {}
    try:
        yield
    finally:
        info.pop(_key, None)


def active() -> bool:
    return _key in db.session().info


def fill(kind: str, keys: Iterable[Hashable], found: dict) -> None:
    """Record what was read for these keys (a key missing from `found` was read and is absent: None)."""
    store = db.session().info.get(_key)
    if store is not None:
        known = store.setdefault(kind, {})
        for key in keys:
            known[key] = found.get(key)


def keep(objects: Iterable) -> None:
    """Hold ORM objects for the batch, so the session's (weak) identity map answers get() without a query."""
    store = db.session().info.get(_key)
    if store is not None:
        store.setdefault("", []).extend(objects)


def known(kind: str, key: Hashable):
    """The value read ahead for this key, or MISSING when it was not read ahead."""
    store = db.session().info.get(_key)
    if store is None or kind not in store:
        return MISSING
    return store[kind].get(key, MISSING)


def memo(kind: str, key: Hashable, compute: Callable[[], object]):
    """compute() once per key for the batch, then the same answer (outside a batch: computed every time).
    For what depends only on facts the batch read once: e.g. a run's price split for one learner status,
    evaluated once per batch instead of once per request."""
    store = db.session().info.get(_key)
    if store is None:
        return compute()
    known = store.setdefault(kind, {})
    if key not in known:
        known[key] = compute()
    return known[key]
