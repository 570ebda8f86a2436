"""Sending what Chimera has to tell: emails through Airflow's SMTP provider, events through its Kafka provider.

Shared by the timeliness notices (:mod:`airflow_provider_chimera.governance.notices`), the failure
alerts (:mod:`airflow_provider_chimera.governance.alerts`; both build their CloudEvents with
:mod:`.cloudevents`) and the onboarding events and emails (:mod:`airflow_provider_chimera.onboarding`).
"""
