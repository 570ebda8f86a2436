"""The DAG factory: intents in, Airflow DAGs out."""

from airflow_provider_chimera.factory.pipelines import Catalogue, Pipeline, discover, pipelines_of

__all__ = ["Catalogue", "Pipeline", "build_dags", "discover", "pipelines_of"]


def build_dags(intents_dir=None):
    """See :func:`airflow_provider_chimera.factory.dags.build_dags` (imported lazily: it loads Airflow)."""
    from airflow_provider_chimera.factory.dags import build_dags as _build

    return _build(intents_dir)
