"""What an onboarding step raises: a leaf every step's module imports, importing none of them."""

from __future__ import annotations

from airflow_provider_chimera.errors import ChimeraError


class StepError(ChimeraError):
    """Raised inside a step with a reason meant for people.

    The workflow (:func:`~airflow_provider_chimera.onboarding.workflow.run_step`) audits it as
    ``onboarding.failed`` with this reason, tells the team and raises ``OnboardingFailed``; any
    other exception is reported with its type name in front.
    """
