"""Reading the source while the previous batches are written.

A source's reader (ADBC, ConnectorX, librdkafka, pyarrow's CSV reader) and the Parquet writer
spend most of their time in native code with the GIL released, so the two overlap well on
separate threads. :func:`read_ahead` runs the source's batch iterator on one thread and hands
its batches to the writer through a queue of ``depth`` batches: memory grows by at most that
many batches. The standard library has no bounded, exception-carrying iterator pipe, hence
this small one.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_END = object()


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


def read_ahead(items: Iterator[T], depth: int = 2, name: str = "chimera-read-ahead") -> Iterator[T]:
    """Yield ``items`` in order, produced on a thread of their own up to ``depth`` ahead.

    An error in the producer is raised here, at the point it was reached. If the consumer stops
    early (an error while writing, or closing this generator), the producer stops at its next
    batch and closes ``items`` on its own thread, so the source's cleanup still runs.
    """
    pipe: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                pipe.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    break
            else:
                put(_END)
        except BaseException as error:  # handed to the consumer, raised there
            put(_Failed(error))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = pipe.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()
