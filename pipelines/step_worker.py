"""Preloaded by the multiprocess executor's forkserver (pipelines/definitions.py): import the code location and
load its repository once, so that each step process, forked from the server, starts with both in memory
instead of importing the pipeline again (seconds per step on a 2-core machine)."""

from pipelines.launch import refresh_job

refresh_job().get_definition()
