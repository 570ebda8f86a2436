"""Kafka topics in batch: JSON messages from the recorded offsets up to the end of each partition.

The connection comes from the Kafka provider's hook (``conn_id``; its extra is the client
configuration, ``{"bootstrap.servers": ...}``) or the intent's URI (``kafka://host:9092``, or
``kafka://user:${secret:NAME}@host:9092`` for SASL/PLAIN over TLS).
A run reads every partition from the offset the last Iceberg snapshot recorded (``incremental``)
or from the earliest retained offset (``full``) up to the partition's end as it was when the run
started, so a run always finishes and the next one starts exactly where this one stopped. Offsets
live in the snapshot, committed with the rows: a failed write leaves the offsets where they were.
Once the snapshot is committed, the same offsets are committed to the consumer group
``chimera-<pipeline id>`` so that lag monitoring sees the pipeline; the group's offsets are never
read back. After a crash between the two commits the snapshot's offsets win, and the next run
commits them to the group again.

Reading runs on three threads (decision 0070): the consumer on its own (:mod:`.kafkafetch`:
``consume(num_messages=…)`` calls, checked per call rather than per message), decoding on the
ingest run's read-ahead thread, a block of ``batch_rows`` messages at a time, and the Parquet write
on the run's thread. Message values are JSON objects (the default), joined into one JSON Lines
block and parsed with Arrow's JSON reader against the declared schema (a block is only made into
lines value by value when a value spans lines), or Avro records (``"format": "avro"``) decoded
with fastavro, the declared schema serving as the writer schema (see
:func:`~airflow_provider_chimera.contract.arrow.avro_schema`; a Confluent wire-format header is
skipped). A block is parsed in one go; only when that fails are the messages at fault looked for
(:mod:`.records`). A message that is not a JSON object or an
Avro record of the declared schema, holds a value of the wrong type or lacks a non-nullable field
goes to quarantine with the reason, its position ``<partition>/<offset>`` and its value (text, or
``base64:`` for bytes that are not UTF-8); the read goes on.
"""

from __future__ import annotations

import base64
import gc
import io
import json
import logging
from collections.abc import Iterator
from urllib.parse import unquote

import pyarrow as pa

from airflow_provider_chimera.contract.arrow import arrow_schema, avro_schema
from airflow_provider_chimera.contract.model import FullMode, SourceObject
from airflow_provider_chimera.sources.base import Extract, Position, Rejected, SourceReader, connect_timeout_s
from airflow_provider_chimera.sources.kafkafetch import Block, Fetch, MessageError  # noqa: F401 (MessageError: raised from here)
from airflow_provider_chimera.sources.records import JsonRecords, conform
from airflow_provider_chimera.sources.window import Window, WindowError

log = logging.getLogger(__name__)

class KafkaReader(SourceReader):
    """Reads topics of one Kafka cluster."""

    source_type = "kafka"

    def consumer(self, group: str | None = None):
        """A consumer that never commits offsets by itself (they live in the Iceberg snapshots);
        in the consumer group ``group`` when given, whatever the connection's configuration says."""
        from confluent_kafka import Consumer

        overrides = {"group.id": group} if group else {}
        defaults = {
            "group.id": f"chimera-{self.source.name}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
            # Bounded waits on a silent broker (the platform's connection may set its own).
            "socket.connection.setup.timeout.ms": connect_timeout_s() * 1000,
            "socket.timeout.ms": connect_timeout_s() * 1000,
            "session.timeout.ms": max(6_000, 2 * connect_timeout_s() * 1000),
        }
        connection = self.source.connection
        if connection.uri is not None:
            return Consumer({**defaults, **self.uri_config(), **overrides})
        from airflow.providers.apache.kafka.hooks.consume import KafkaConsumerHook

        class _Hook(KafkaConsumerHook):
            def _get_client(self, config):
                return super()._get_client({**defaults, **config, "enable.auto.commit": False, **overrides})

        return _Hook(topics=[], kafka_config_id=connection.conn_id).get_conn

    def uri_config(self) -> dict:
        """The client configuration a ``kafka://[user:${secret:NAME}@]host:9092[,host2:9092]`` URI gives:
        the brokers, and SASL/PLAIN over TLS when it has a user (the password never in the broker list)."""
        authority = self.resolved_uri().split("://", 1)[-1].strip("/").split("/", 1)[0]
        userinfo, at, servers = authority.rpartition("@")
        config: dict = {"bootstrap.servers": servers}
        if at:
            user, _, password = userinfo.partition(":")
            config.update({"security.protocol": "SASL_SSL", "sasl.mechanisms": "PLAIN",
                           "sasl.username": unquote(user), "sasl.password": unquote(password)})
        return config

    def extract(
        self, obj: SourceObject, since: Position | None, window: Window | None = None, limit: int | None = None
    ) -> KafkaExtract:
        """``limit``: read at most that many messages (a ``stream`` micro-batch), partitions in order."""
        if window is not None:
            raise WindowError(
                f"source {self.source.name!r}: topic {obj.name!r} cannot be read in 'partitioned' mode "
                "(a topic has no time window to re-read); use 'incremental' or 'stream'"
            )
        return KafkaExtract(self, obj, since, limit)

    @staticmethod
    def group_of(pipeline_id: str) -> str:
        """The consumer group whose offsets mirror ``pipeline_id``'s committed position."""
        return f"chimera-{pipeline_id}"

    def committed(self, obj: SourceObject, position: Position, pipeline_id: str) -> None:
        """Commit the snapshot's offsets (the next offset to read, per partition) to the
        pipeline's consumer group, synchronously."""
        from confluent_kafka import TopicPartition

        if not position.offsets:
            return
        consumer = self.consumer(group=self.group_of(pipeline_id))
        try:
            consumer.commit(
                offsets=[TopicPartition(obj.name, int(p), offset) for p, offset in sorted(position.offsets.items())],
                asynchronous=False,
            )
        finally:
            consumer.close()

    def adopted_position(self, obj: SourceObject, value: object) -> Position:
        """``{"<partition>": <next offset to read>, ...}``: messages before those offsets count as
        already ingested; partitions not named are read from their earliest retained offset."""
        problem = f"adopt_from: expected {{\"<partition>\": <next offset to read>, ...}} for topic {obj.name!r}, got {value!r}"
        if not isinstance(value, dict) or not value:
            raise ValueError(problem)
        try:
            offsets = {str(int(p)): int(o) for p, o in value.items() if not isinstance(o, bool)}
        except (TypeError, ValueError):
            raise ValueError(problem) from None
        if len(offsets) != len(value) or any(o < 0 for o in offsets.values()):
            raise ValueError(problem)
        return Position(offsets=offsets)

    def probe(self) -> str:
        consumer = self.consumer()
        try:
            brokers = consumer.list_topics(timeout=10).brokers
        finally:
            consumer.close()
        return f"connected to {len(brokers)} broker(s)"

    def _topics(self) -> dict:
        """The cluster's topic metadata, by name (one metadata request; never creates a topic)."""
        consumer = self.consumer()
        try:
            return consumer.list_topics(timeout=10).topics
        finally:
            consumer.close()

    def check_objects(self, objects: list[SourceObject]) -> dict[str, list[str]]:
        """Each topic must exist with at least one partition; message fields are not looked at."""
        topics = self._topics()
        problems: dict[str, list[str]] = {}
        for obj in objects:
            metadata = topics.get(obj.name)
            if metadata is None:
                problems[obj.name] = [f"topic {obj.name!r} does not exist"]
            elif metadata.error is not None:
                problems[obj.name] = [f"topic {obj.name!r} cannot be read ({metadata.error})"]
            elif not metadata.partitions:
                problems[obj.name] = [f"topic {obj.name!r} has no partitions"]
            else:
                problems[obj.name] = []
        return problems

    def check_object(self, obj: SourceObject) -> list[str]:
        return self.check_objects([obj])[obj.name]

    def list_objects(self) -> list[str]:
        """Topics, without Kafka's internal ones (``__consumer_offsets``...)."""
        return sorted(name for name in self._topics() if not name.startswith("__"))


class KafkaExtract(Extract):
    def __init__(self, hook: KafkaReader, obj: SourceObject, since: Position | None, limit: int | None = None):
        assert obj.schema_ is not None  # the contract requires one for kafka objects
        self.hook = hook
        self.obj = obj
        self.topic = obj.name
        self.schema = arrow_schema(obj.schema_, obj.columns)
        self._full_schema = arrow_schema(obj.schema_)
        self._avro = None  # parsed Avro schema, for "format": "avro"
        self._records = JsonRecords(obj.schema_, obj.columns)
        self.rejected: list[Rejected] = []
        full = obj.ingestion is not None and isinstance(obj.ingestion.mode, FullMode)
        recorded = {} if full or since is None else {int(p): o for p, o in since.offsets.items()}
        self.ranges = self._plan(recorded)
        if limit is not None:
            self.ranges = _capped(self.ranges, limit)
        self._offsets = {str(p): end for p, (_, end) in self.ranges.items()}
        self._offsets.update({str(p): o for p, o in recorded.items() if p not in self.ranges})
        self.tombstones = 0
        self.exact_calls = 0  # consume calls looked at message by message (kafkafetch)

    def _plan(self, recorded: dict[int, int]) -> dict[int, tuple[int, int]]:
        """``partition -> (first offset to read, end offset)`` as of now."""
        from confluent_kafka import TopicPartition

        consumer = self.hook.consumer()
        try:
            metadata = consumer.list_topics(self.topic, timeout=10).topics.get(self.topic)
            if metadata is None or metadata.error is not None or not metadata.partitions:
                reason = metadata.error if metadata is not None and metadata.error is not None else "no partitions"
                raise LookupError(f"topic {self.topic!r}: cannot be read ({reason})")
            ranges = {}
            for partition in sorted(metadata.partitions):
                low, high = consumer.get_watermark_offsets(TopicPartition(self.topic, partition), timeout=10)
                start = recorded.get(partition, low)
                if start < low:
                    log.warning(
                        "topic %s partition %d: offsets %d..%d expired before they were read",
                        self.topic, partition, start, low - 1,
                    )
                    start = low
                ranges[partition] = (start, high)
            return ranges
        finally:
            consumer.close()

    def batches(self) -> Iterator[pa.RecordBatch]:
        todo = {p: (start, end) for p, (start, end) in self.ranges.items() if start < end}
        if not todo:
            return
        # Consuming allocates a Python object per message, and the collections those allocations
        # trigger would walk every long-lived object of the run (modules, catalog, registry) each
        # time: about 1 s of CPU per million messages. Those objects leave the collector's sight
        # while the topic is read, and come back to it after (a stream's process reads again and again).
        gc.freeze()
        # The consumer runs on a thread of its own (kafkafetch); this thread decodes its blocks.
        fetch = Fetch(self.hook.consumer(), self.topic, todo, self.hook.batch_rows)
        try:
            for block in fetch:
                yield from self._batch(block)
        finally:
            gc.unfreeze()
            self.tombstones, self.exact_calls = fetch.tombstones, fetch.exact_calls

    def _batch(self, block: Block) -> Iterator[pa.RecordBatch]:
        """The block's messages that fit the declared schema as (at most) one batch; the others rejected."""
        values = block.values
        if self.obj.format == "avro":
            table, reasons = self._avro_table(values)
        else:
            table, reasons = self._json_table(values)
        for index, reason in reasons.items():
            self.rejected.append(Rejected(reason=reason, position=block.position(index), raw=_raw(values[index])))
        if table.num_rows:
            yield table.combine_chunks().to_batches()[0]

    def _json_table(self, values: list[bytes]) -> tuple[pa.Table, dict[int, str]]:
        """JSON values as one JSON Lines block, joined and checked at C speed: only a block where
        a value spans lines (or holds a carriage return) is made into lines value by value."""
        joined = b"\n".join(values)
        if joined.count(b"\n") == len(values) - 1 and b"\r" not in joined:
            return self._records.read(values, joined=joined)
        return self._records.read([_one_line(v) for v in values])

    def _avro_table(self, values: list[bytes]) -> tuple[pa.Table, dict[int, str]]:
        """Avro values, decoded with the declared schema as the writer schema (a Confluent
        wire-format header, magic byte 0 and a 4-byte schema id, is skipped)."""
        import fastavro

        assert self.obj.schema_ is not None
        if self._avro is None:
            self._avro = fastavro.parse_schema(avro_schema(self.obj.schema_, self.topic))
        rows, decoded, reasons = [], [], {}
        for index, value in enumerate(values):
            payload = value[5:] if len(value) > 5 and value[0] == 0 else value
            try:
                rows.append(fastavro.schemaless_reader(io.BytesIO(payload), self._avro, None))
                decoded.append(index)
            except Exception as exc:  # fastavro raises several types for malformed input
                reasons[index] = f"not an Avro record of the declared schema ({type(exc).__name__})"
        nullable = pa.schema([f.with_nullable(True) for f in self._full_schema])
        table, unfit = conform(pa.Table.from_pylist(rows, schema=nullable), self.schema, self._records.labels)
        reasons.update({decoded[index]: reason for index, reason in unfit.items()})
        return table, dict(sorted(reasons.items()))

    def position(self) -> Position:
        return Position(offsets=self._offsets)


def _one_line(value: bytes | None) -> bytes:
    """A message value as one line of JSON Lines."""
    if not value:
        return b""  # not an object: rejected with its offset
    if b"\n" in value or b"\r" in value:
        try:
            return json.dumps(json.loads(value)).encode()
        except ValueError:
            return value.replace(b"\n", b" ").replace(b"\r", b" ")
    return value


def _raw(value: bytes) -> str:
    """A message value as text for the quarantine table (``base64:`` when it is not UTF-8)."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(value).decode("ascii")


def _capped(ranges: dict[int, tuple[int, int]], limit: int) -> dict[int, tuple[int, int]]:
    """The ranges cut to at most ``limit`` messages in all, shared evenly between the partitions
    with a backlog (so no partition waits for another to be drained)."""
    taken = {p: 0 for p in ranges}
    while limit > 0:
        open_ = [p for p, (start, end) in sorted(ranges.items()) if start + taken[p] < end]
        if not open_:
            break
        share = max(limit // len(open_), 1)
        for p in open_:
            start, end = ranges[p]
            take = min(share, end - start - taken[p], limit)
            taken[p] += take
            limit -= take
            if limit == 0:
                break
    return {p: (start, start + taken[p]) for p, (start, end) in ranges.items()}
