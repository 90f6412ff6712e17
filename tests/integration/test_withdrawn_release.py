"""A source's newest release that vanished from the source directory is not published unless the allow-list (or
READINESS_ALLOW_SHRINK) allows it; the last good warehouse stays published (review of 5 December: the newest
Breitbandatlas file gone moved latest_ranking back a period, and only publish_log.changes said 'withdrawn').

Only the publish steps run, over a copy of the session's publish whose working release records lost the newest
Breitbandatlas release: what the raw landing records when the release's files are gone from the folder."""

from __future__ import annotations

import json

import duckdb

from sources.contracts import ALLOWLIST_YAML
from sources.vintages import release_order
from tests.conftest import refresh_settings, run_job
from warehouse.paths import work_path_for

PUBLISH_STEPS = ["out/candidate", "out/warehouse"]


def failure_messages(result) -> str:
    return " ".join(e.event_specific_data.error.cause.message if e.event_specific_data.error.cause
                    else e.event_specific_data.error.message
                    for e in result.all_events if e.event_type_value == "STEP_FAILURE")


def test_a_vanished_newest_release_is_refused_and_an_allowlist_entry_publishes_it(published_copy, tmp_path,
                                                                                 monkeypatch):
    published = published_copy
    monkeypatch.delenv("READINESS_ALLOWLIST", raising=False)
    with duckdb.connect(str(work_path_for(published))) as con:
        vintages = [v for (v,) in con.execute(
            "SELECT DISTINCT vintage FROM releases WHERE source_id = 'breitbandatlas'").fetchall()]
        newest = max(vintages, key=release_order)
        con.execute("DELETE FROM releases WHERE source_id = 'breitbandatlas' AND vintage = ?", [newest])
    before = published.read_bytes()
    settings = refresh_settings(published.parent)

    refused = run_job(settings, raise_on_error=False, assets=PUBLISH_STEPS)
    assert not refused.success
    message = failure_messages(refused)
    assert f"[breitbandatlas] release {newest}, the newest published, is no longer in the source directory" in message
    assert published.read_bytes() == before  # the last good warehouse stays published

    allowlist = tmp_path / "allowlist.yaml"
    allowlist.write_text(ALLOWLIST_YAML.read_text(encoding="utf-8") + f"\n  - source: breitbandatlas\n"
                         f"    release: \"{newest}\"\n    measure: release_withdrawn\n"
                         f"    reason: \"withdrawn by the publisher (test)\"\n",
                         encoding="utf-8")
    monkeypatch.setenv("READINESS_ALLOWLIST", str(allowlist))
    assert run_job(settings, assets=PUBLISH_STEPS).success
    with duckdb.connect(str(published), read_only=True) as con:
        assert newest not in {v for (v,) in con.execute(
            "SELECT vintage FROM source_releases WHERE source_id = 'breitbandatlas'").fetchall()}
        changes = json.loads(con.execute("SELECT changes FROM publish_log ORDER BY published_at DESC LIMIT 1")
                             .fetchone()[0])
    assert newest in json.dumps(changes)
