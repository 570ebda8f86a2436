"""Consuming a topic's planned offset ranges on a thread of its own, in blocks of message values.

:class:`Fetch` runs the consumer on its own thread: it calls ``consume(num_messages=…)``, keeps
the values of the messages that carry a record, with their partitions and offsets, and hands them
on in blocks of up to ``block_rows`` messages through a queue of ``depth`` blocks (memory stays
flat; no message object outlives its call, see :class:`Block`). The caller decodes one block while the
next is being consumed; librdkafka's fetches and Arrow's JSON reader both release the GIL.

What a run must hold exactly, it holds for every consume call rather than for every message, at
C speed on the happy path:

* **errors**: ``any(map(Message.error, messages))``; one raises :class:`MessageError`;
* **the planned end**: the consumer's position after the call, per partition, says whether a
  partition reached its end offset (it is unassigned) or passed it (messages that arrived after
  the run started, left to the next run);
* **nothing skipped, nothing foreign**: the positions advanced by exactly as many messages as
  the call returned (no compaction gap, no transaction marker), and every message is of a
  partition still being read;
* **tombstones**: ``None in values``.

Only a call where one of these does not hold is looked at message by message (:meth:`Fetch._exact`),
with the same outcome: a run reads each partition from its first offset up to, not including,
the end planned when it started, counts tombstones, and skips nothing else.
"""

from __future__ import annotations

import logging
import queue
import threading
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

log = logging.getLogger(__name__)
_POLL_SECONDS = 1.0
_MAX_IDLE_SECONDS = 60.0
_CALL_ROWS = 10_000  # messages per consume() call: one librdkafka batch, as the bare consume loop reads


class MessageError(ValueError):
    """The topic cannot be read (a consumer error, or partitions that never reach their end offsets)."""


@dataclass
class Block:
    """The values of messages with a record, in consumption order, and each one's partition and
    offset. No message object outlives its consume call: a block holds bytes and two arrays of
    numbers, which Python's cyclic garbage collector never scans (held messages made every
    collection walk hundreds of thousands of objects)."""

    values: list[bytes]
    partitions: array
    offsets: array

    def position(self, index: int) -> str:
        """``<partition>/<offset>`` of value ``index``."""
        return f"{self.partitions[index]}/{self.offsets[index]}"


def _empty() -> Block:
    return Block([], array("i"), array("q"))


class _End:
    pass


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


class Fetch:
    """The messages of ``todo`` (``partition -> (first offset, end offset)``, every range non-empty)
    read by ``consumer`` on a thread of its own, as :class:`Block` s of at most ``block_rows``.

    The thread owns the consumer from :meth:`__iter__` on and closes it when it stops: at the end,
    on an error (raised in the iterating thread), or when the iteration is closed early.
    """

    def __init__(self, consumer, topic: str, todo: dict[int, tuple[int, int]], block_rows: int, depth: int = 2):
        self.consumer = consumer
        self.topic = topic
        self.todo = dict(todo)
        self.block_rows = max(1, block_rows)
        self.tombstones = 0
        self.exact_calls = 0  # consume calls looked at message by message (tests, logs)
        self._position = {p: start for p, (start, _) in todo.items()}
        self._pipe: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()

    def __iter__(self) -> Iterator[Block]:
        thread = threading.Thread(target=self._run, name="chimera-kafka-consume", daemon=True)
        thread.start()
        try:
            while True:
                item = self._pipe.get()
                if isinstance(item, _End):
                    return
                if isinstance(item, _Failed):
                    raise item.error
                yield item
        finally:
            self._stop.set()
            thread.join()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._pipe.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            self._consume()
        except BaseException as error:  # raised in the iterating thread
            self._put(_Failed(error))
        finally:
            self.consumer.close()

    def _consume(self) -> None:
        from confluent_kafka import TopicPartition

        consumer, todo = self.consumer, self.todo
        consumer.assign([TopicPartition(self.topic, p, start) for p, (start, _) in todo.items()])
        block = _empty()
        idle = 0.0
        while todo and not self._stop.is_set():
            # Never more than the planned ranges still hold: consume() waits for as many messages as
            # it is asked for (or its timeout), so asking for more made every run's last call wait 1 s.
            left = sum(end - self._position[p] for p, (_, end) in todo.items())
            want = min(_CALL_ROWS, self.block_rows - len(block.values), left)
            messages = consumer.consume(num_messages=want, timeout=_POLL_SECONDS)
            if not messages:
                # Compaction and transaction markers leave gaps: a partition is done once the
                # consumer's position reaches the end recorded at planning time.
                self._advance()
                idle += _POLL_SECONDS
                if todo and idle >= _MAX_IDLE_SECONDS:
                    raise MessageError(
                        f"topic {self.topic!r}: no message for {_MAX_IDLE_SECONDS:.0f} s while partitions "
                        f"{sorted(todo)} have not reached their end offsets"
                    )
                continue
            idle = 0.0
            values, partitions, offsets = self._take(messages)
            del messages  # before the next call: no message object lives on
            block.values += values
            block.partitions += partitions
            block.offsets += offsets
            if len(block.values) >= self.block_rows:
                if not self._put(block):
                    return
                block = _empty()
        if block.values and not self._put(block):
            return
        self._put(_End())

    def _take(self, messages: list) -> tuple[list[bytes], array, array]:
        """The values, partitions and offsets of the messages of one consume call that carry a
        record of this run."""
        from confluent_kafka import Message

        if any(map(Message.error, messages)):
            raise next(self._error(m) for m in messages if m.error() is not None)
        ends = {p: end for p, (_, end) in self.todo.items()}  # before this call's positions drop any
        values = list(map(Message.value, messages))
        partitions = array("i", map(Message.partition, messages))
        advanced, past = self._advance()
        if past or advanced != len(messages) or None in values or not ends.keys() >= set(partitions):
            return self._exact(messages, values, ends)
        return values, partitions, array("q", map(Message.offset, messages))

    def _error(self, message) -> MessageError:
        return MessageError(f"topic {self.topic!r} partition {message.partition()}: {message.error()}")

    def _advance(self) -> tuple[int, bool]:
        """Read the consumer's positions: ``(messages the positions moved by, whether a partition
        passed its end)``. Partitions that reached their end are unassigned and leave ``todo``."""
        from confluent_kafka import TopicPartition

        advanced, past = 0, False
        for part in self.consumer.position([TopicPartition(self.topic, p) for p in self.todo]):
            p, end = part.partition, self.todo[part.partition][1]
            offset = part.offset if part.offset >= 0 else self._position[p]  # nothing consumed yet
            advanced += offset - self._position[p]
            self._position[p] = offset
            past = past or offset > end
            if offset >= end:
                del self.todo[p]
                self.consumer.incremental_unassign([TopicPartition(self.topic, p)])
        return advanced, past

    def _exact(self, messages: list, values: list, ends: dict[int, int]) -> tuple[list[bytes], array, array]:
        """One consume call message by message: a message past its partition's planned end (or of
        a partition already done) is left to the next run; a tombstone is counted."""
        self.exact_calls += 1
        kept, partitions, offsets = [], array("i"), array("q")
        for message, value in zip(messages, values):
            partition, offset = message.partition(), message.offset()
            if partition not in ends or offset >= ends[partition]:
                continue  # arrived after this run started: the next run reads it
            if value is None:
                self.tombstones += 1  # a deletion marker carries no record to ingest
                continue
            kept.append(value)
            partitions.append(partition)
            offsets.append(offset)
        return kept, partitions, offsets
