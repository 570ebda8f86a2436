"""Priority-based, resource-aware recovery: which pipelines to rerun first within a CPU and memory budget.

Pure Python: nothing here imports Airflow. See docs/recovery.md.
"""
