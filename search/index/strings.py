"""Compact tables of strings for what a web process keeps over the whole catalogue (docs/search.md, "Memory").

At national scale (150,000 courses) the morpheme vocabulary and the suggestion keys were hundreds of thousands
of Python str and int objects per worker (~70 bytes each before the dict or list holding them). Here a list of
strings is one UTF-8 buffer and an offset array, and a vocabulary is such a list, sorted, beside a count array:
a few bytes of overhead per string. UTF-8 orders bytes in code-point order, so a table sorted as str is sorted
as bytes and bisects without decoding.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np


def _malloc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None).malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to hand back explicitly
        return None


_MALLOC_TRIM = _malloc_trim()


def release_memory(collect: bool = False) -> None:
    """After building a table over the whole catalogue: hand the freed heap back to the system (~1 ms), and with
    `collect` first collect the garbage the build left in reference cycles (a full collection: ~60-300 ms, so
    only after builds that cost more, the suggestion lists and the speller). Otherwise glibc keeps the build's
    peak for reuse and a worker's RSS stays there (at 120,000 runs ~30 MB of a worker's ~250 MB)."""
    if collect:
        gc.collect()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


class Strings(Sequence):
    """An immutable list of strings in one buffer. `raw(i)` is the i-th string encoded."""

    def __init__(self, strings: Iterable[str]):
        encoded = [encode(text) for text in strings]
        self._offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=self._offsets[1:])
        self._buffer = b"".join(encoded)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def raw(self, index: int) -> bytes:
        return self._buffer[int(self._offsets[index]) : int(self._offsets[index + 1])]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self.raw(index).decode("utf-8", "surrogatepass")

    @property
    def encoded(self) -> Sequence[bytes]:
        """The raw view, for bisect over a sorted table."""
        return _Encoded(self)

    def position(self, text) -> int:
        """Where `text` is in this table, which must be sorted; -1 when it is not there (or is not a str)."""
        if not isinstance(text, str):
            return -1
        key, encoded = encode(text), self.encoded
        at = bisect_left(encoded, key)
        return at if at < len(encoded) and encoded[at] == key else -1

    @property
    def nbytes(self) -> int:
        return len(self._buffer) + self._offsets.nbytes


class _Encoded(Sequence):
    def __init__(self, strings: Strings):
        self._strings = strings

    def __len__(self) -> int:
        return len(self._strings)

    def __getitem__(self, index):
        return self._strings.raw(index)


class Vocabulary(Mapping):
    """word -> count, read-only: sorted Strings and an int array (what Counter.get and .items() gave)."""

    def __init__(self, counts: Mapping[str, int]):
        words = sorted(word for word, count in counts.items() if count)
        self._words = Strings(words)
        self._counts = np.fromiter((counts[word] for word in words), dtype=np.int64, count=len(words))

    @classmethod
    def merged(cls, parts: Sequence[Vocabulary]) -> Vocabulary:
        """The sum of several vocabularies (a version's segments)."""
        if len(parts) == 1:
            return parts[0]
        total: dict[str, int] = {}
        for part in parts:
            for word, count in part.items():
                total[word] = total.get(word, 0) + count
        return cls(total)

    def get(self, word, default=None):
        at = self._words.position(word)
        return int(self._counts[at]) if at >= 0 else default

    def __getitem__(self, word: str) -> int:
        found = self.get(word)
        if found is None:
            raise KeyError(word)
        return found

    def __contains__(self, word) -> bool:
        return self._words.position(word) >= 0

    def __iter__(self) -> Iterator[str]:
        return iter(self._words)

    def __len__(self) -> int:
        return len(self._words)

    def items(self):
        return zip(self._words, self._counts.tolist(), strict=True)

    @property
    def nbytes(self) -> int:
        return self._words.nbytes + self._counts.nbytes


class StringMap(Mapping):
    """str -> str, read-only: sorted keys and their values, each a Strings."""

    def __init__(self, items: Mapping[str, str]):
        keys = sorted(items)
        self._keys = Strings(keys)
        self._values = Strings(items[key] for key in keys)

    def __getitem__(self, key: str) -> str:
        at = self._keys.position(key)
        if at < 0:
            raise KeyError(key)
        return self._values[at]

    def __contains__(self, key) -> bool:
        return self._keys.position(key) >= 0

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)
