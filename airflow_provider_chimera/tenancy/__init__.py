"""Teams and what each may use: the platform-owned tenancy file, and the checks intents pass against it.

With ``[chimera] tenancy_file`` set, every intent belongs to a team the file declares; the intent
may only live under its team's ``intents_path`` and use the namespaces, projects, Airflow
connections, placeholder names and file locations the team owns (:mod:`.authorize`). Without a
tenancy file Chimera runs single-team: one implicit team that may use everything except what the
platform keeps for itself (:data:`.model.SINGLE_TEAM`).
"""

from airflow_provider_chimera.tenancy.model import (
    SINGLE_TEAM,
    Grant,
    TeamSpec,
    Tenancy,
    TenancyError,
    load_tenancy,
)

__all__ = ["SINGLE_TEAM", "Grant", "TeamSpec", "Tenancy", "TenancyError", "load_tenancy"]
