"""Chimera inside the Airflow UI: a plugin with a FastAPI app of server-rendered pages (docs/ui.md).

``plugin.py`` registers it with Airflow, ``app.py`` builds the app, ``security.py`` holds who may
see and do what, ``routes/`` has one router per page and ``views/`` the registry queries behind them.
"""
