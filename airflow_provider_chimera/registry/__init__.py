"""Chimera's own metadata store (the registry), its audit log, and the onboarded intent versions.

The registry lives in its own database (``[chimera] sql_alchemy_conn``), never in Airflow's
metadata tables. Import the submodules you need: :mod:`.db` (``open_registry``), :mod:`.audit`,
:mod:`.manifest` (the onboarded versions; read while Airflow parses DAG files, one query),
:mod:`.onboard` and :mod:`.sync`.
"""
