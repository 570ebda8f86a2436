"""The DAG factory: pipelines in, Airflow DAGs out (what a pipeline is lives in ``pipelines``)."""

__all__ = ["build_dags", "build_maintenance_dags", "report_rejected_intents"]


def build_dags(intents_dir=None):
    """See :func:`airflow_provider_chimera.factory.dags.build_dags` (imported lazily: it loads Airflow)."""
    from airflow_provider_chimera.factory.dags import build_dags as _build

    return _build(intents_dir)


def report_rejected_intents(intents_dir=None):
    """See :func:`airflow_provider_chimera.factory.dags.report_rejected_intents`."""
    from airflow_provider_chimera.factory.dags import report_rejected_intents as _report

    _report(intents_dir)


def build_maintenance_dags():
    """See :func:`airflow_provider_chimera.factory.maintenance.build_maintenance_dags`."""
    from airflow_provider_chimera.factory.maintenance import build_maintenance_dags as _build

    return _build()
