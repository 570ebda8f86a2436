"""Onboarding an intent: checks that run against the real sources before any pipeline exists."""
