"""Indicator and index logic: plain Python and SQL, no Dagster imports.

catalogue.yaml declares every indicator; compute.py derives indicator values from the
tidy observations; index.py normalises, aggregates and ranks.
"""
