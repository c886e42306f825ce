"""Dagster: assets, checks, jobs and schedules built from endpoint specs."""
