"""The CPU-heavy part of indexing — extraction, chunking and local embedding — in a worker process.

A document, however built, must not stall calls: python-docx spent ~1 ms per paragraph of a 67 KB DOCX with
300,000 of them, on the event loop, for five minutes. So the heavy work runs in one worker process per service
process (``pebble``'s ProcessPool: a task past its time budget kills the worker, which is replaced), started on
first use at the lowest CPU priority (``nice 19``): while a call needs the CPU, the indexer waits. Limits on
paragraphs, characters and chunks, and time budgets, fail a document with an error a person can act on.

Vendors' embeddings (HTTP) are awaited in the service process as before; only local models (the offline e5)
embed in the worker, with the model loaded there once.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError as FutureCancelledError
from dataclasses import dataclass
from typing import Any, TypeVar

from voice_ai.rag.chunk import Chunk, chunk_text
from voice_ai.rag.extract import MAX_PARAGRAPHS, MAX_TEXT_CHARS, DocumentError, extract

T = TypeVar("T")
NICENESS = 19


@dataclass(frozen=True)
class IndexLimits:
    """What one document may cost. Defaults fit a 20 MiB upload of real prose on a small server."""

    max_chars: int = MAX_TEXT_CHARS
    max_paragraphs: int = MAX_PARAGRAPHS
    max_chunks: int = 5_000
    extract_timeout_s: float = 180.0  # extraction + chunking, in the worker
    timeout_s: float = 1_800.0  # the whole document, embedding included


def extract_and_chunk(data: bytes, name: str, mime: str | None, limits: IndexLimits) -> list[Chunk]:
    """Runs in the worker process."""
    extracted = extract(data, name, mime, max_chars=limits.max_chars, max_paragraphs=limits.max_paragraphs)
    chunks = chunk_text(extracted.text)
    if len(chunks) > limits.max_chunks:
        raise DocumentError(
            f"the document makes {len(chunks):,} passages, more than the {limits.max_chunks:,} a document may "
            "have; split it",
            413,
        )
    return chunks


def _lower_priority() -> None:
    with contextlib.suppress(OSError):
        os.nice(NICENESS)


class IndexWorker:
    """One lazily started worker process, shared by this process's indexing jobs (they queue for it)."""

    def __init__(self) -> None:
        self._pool: Any = None
        self._lock = threading.Lock()
        self._exit_hook = False  # close() registered with atexit (once, however often the pool is re-created)

    def _get(self) -> Any:
        import pebble

        with self._lock:
            if self._pool is None or not self._pool.active:
                # spawn: a clean interpreter, not a fork of a process with an event loop and threads
                self._pool = pebble.ProcessPool(
                    max_workers=1, initializer=_lower_priority, context=multiprocessing.get_context("spawn")
                )
                if not self._exit_hook:
                    atexit.register(self.close)
                    self._exit_hook = True
            return self._pool

    async def run(self, function: Callable[..., T], *args: Any, budget_s: float, what: str) -> T:
        """``function(*args)`` in the worker; past ``budget_s`` seconds (counted from when it starts) the worker
        is killed and the document fails with a DocumentError naming ``what`` took too long."""
        from pebble import ProcessExpired

        future = self._get().schedule(function, args=args, timeout=budget_s)
        try:
            result: T = await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()  # stops the worker's task (pebble restarts the worker)
            raise
        except TimeoutError:
            raise DocumentError(
                f"{what} took longer than {budget_s:g} s, the time a document may take; split or simplify it"
            ) from None
        except (ProcessExpired, FutureCancelledError) as exc:
            raise DocumentError(f"{what} stopped: the indexing worker process ended ({exc})") from None
        return result

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()
            pool.join(timeout=10)


WORKER = IndexWorker()
