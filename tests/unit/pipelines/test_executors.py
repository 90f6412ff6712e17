"""pipelines/executors.py: the refresh's executor by source mode, READINESS_EXECUTOR over it, and its run config."""

from __future__ import annotations

import pytest

from pipelines.executors import FORKSERVER, executor_choice, executor_config


@pytest.fixture
def no_executor_settings(monkeypatch):
    for name in ("READINESS_EXECUTOR", "READINESS_SOURCE_MODE", "READINESS_MAX_CONCURRENT"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_germany_wide_modes_run_steps_in_processes_and_the_snapshot_in_one(no_executor_settings):
    assert executor_choice() == "in_process"  # READINESS_SOURCE_MODE unset: the snapshot
    assert [executor_choice(mode) for mode in ("snapshot", "directory", "live")] == \
        ["in_process", "multiprocess", "multiprocess"]
    no_executor_settings.setenv("READINESS_SOURCE_MODE", "directory")  # what the code location's settings read
    assert executor_choice() == "multiprocess"
    assert executor_choice("snapshot") == "in_process"  # a run's own mode decides over the environment's


def test_readiness_executor_overrides_the_mode_and_a_wrong_value_names_the_variable(no_executor_settings):
    no_executor_settings.setenv("READINESS_EXECUTOR", "in_process")
    assert executor_choice("directory") == "in_process"
    no_executor_settings.setenv("READINESS_EXECUTOR", "multiprocess")
    assert executor_choice("snapshot") == "multiprocess"
    no_executor_settings.setenv("READINESS_EXECUTOR", "threads")
    with pytest.raises(ValueError, match=r"READINESS_EXECUTOR='threads' must be one of"):
        executor_choice("directory")


def test_the_run_config_of_each_executor(no_executor_settings):
    assert executor_config("in_process") == {"in_process": {}}
    assert executor_config("multiprocess") == {"multiprocess": {"max_concurrent": 2, "start_method": FORKSERVER}}
    no_executor_settings.setenv("READINESS_MAX_CONCURRENT", "3")
    assert executor_config("multiprocess")["multiprocess"]["max_concurrent"] == 3
    assert executor_config("multiprocess", max_concurrent=1)["multiprocess"]["max_concurrent"] == 1
    no_executor_settings.setenv("READINESS_SOURCE_MODE", "live")
    assert "multiprocess" in executor_config()  # no choice given: executor_choice's
    with pytest.raises(ValueError, match="must be one of"):
        executor_config("threads")
