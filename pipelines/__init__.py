"""Dagster code location: wires sources/, indicators/ and warehouse/ into assets, checks, jobs, schedules."""
