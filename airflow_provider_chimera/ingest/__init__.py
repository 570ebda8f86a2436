"""The ingest run, free of Airflow: called with plain arguments by the ingest task, tests and the benchmark.

* :mod:`.run`: :func:`~.run.run` (one pipeline run: :func:`~.run.ingest` or :func:`~.run.stream`),
  returning an :class:`~.result.IngestResult`.
* :mod:`.modes`: the modes a run refuses; :mod:`.target`: the writer of the pipeline's table.
* :mod:`.resume`: where an ``incremental`` run starts; :mod:`.readahead`: reading while writing.
* :mod:`.windows`: which window a ``partitioned`` run loads, from what its Airflow run holds;
  :mod:`.runconf`: the DAG run conf a run accepts (``window``, ``adopt_from``, ``adopt_table``).
* :mod:`.runstats`: what a run measures and its record in the registry; :mod:`.limits`: the
  task's execution timeout and memory cap.

Nothing in this package imports Airflow (a test checks it).
"""
