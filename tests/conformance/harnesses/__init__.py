"""Source harnesses of the conformance suite: one module per source type, each defining its
:class:`~tests.conformance.harness.SourceHarness` subclasses (found by
:func:`~tests.conformance.harness.registered_harnesses`)."""
