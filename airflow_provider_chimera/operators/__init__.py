"""Chimera's operators: thin wiring of source readers, the Iceberg writer and checks."""
