"""Validation of a candidate warehouse before it replaces the published one.

Each check returns a ``Finding``: whether it passed, the problems (named so an analyst can act),
and figures for the Dagster UI. The blocking asset checks in pipelines/checks.py run them on
the candidate; the swap runs them again, so nothing unchecked is ever published. The findings are
computed once per candidate and recorded beside it (``validate_candidate``): the other checks and the
swap reuse them only while the candidate and the published file are exactly the files they were made for.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from sources.vintages import release_order
from warehouse.registry import registry

# current rows of these views/tables must be unique per key: the primary keys of warehouse/tables.yaml
KEYS = registry().published_keys()
WITHDRAWN = "release_withdrawn"  # what an allow-list entry's ``measure`` must match to allow a vanished release
MAX_SHRINK = 0.10  # a table losing more than 10 % of its rows against the last publish blocks the publish


def pillar_score_columns() -> list[str]:
    """The index score and every pillar of indicators/catalogue.yaml (generated, never a hand-kept list)."""
    from indicators.catalogue import load_catalogue

    return ["score", *load_catalogue().pillars]


PILLAR_SCORE_COLUMNS = pillar_score_columns()
SCORE_COLUMNS = [*PILLAR_SCORE_COLUMNS, "score_p05", "score_median", "score_p95"]


@dataclass
class Finding:
    passed: bool
    problems: list[str] = field(default_factory=list)
    figures: dict = field(default_factory=dict)


def no_duplicate_keys(con: duckdb.DuckDBPyConnection) -> Finding:
    """No two current rows share a key."""
    duplicates = {}
    for table, key in KEYS.items():
        columns = ", ".join(key)
        duplicates[table] = con.execute(
            f"SELECT count(*) FROM (SELECT {columns} FROM {table} GROUP BY ALL HAVING count(*) > 1)").fetchone()[0]
    problems = [f"{table}: {n} keys ({', '.join(KEYS[table])}) occur more than once"
                for table, n in duplicates.items() if n]
    return Finding(not problems, problems, duplicates)


def towns_complete(con: duckdb.DuckDBPyConnection, pilot_towns: list[str]) -> Finding:
    """Every town of the reference group has an index row in every period; the pilot towns a score."""
    missing = con.execute("""
        WITH periods AS (SELECT DISTINCT period FROM readiness_index
                         WHERE method_version = (SELECT method_version FROM current_method)),
             towns AS (SELECT ags FROM municipalities WHERE in_reference_group)
        SELECT t.ags, p.period FROM towns t CROSS JOIN periods p
        ANTI JOIN (SELECT * FROM readiness_index WHERE method_version = (SELECT method_version FROM current_method)) r
          ON r.ags = t.ags AND r.period = p.period
        ORDER BY ALL
    """).fetchall()
    scored = {row[0] for row in con.execute("""
        SELECT ags FROM latest_ranking WHERE score IS NOT NULL""").fetchall()}
    unscored = sorted(set(pilot_towns) - scored)
    problems = ([f"{len(missing)} (town, period) pairs of the reference group have no index row, e.g. {missing[:5]}"]
                if missing else [])
    problems += [f"pilot towns without a score in the latest period: {unscored}"] if unscored else []
    towns = con.execute("SELECT count(*) FROM municipalities WHERE in_reference_group").fetchone()[0]
    return Finding(not problems, problems, {"reference_towns": towns, "missing_rows": len(missing),
                                            "pilots_unscored": len(unscored)})


def values_in_range(con: duckdb.DuckDBPyConnection) -> Finding:
    """Scores within 0-100, ranks within 1..compared towns, bands ordered (p05 <= median <= p95);
    counts percent indicator values outside 0-101 without blocking."""
    out_of_range = " OR ".join(f"NOT coalesce({c} BETWEEN 0 AND 100, TRUE)" for c in SCORE_COLUMNS)
    counts = con.execute(f"""
        SELECT count(*) FILTER ({out_of_range}),
               count(*) FILTER (NOT coalesce(rank BETWEEN 1 AND compared_towns, TRUE)),
               count(*) FILTER (NOT coalesce(rank_p05 <= rank_median AND rank_median <= rank_p95, TRUE)),
               count(*) FILTER (NOT coalesce(score_p05 <= score_median AND score_median <= score_p95, TRUE))
        FROM readiness_index
    """).fetchone()
    percent = con.execute("""SELECT count(*) FROM indicator_values
                             WHERE unit LIKE '\\% of %' ESCAPE '\\' AND NOT value BETWEEN 0 AND 101""").fetchone()[0]
    names = ["scores outside 0-100", "ranks outside 1..compared_towns", "rank bands out of order",
             "score bands out of order"]
    figures = dict(zip(names, counts))
    problems = [f"readiness_index: {n} {name}" for name, n in figures.items() if n]
    # publisher figures above 100 % exist (e.g. INKAR long-distance commuters 110 % in one Gemeinde): the
    # goalposts cap them in the index, so they are reported here but do not block
    figures["percent indicator values outside 0-101 (publisher figures, not blocking)"] = percent
    return Finding(not problems, problems, figures)


def row_counts_not_collapsing(candidate: dict[str, int], previous: dict[str, int], allow_shrink: bool) -> Finding:
    """No table or view lost more than MAX_SHRINK of its rows against the last publish."""
    shrunk = {name: (previous[name], n) for name, n in candidate.items()
              if previous.get(name) and n < (1 - MAX_SHRINK) * previous[name]}
    problems = [f"{name}: {new} rows, was {old} at the last publish" for name, (old, new) in shrunk.items()]
    if problems and allow_shrink:
        return Finding(True, [], {"shrunk (allowed by READINESS_ALLOW_SHRINK)": len(shrunk)})
    figures = {"compared": len(set(candidate) & set(previous)), "shrunk": len(shrunk),
               "previous_publish": bool(previous)}
    return Finding(not problems, problems, figures)


def newest_releases_kept(candidate: dict[str, set[str]], previous: dict[str, set[str]], allow_shrink: bool,
                         allowances: list | None = None) -> Finding:
    """No source lost its newest published release (``source -> vintages`` of the candidate and the last publish).

    Why: a vanished newest release is far more often a broken or half-synchronised mirror than a withdrawal by the
    publisher, and publishing it moved the warehouse back silently (latest_ranking a period earlier; only
    publish_log.changes said 'withdrawn'; review of 5 December). A real withdrawal is allowed as an implausible
    change is: an allow-list entry for that source and release (allowlist.yaml or READINESS_ALLOWLIST; without
    ``measure`` or with ``measure: release_withdrawn``; its reason is shown here), or READINESS_ALLOW_SHRINK=1 for
    a deliberate change of scope (e.g. the full data back to the snapshot). A revision (the same vintage, another
    revision) is no withdrawal."""
    # an entry allows the withdrawal as it allows a measure's change: this pseudo-measure must fullmatch its
    # ``measure`` (the default '.*' or 'release_withdrawn'), and it must not be limited to one region; an entry
    # for some measures of the release (Wiesbaden's FTTH/B in allowlist.yaml) says nothing about its withdrawal
    allowed_by = {(a.source, a.release): a.reason for a in allowances or []
                  if a.ags is None and re.fullmatch(a.measure, WITHDRAWN)}
    newest = {source: max(vintages, key=release_order) for source, vintages in previous.items() if vintages}
    gone = sorted((source, vintage) for source, vintage in newest.items()
                  if _moves_back(vintage, candidate.get(source, set())))
    listed = {(s, v): allowed_by[(s, v)] for s, v in gone if (s, v) in allowed_by}
    refused = [(s, v) for s, v in gone if (s, v) not in listed and not allow_shrink]
    problems = [f"[{source}] release {vintage}, the newest published, is no longer in the source directory: a "
                f"broken or incomplete mirror? Restore its files; if the publisher withdrew it, allow it in "
                f"allowlist.yaml (source: {source}, release: '{vintage}', measure: {WITHDRAWN}, reason: ...) or run "
                f"once with READINESS_ALLOW_SHRINK=1" for source, vintage in refused]
    figures = {"sources_compared": len(set(candidate) & set(previous)), "newest_gone": len(gone),
               "allowed_by_allowlist": {f"{s} {v}": reason for (s, v), reason in listed.items()},
               "allowed_by_READINESS_ALLOW_SHRINK": len(gone) - len(listed) if allow_shrink else 0}
    return Finding(not problems, problems, figures)


def _moves_back(newest: str, now: set[str]) -> bool:
    """Whether a source whose newest published release was ``newest`` goes back with the releases ``now``: it is
    gone and nothing as new or newer took its place. A newer release beside or instead of it (a relabelled
    delivery, coworking_2025-07-01.json for coworking_2025-06-01.json) moves nothing back (review of the diff)."""
    if newest in now:
        return False
    return not now or release_order(max(now, key=release_order)) < release_order(newest)


def release_vintages(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """The current release vintages of each source in a warehouse file (``source_releases``; none before the first)."""
    try:
        rows = con.execute("SELECT DISTINCT source_id, vintage FROM source_releases").fetchall()
    except duckdb.CatalogException:
        return {}
    vintages: dict[str, set[str]] = {}
    for source, vintage in rows:
        vintages.setdefault(source, set()).add(vintage)
    return vintages


def validate_candidate(candidate: Path, published: Path, pilot_towns: list[str],
                       allow_shrink: bool = False) -> dict[str, Finding]:
    """Every check on the candidate file (read-only), the row counts against the published file.

    All findings are computed in one pass and recorded beside the candidate (``validation_record``),
    keyed by the identity of both files and the inputs; the next caller (the other candidate checks, the
    swap) reuses them while neither file has changed since, and computes them again otherwise.
    """
    allowances = _allowances()  # read once: the record's key and newest_releases_kept both depend on it
    key = _validation_key(candidate, published, pilot_towns, allow_shrink, allowances)
    record = validation_record(candidate)
    cached = _read_record(record, key)
    if cached is not None:
        return cached
    findings = _compute_findings(candidate, published, pilot_towns, allow_shrink, allowances)
    _write_record(record, key, findings)
    return findings


def _compute_findings(candidate: Path, published: Path, pilot_towns: list[str],
                      allow_shrink: bool, allowances: list) -> dict[str, Finding]:
    """The findings (keys, towns, ranges, row counts, newest releases), each query run once."""
    from warehouse.publish import row_counts

    with duckdb.connect(str(candidate), read_only=True) as con:
        findings = {"no_duplicate_keys": no_duplicate_keys(con),
                    "towns_complete": towns_complete(con, pilot_towns),
                    "values_in_range": values_in_range(con)}
        new_counts, new_releases = row_counts(con), release_vintages(con)
    previous_counts, previous_releases = {}, {}
    if published.exists():
        with duckdb.connect(str(published), read_only=True) as con:
            previous_counts, previous_releases = row_counts(con), release_vintages(con)
    findings["row_counts_not_collapsing"] = row_counts_not_collapsing(new_counts, previous_counts, allow_shrink)
    findings["newest_releases_kept"] = newest_releases_kept(new_releases, previous_releases, allow_shrink,
                                                            allowances)
    return findings


def _allowances() -> list:
    """The allow-list's entries (sources/contracts.py reads allowlist.yaml or READINESS_ALLOWLIST)."""
    from sources.contracts import load_allowlist

    return load_allowlist()


def validation_record(candidate: Path, kind: str = "validation") -> Path:
    """Where figures about ``candidate`` are recorded: its findings (``validation``), the year-on-year
    findings (``year_on_year``); beside it and ignored by git like the other working files."""
    return candidate.with_name(f"{candidate.name}.{kind}.tmp")


def file_identity(path: Path) -> list | None:
    """What changes when a file is rewritten or replaced: inode, size, modification time (None: no file).

    A DuckDB file opened read-only is not written, so reading it keeps its identity; building a new
    candidate (unlink, create) or publishing (rename) changes it.
    """
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return [stat.st_ino, stat.st_size, stat.st_mtime_ns]


def _validation_key(candidate: Path, published: Path, pilot_towns: list[str], allow_shrink: bool,
                    allowances: list | None = None) -> dict:
    allowances = _allowances() if allowances is None else allowances
    return {"candidate": [str(candidate.resolve()), file_identity(candidate)],
            "published": [str(published.resolve()), file_identity(published)],
            "pilot_towns": sorted(pilot_towns), "allow_shrink": allow_shrink, "max_shrink": MAX_SHRINK,
            # the allow-list decides newest_releases_kept: another entry (any field of it), other findings
            "allowlist": repr(sorted(repr(a) for a in allowances))}


def _read_record(record: Path, key: dict) -> dict[str, Finding] | None:
    """The recorded findings when they were made for exactly these files and inputs, else None."""
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("key") != key:
        return None
    return {name: Finding(**finding) for name, finding in data["findings"].items()}


def _write_record(record: Path, key: dict, findings: dict[str, Finding]) -> None:
    """Record the findings atomically (a concurrent check process reads the old record or the new one)."""
    if key["candidate"][1] is None:
        return
    temporary = record.with_name(f".{record.name}.{os.getpid()}")
    temporary.write_text(json.dumps({"key": key, "findings": {n: asdict(f) for n, f in findings.items()}},
                                    default=int), encoding="utf-8")
    os.replace(temporary, record)


def working_identity(work_db: Path) -> list:
    """The identity of every working file (the shared one, each staging asset's, their WALs): equal
    identities, equal working data, so figures computed from them can be reused."""
    from warehouse.paths import stage_dir_for

    stage_dir = stage_dir_for(work_db)
    files = [work_db, work_db.with_name(work_db.name + ".wal")]
    files += sorted(stage_dir.iterdir()) if stage_dir.is_dir() else []
    return [[str(path.resolve()), file_identity(path)] for path in files]


def recorded_frame(record: Path, key: dict) -> pd.DataFrame | None:
    """A table recorded by ``record_frame`` under exactly ``key``, else None (then it is computed again)."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(record)
    except (OSError, ValueError):
        return None
    if json.loads((table.schema.metadata or {}).get(b"readiness_key", b"null")) != key:
        return None
    return table.to_pandas()


def record_frame(record: Path, key: dict, frame: pd.DataFrame) -> None:
    """Record ``frame`` as Parquet (exact types and values) with ``key`` in its metadata, atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"readiness_key": json.dumps(key)})
    temporary = record.with_name(f".{record.name}.{os.getpid()}")
    pq.write_table(table, temporary)
    os.replace(temporary, record)
