"""The pages of one fan-out item, held until its walk ends, in bounded memory.

A fan-out item is loaded whole or not at all (an error on a later page must not leave a
partial item that looks complete), so its pages wait until the last one has arrived. Most
items are a page or two, but one course can be the whole site: the demo site at 100x has a
course of 22,600 students, 227 pages of enrolled users, ~67 MB of parsed JSON held at once
(measured with tracemalloc). Past ``in_memory`` pages, the rest go to a temporary file
(pickled: exact for every JSON value, big integers included, and fast to read back), so a
run's memory no longer grows with the largest course.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator
from typing import IO, Any

IN_MEMORY_PAGES = 20

Page = tuple[list[dict], list[Any]]  # (records, metadata)


class HeldPages:
    """An item's pages in arrival order: the first ``in_memory`` in RAM, the rest on disk."""

    def __init__(self, in_memory: int | None = None) -> None:
        self._in_memory = IN_MEMORY_PAGES if in_memory is None else in_memory
        self._pages: list[Page] = []
        self._spill: IO[bytes] | None = None
        self._spilled = 0

    def append(self, records: list[dict], metadata: list[Any]) -> None:
        if len(self._pages) < self._in_memory:
            self._pages.append((records, metadata))
            return
        if self._spill is None:
            self._spill = tempfile.TemporaryFile(prefix="moodle-held-")
        pickle.dump((records, metadata), self._spill, protocol=pickle.HIGHEST_PROTOCOL)
        self._spilled += 1

    def __len__(self) -> int:
        return len(self._pages) + self._spilled

    def __iter__(self) -> Iterator[Page]:
        yield from self._pages
        if self._spill is not None:
            self._spill.seek(0)
            for _ in range(self._spilled):
                yield pickle.load(self._spill)

    def close(self) -> None:
        """Drop the pages and delete the file. Safe to call twice."""
        self._pages = []
        if self._spill is not None:
            self._spill.close()
            self._spill = None
        self._spilled = 0
