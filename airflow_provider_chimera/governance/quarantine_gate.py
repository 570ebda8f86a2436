"""The quarantine threshold: a run that quarantines too much of what it read is not published.

An ingestion's ``quarantine_threshold`` (a fraction, 0 to 1, default 0) is the largest share of
the records read that may go to quarantine. Records read are the rows the source yielded plus
the records it rejected (for PDFs: pages plus rejected documents). Above the threshold the run
fails before the target's commit: the quarantine rows stay (they are committed first), the
target table is unchanged, and an incremental pipeline reads the same records again next time.
"""

from __future__ import annotations

from airflow_provider_chimera.errors import FixRequired


class QuarantineThresholdError(FixRequired, RuntimeError):
    """More of a run's records were quarantined than its ``quarantine_threshold`` allows;
    ``quarantined`` is how many (the run's record keeps it, as a successful run's does)."""

    quarantined: int | None = None


def check_quarantine_share(
    *, pipeline: str, quarantined: int, rows_read: int, threshold: float, quarantine_table: str
) -> None:
    """Raise :class:`QuarantineThresholdError` when ``quarantined`` of ``rows_read + quarantined``
    records is a larger share than ``threshold``; the message names share, threshold and table."""
    if not quarantined:
        return
    read = rows_read + quarantined
    share = quarantined / read
    if share <= threshold:
        return
    error = QuarantineThresholdError(
        f"pipeline {pipeline}: {quarantined} of {read} records read ({share:.1%}) went to quarantine "
        f"table {quarantine_table}, above the quarantine_threshold of {threshold:.1%}; the target is "
        "not committed (the quarantined records stay, with their reasons)"
    )
    error.quarantined = quarantined
    raise error
