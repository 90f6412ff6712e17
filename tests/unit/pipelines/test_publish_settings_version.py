"""Settings the publish decides with are part of the publish assets' code version (pipelines/versions.py), so changing
one makes the publish stale instead of "nothing changed" (review of 5 December): the DuckLake settings, a different
allow-list (its content, wherever READINESS_ALLOWLIST points) and READINESS_ALLOW_SHRINK. Never in clear text."""

from __future__ import annotations

import pytest

from pipelines import versions

SETTINGS = ("READINESS_LAKE_CATALOG", "READINESS_LAKE_DATA_PATH", "READINESS_ALLOW_SHRINK", "READINESS_ALLOWLIST")


@pytest.fixture
def clean_env(monkeypatch):
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def publish_version() -> str:
    return versions.code_version("warehouse_candidate", "publish")


def staging_version() -> str:
    return versions.code_version("broadband_coverage", "staging")


@pytest.mark.parametrize("name, value", [("READINESS_LAKE_CATALOG", "postgres:dbname=lake host=db user=readiness"),
                                         ("READINESS_LAKE_DATA_PATH", "/srv/lake/data"),
                                         ("READINESS_ALLOW_SHRINK", "1")])
def test_a_publish_setting_changes_the_publish_code_version_only(clean_env, name, value):
    before, staging = publish_version(), staging_version()
    clean_env.setenv(name, value)
    assert publish_version() != before
    assert staging_version() == staging  # the parsers need not run again


def test_another_allowlist_file_counts_by_its_content(clean_env, tmp_path):
    before = publish_version()
    allowlist = tmp_path / "allowlist.yaml"
    allowlist.write_bytes((versions.PROJECT_ROOT / "allowlist.yaml").read_bytes())
    clean_env.setenv("READINESS_ALLOWLIST", str(allowlist))
    assert publish_version() == before  # the same content under another name: nothing to publish again
    allowlist.write_text(allowlist.read_text(encoding="utf-8") + "\n  - {source: inkar, release: '2022-12', "
                         "reason: test}\n", encoding="utf-8")
    assert publish_version() != before


def test_the_lake_catalog_never_shows_in_clear(clean_env):
    clean_env.setenv("READINESS_LAKE_CATALOG", "postgres:dbname=lake host=secret-host.example user=readiness")
    assert "secret-host" not in publish_version() and "secret-host" not in versions.settings_version()
