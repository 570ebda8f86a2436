from airflow_provider_chimera.contract import normalise, pipeline_id


def test_pipeline_id_follows_the_contract():
    assert pipeline_id("sales_crm", "crm", "public.customers") == "sales_crm_crm_public_customers"


def test_every_character_outside_the_alphabet_becomes_underscore():
    assert normalise("Web-Clicks.EU/2026 v2") == "web_clicks_eu_2026_v2"
