"""Chimera's operators: thin wiring of source hooks, the Iceberg writer and checks."""
