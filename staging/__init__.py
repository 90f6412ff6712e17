"""Staging logic between the parsers and the indicators: plain pandas/SQL, no Dagster.

- ``staging.crosswalk``: brings every publisher's Gemeinde-keyed values onto today's territory
  (recodes, mergers, transfers; official change lists, registers and boundaries as evidence).
- ``staging.derived``: measures derived from a publisher's own counts (commuter shares).
- ``staging.coworking``: coworking places assigned to Gemeinden and counted within reach.
- ``staging.stack``: the parsers' frames stacked into one table per source.

Imports run one way: ``sources`` → ``staging`` → ``indicators`` → ``warehouse`` → ``reports`` →
``pipelines`` (tests/unit/test_import_layers.py).
"""
