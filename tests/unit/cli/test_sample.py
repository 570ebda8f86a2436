"""`chimera sample`'s draw: uniform, repeatable with a seed, never more than the sample plus one batch held."""

from __future__ import annotations

import pyarrow as pa

from airflow_provider_chimera.cli.sample import reservoir


def _batches(total: int, size: int):
    for start in range(0, total, size):
        yield pa.RecordBatch.from_pydict({"id": list(range(start, min(start + size, total)))})


def test_the_draw_holds_n_distinct_rows_of_the_input_and_repeats_with_its_seed():
    first = reservoir(_batches(10_000, 1000), 50, seed=3)
    assert first.num_rows == 50 and len(set(first.column("id").to_pylist())) == 50
    assert set(first.column("id").to_pylist()) <= set(range(10_000))
    assert reservoir(_batches(10_000, 1000), 50, seed=3).equals(first)
    assert not reservoir(_batches(10_000, 1000), 50, seed=4).equals(first)


def test_fewer_rows_than_asked_are_all_shown_and_nothing_gives_nothing():
    assert sorted(reservoir(_batches(7, 3), 50, seed=1).column("id").to_pylist()) == list(range(7))
    assert reservoir(iter([]), 5) is None


def test_every_part_of_the_table_can_be_drawn():
    # Rows from the first and the last batch alike: a draw over all batches, not the head of the table.
    seen = set()
    for seed in range(20):
        seen.update(i // 1000 for i in reservoir(_batches(10_000, 1000), 20, seed=seed).column("id").to_pylist())
    assert seen == set(range(10))
