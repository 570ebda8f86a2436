"""What an onboarding step raises: a leaf every step's module imports, importing none of them."""

from __future__ import annotations

from airflow_provider_chimera.errors import FixRequired


class StepError(FixRequired):
    """Raised inside a step with a reason meant for people: a failed onboarding waits for a person
    to fix the cause and retry the step (decision 0022), so it sits under :class:`FixRequired`.

    The workflow (:func:`~airflow_provider_chimera.onboarding.workflow.run_step`) audits it as
    ``onboarding.failed`` with this reason, tells the team and raises ``OnboardingFailed``; any
    other exception is reported with its type name in front.
    """
