"""Airflow hooks of the connection types Chimera registers (shown in Airflow's connection form)."""
