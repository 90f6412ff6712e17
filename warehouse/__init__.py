"""The DuckDB warehouse: a working database the pipeline writes, and a published one planners read.

By responsibility:

- ``warehouse.paths``: where the files live (published file, working files, exports, reports; env overrides)
- ``warehouse.workdb``: the working database: one shared file plus one file per staging asset, ``store``
- ``warehouse.publish``: the candidate warehouse built from the working files and swapped in
- ``warehouse.history``: versioned tables (every row a publish ever showed, with its validity)
- ``warehouse.validation``: the blocking checks on the candidate
- ``warehouse.registry`` / ``tables.yaml``: every table declared once (DDL, checks, data dictionary)
- ``warehouse.exports``, ``warehouse.lake``, ``warehouse.lock``, ``warehouse.sql``, ``warehouse.docs``
"""
