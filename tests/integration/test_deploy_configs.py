"""Every configuration file the project ships is loaded and validated the way its tool would (issue 15.5).

Dagster parses the instance files (its own schema, then each configured class's schema), the workspace file
loads the real code location, systemd checks the unit files (`systemd-analyze verify`, paths rewritten to this
checkout), and the compose file and Dockerfile are checked for what they reference. No cluster, no
PostgreSQL, no Docker needed. docs/deploy.md may show only files that are shipped and checked here.
"""

from __future__ import annotations

import configparser
import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from dagster._config import process_config, resolve_to_config_type
from dagster._core.instance.config import dagster_instance_config
from dagster._serdes.config_class import ConfigurableClassData, class_from_code_pointer

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
INSTANCE_FILES = [ROOT / "dagster.yaml", DEPLOY / "dagster.yaml", DEPLOY / "k8s" / "dagster.yaml"]
PG_ENV = {"DAGSTER_PG_USERNAME": "u", "DAGSTER_PG_PASSWORD": "p", "DAGSTER_PG_HOST": "db.example",
          "DAGSTER_PG_DB": "dagster", "DAGSTER_PG_PORT": "5432", "DAGSTER_COMPUTE_LOG_DIR": "/tmp/logs"}
# classes whose package is not installed here (validated by the instance schema only): dagster-k8s
OPTIONAL_MODULES = {"dagster_k8s"}


def configured_classes(config: dict) -> list[tuple[str, str, dict]]:
    """(module, class, config) of every pluggable part of an instance file."""
    found = []
    for key in ("run_coordinator", "run_launcher", "compute_logs", "run_storage", "event_log_storage",
                "schedule_storage"):
        if key in config:
            found.append((config[key]["module"], config[key]["class"], config[key].get("config") or {}))
    if "postgres" in config.get("storage", {}):
        for name in ("PostgresRunStorage", "PostgresEventLogStorage", "PostgresScheduleStorage"):
            found.append(("dagster_postgres", name, config["storage"]["postgres"]))
    return found


@pytest.mark.parametrize("path", INSTANCE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_instance_files_pass_dagsters_schema_and_each_classs_schema(path, monkeypatch, tmp_path):
    for name, value in PG_ENV.items():
        monkeypatch.setenv(name, value)
    shutil.copy(path, tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))  # raises DagsterInvalidConfigError naming the problem
    assert config["run_coordinator"]["config"]["max_concurrent_runs"] == 1  # one warehouse writer everywhere
    assert config["run_monitoring"]["enabled"] is True
    for module, name, class_config in configured_classes(config):
        if module.split(".")[0] in OPTIONAL_MODULES and importlib.util.find_spec(module.split(".")[0]) is None:
            continue  # checked by the instance schema above (module/class/config shape) only
        pointer = ConfigurableClassData(module, name, "")  # maps dagster.core.* as the instance loader does
        klass = class_from_code_pointer(pointer.module_name, name)
        result = process_config(resolve_to_config_type(klass.config_type()), class_config)  # env vars resolved
        assert result.success, f"{path}: {module}.{name}: {[e.message for e in result.errors]}"


def test_the_production_instance_takes_credentials_only_from_the_environment():
    text = (DEPLOY / "dagster.yaml").read_text()
    postgres_db = yaml.safe_load(text)["storage"]["postgres"]["postgres_db"]
    secrets = {key: value for key, value in postgres_db.items() if key != "scheme"}
    assert all(set(value) == {"env"} for value in secrets.values()), postgres_db


def test_the_workspace_file_loads_the_code_location_with_its_job_schedule_and_sensor():
    done = subprocess.run([str(BIN / "dagster"), "definitions", "validate", "-w", str(DEPLOY / "workspace.yaml")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    location = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())["load_from"][0]["python_module"]
    assert location["location_name"] == "kleinstadt_readiness"  # the name the UI's URLs and tests use


def program_of(command: list[str]) -> str:
    """What a service's command runs: the daemon, or the webserver inside the Host/Origin guard (a plain
    ``dagster-webserver`` is neither: the UI would take cross-origin requests, review of 6 December 2026)."""
    if command[0] == "python" and command[1:3] == ["-m", "pipelines.ui_guard"] and command[3:4] != ["dev"]:
        return "guarded dagster-webserver"
    return command[0]


@pytest.mark.parametrize("unit", sorted((DEPLOY / "systemd").glob("*.service")), ids=lambda p: p.name)
def test_systemd_units_verify_and_start_dagster_with_the_deploy_files(unit, tmp_path):
    parser = configparser.ConfigParser(strict=True, interpolation=None)
    parser.optionxform = str
    parser.read(unit)
    service = parser["Service"]
    program, *args = service["ExecStart"].split()
    assert program_of([Path(program).name, *args]) in {"dagster-daemon", "guarded dagster-webserver"}
    assert (BIN / Path(program).name).exists()  # the venv provides it
    assert "deploy/workspace.yaml" in args and (ROOT / "deploy" / "workspace.yaml").is_file()
    assert service["KillSignal"] == "SIGINT"  # how Dagster expects to be stopped
    if program_of([Path(program).name, *args]) == "guarded dagster-webserver":
        assert args[args.index("-h") + 1] == "127.0.0.1"  # only behind a reverse proxy (docs/deploy.md)
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed")
    # systemd checks the unit with this checkout's paths (the shipped ones name /opt/..., /etc/...)
    env_file = tmp_path / "readiness.env"
    shutil.copy(DEPLOY / "readiness.env.example", env_file)
    text = (unit.read_text().replace("/opt/kleinstadt-readiness", str(ROOT))
            .replace("/etc/kleinstadt-readiness/readiness.env", str(env_file))
            .replace("User=readiness", "User=root").replace("Group=readiness", "Group=root"))
    copy = tmp_path / unit.name
    copy.write_text(text)
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(copy)], capture_output=True, text=True,
                          timeout=60)
    problems = [line for line in done.stderr.splitlines() if unit.name in line or "Unknown" in line]
    assert not problems, done.stderr


def test_compose_file_services_and_references():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "daemon", "webserver"}
    assert (DEPLOY / services["daemon"]["build"]["context"] / services["daemon"]["build"]["dockerfile"]).is_file()
    for name in ("daemon", "webserver"):
        command = services[name]["command"]
        assert "deploy/workspace.yaml" in command
        assert program_of([Path(command[0]).name, *command[1:]]) == {"daemon": "dagster-daemon",
                                                                     "webserver": "guarded dagster-webserver"}[name]
        assert services[name]["environment"]["DAGSTER_PG_HOST"] == "postgres"
    assert services["webserver"]["ports"] == ["127.0.0.1:3000:3000"]  # loopback unless a proxy is put in front
    # every variable the instance file reads is provided to the services
    env_example = dict(line.split("=", 1) for line in (DEPLOY / "readiness.env.example").read_text().splitlines()
                       if line and not line.startswith("#"))
    needed = set(re.findall(r"env: (\w+)", (DEPLOY / "dagster.yaml").read_text()))
    assert needed <= set(env_example), needed - set(env_example)


def test_dockerfile_installs_the_locked_deploy_extra_and_links_the_instance_file():
    text = (DEPLOY / "Dockerfile").read_text()
    assert "-c requirements.lock" in text and '".[deploy,lake]"' in text and "--no-deps" not in text
    # dagster-postgres comes with the deploy extra, at the release of the pinned dagster (no mismatch warning)
    deploy = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["deploy"]
    assert any(pin.startswith("dagster-postgres==") for pin in deploy)
    assert f"dagster=={metadata.version('dagster')}" in metadata.requires("dagster-postgres")
    assert "deploy/dagster.yaml" in text


def test_docs_show_only_shipped_and_checked_files():
    """Every configuration block in docs/deploy.md names its file in its first line and matches that file."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    blocks = re.findall(r"```(yaml|ini|dockerfile)\n(.*?)```", text, flags=re.S)
    assert blocks
    for language, body in blocks:
        first, _, rest = body.partition("\n")
        match = re.match(r"# (deploy/\S+|dagster\.yaml)", first)
        assert match, f"a {language} block in docs/deploy.md does not name its shipped file: {first!r}"
        shipped = ROOT / match.group(1)
        assert shipped.is_file(), f"docs/deploy.md shows {match.group(1)}, which is not shipped"
        assert shipped in INSTANCE_FILES or shipped.parent.name in {"systemd", "deploy"}
        assert rest.strip() in shipped.read_text(), f"docs/deploy.md's copy of {match.group(1)} is out of date"
