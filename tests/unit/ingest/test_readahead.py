"""Reading ahead of the writer: order, errors, early stops and the bound on what is held."""

from __future__ import annotations

import threading
import time

import pytest

from airflow_provider_chimera.ingest.readahead import read_ahead


def test_items_arrive_in_order_and_all_of_them():
    assert list(read_ahead(iter(range(1000)), depth=3)) == list(range(1000))


def test_a_source_error_is_raised_to_the_consumer_after_the_items_before_it():
    def source():
        yield 1
        yield 2
        raise LookupError("orders: offset 7 is not valid JSON")

    seen = []
    with pytest.raises(LookupError, match="offset 7"):
        for item in read_ahead(source()):
            seen.append(item)
    assert seen == [1, 2]


def test_stopping_early_closes_the_source_on_its_own_thread():
    closed = threading.Event()

    def source():
        try:
            for i in range(10_000):
                yield i
        finally:
            closed.set()

    reader = read_ahead(source(), depth=2)
    assert next(reader) == 0
    reader.close()
    assert closed.is_set()


def test_the_producer_holds_at_most_depth_items_ahead():
    produced = []

    def source():
        for i in range(100):
            produced.append(i)
            yield i

    reader = read_ahead(source(), depth=2)
    assert next(reader) == 0
    time.sleep(0.3)  # time for the producer to run as far ahead as it may
    # one handed over, two queued, one more waiting to be queued
    assert len(produced) <= 4
    assert list(reader) == list(range(1, 100))
