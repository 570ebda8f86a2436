"""Governed ingestion: quality gates, classification and protection, timeliness, retention, reports."""
