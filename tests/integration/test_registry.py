"""The table registry (warehouse/tables.yaml): generated DDL and dictionary without drift, every built table
declared, generated column checks that catch what they declare."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import duckdb
import pytest

from indicators.catalogue import load_catalogue
from sources.registry import load_sources
from warehouse import docs
from warehouse.paths import stage_path, work_path_for
from warehouse.workdb import connect_work, visible_relations
from warehouse.registry import PUBLISHED, WORKING, load_registry, published_ddl, registry, violation_queries


def test_generated_files_match_the_registry():
    """schema.sql, staging.sql and the dictionary's column tables are what the registry generates."""
    stale = [path.name for path, content in docs.outputs().items() if path.read_text(encoding="utf-8") != content]
    assert not stale, f"out of date, run python -m warehouse.docs: {stale}"
    assert docs.main(["--check"]) == 0


def test_check_mode_reports_drift(tmp_path, monkeypatch, capsys):
    """A hand edit of a generated file is found by --check (and names the file)."""
    schema = tmp_path / "schema.sql"
    schema.write_text(published_ddl().replace("ags VARCHAR PRIMARY KEY", "ags INTEGER PRIMARY KEY", 1))
    monkeypatch.setattr(docs, "SCHEMA_SQL", schema)
    monkeypatch.setattr(docs, "ROOT", tmp_path)
    assert docs.main(["--check"]) == 1
    assert "schema.sql" in capsys.readouterr().out


def test_every_pillar_has_a_ranged_score_column():
    """Pillars come only from catalogue.yaml: each one is a 0-100 column of readiness_index and a gap of peer_towns."""
    index, peers = registry()["readiness_index"], registry()["peer_towns"]
    for pillar in load_catalogue().pillars:
        column = index.column(pillar)
        assert (column.type, column.min, column.max) == ("DOUBLE", 0, 100)
        assert peers.column(f"gap_{pillar}").min == -100
    queries = violation_queries(index)
    assert all(f"{p}:max" in queries for p in load_catalogue().pillars)


def test_undeclared_key_column_is_refused(tmp_path):
    path = tmp_path / "tables.yaml"
    path.write_text("tables:\n  t:\n    layer: staging\n    databases: [working]\n    writer: a\n"
                    "    primary_key: [ags, period]\n    columns:\n      ags: {type: VARCHAR}\n")
    with pytest.raises(ValueError, match=r"tables.yaml: t: primary key columns \['period'\]"):
        load_registry(path)


def test_violation_queries_count_each_rule(tmp_path):
    """Each declared rule counts exactly the rows that break it."""
    table = registry()["commuter_flows_gemeinde"]
    with duckdb.connect() as con:
        con.execute(docs.working_ddl())
        rows = [("01053090", "out", 1, "02000000", 10.0), ("1053090", "out", 1, "02000000", -1.0),
                ("01053090", "sideways", 11, "02000000", 5.0), ("01053090", "out", 1, "03000000", 7.0)]
        for ags, direction, rank, partner, commuters in rows:
            con.execute("INSERT INTO commuter_flows_gemeinde VALUES (?, ?, ?, ?, ?, 3.0, DATE '2023-06-30', NULL, "
                        "'pendleratlas', '2023')", [ags, direction, rank, partner, commuters])
        counts = {rule: con.execute(sql).fetchone()[0] for rule, sql in violation_queries(table).items()}
    assert counts["ags:pattern"] == 1 and counts["commuters:min"] == 1
    assert counts["direction:enum"] == 1 and counts["rank:max"] == 1
    assert counts["primary_key:unique"] == 1  # two rows of 01053090/out/1/2023-06-30/2023
    assert counts["ags:not_null"] == 0


def test_generated_range_check_blocks_an_out_of_range_pillar(tmp_path):
    """The generated readiness_index check fails on a pillar score above 100 and names the rule."""
    from dagster import AssetKey, ResourceDefinition, build_asset_check_context

    from pipelines.checks import CHECKS
    from pipelines.resources import ReadinessSettings

    check = next(c for c in CHECKS if c.check_key.name == "readiness_index_columns"
                 and c.check_key.asset_key == AssetKey("readiness_index"))
    settings = ReadinessSettings(warehouse_path=str(tmp_path / "readiness.duckdb"))
    columns = registry()["readiness_index"].columns
    with duckdb.connect(str(work_path_for(settings.published))) as con:
        con.execute("CREATE TABLE readiness_index (" + ", ".join(f"{c.name} {c.type}" for c in columns) + ")")
        con.execute("INSERT INTO readiness_index (ags, period, score, accessibility, in_reference_group, "
                    "reference_group, method_version) VALUES ('01053090', 2023, 60, 150, true, 'x', '0.3.0')")
    context = build_asset_check_context(resources={"settings": ResourceDefinition.hardcoded_resource(settings)})
    result = check(context)
    assert not result.passed and result.metadata["violations"].value == {"accessibility:max": 1}


def _names(con, tables_only: bool = False) -> dict[str, set[str]]:
    """Table (and view) name -> column names of the attached file."""
    relations = "SELECT table_name AS name FROM duckdb_tables() WHERE database_name = current_database()"
    if not tables_only:
        relations += (" UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name = current_database() "
                      "AND NOT internal")
    names = {r[0] for r in con.execute(relations).fetchall()}
    return {name: {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND "
                                             "database_name = current_database()", [name]).fetchall()}
            for name in names}


def test_every_table_of_the_built_warehouse_is_declared(snapshot_warehouse):
    """Every table of the working and the published file is in the registry with exactly its columns."""
    reg = registry()
    work_db = work_path_for(snapshot_warehouse)
    working = {}
    # the shared working file and each staging asset's own file hold exactly the tables the registry puts there
    for own in [None, *reg.own_files()]:
        with duckdb.connect(str(stage_path(work_db, own) if own else work_db), read_only=True) as con:
            names = _names(con)
        misplaced = sorted(n for n in names if n in reg.tables and n != "_staging_version" and reg[n].own_file != own)
        assert not misplaced, f"{own or 'shared working file'} holds {misplaced}"
        working.update(names)
    undeclared = set(working) - reg.declared_names(WORKING)
    assert not undeclared, f"working tables missing from warehouse/tables.yaml: {sorted(undeclared)}"
    assert "stg_breitbandatlas__observations" in working
    with connect_work(work_db, read_only=True) as con:  # the union over the files
        assert {"observations", "stg_breitbandatlas__observations", "releases"} <= visible_relations(con)
    for name, columns in working.items():
        assert columns == {c.name for c in reg[name].own_columns}, name
    with duckdb.connect(str(snapshot_warehouse), read_only=True) as con:
        published = _names(con, tables_only=True)
        views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE "
                                           "database_name = current_database() AND NOT internal").fetchall()}
    tables = {t.published_name: t for t in reg.in_database(PUBLISHED)}
    assert set(published) == set(tables)
    for name, columns in published.items():
        extra = {"valid_from", "valid_to"} if tables[name].history else set()
        assert columns == {c.name for c in tables[name].columns} | extra, name
    # views: the current rows of every history table plus the planner views of views.sql
    assert {t.name for t in tables.values() if t.history} <= views
    assert set(reg.planner_views) <= views  # the exported views (warehouse/tables.yaml planner_views)


def documented_measures() -> list[tuple[re.Pattern, str]]:
    """(measure pattern, unit) of every row of the data dictionary's hand-written "Measure names" table
    (``<technology>`` and the like stand for any text, also none)."""
    text = docs.DICTIONARY.read_text(encoding="utf-8").split("**Measure names**", 1)[1]
    rows = []
    for line in text.split("\n\n", 2)[1].splitlines()[2:]:
        _, measures, unit, _ = [cell.strip() for cell in line.strip("|").split("|", 3)]
        for name in re.findall(r"`([^`]+)`", measures):
            rows.append((re.compile(re.sub(r"<[^>]+>", ".*", re.escape(name).replace(r"\<", "<").replace(r"\>", ">"))),
                         unit))
    return rows


def test_every_measure_of_the_built_warehouse_is_documented_with_its_unit(snapshot_warehouse, example_warehouse):
    """The dictionary's measure table lacked INKAR's four accessibility measures and their units (review of
    4 December): every (measure, unit) of the snapshot's observations, and of the example build with local inputs and
    Pendleratlas files, matches a row of it."""
    documented = documented_measures()
    assert len(documented) > 20
    for warehouse in (snapshot_warehouse, example_warehouse):
        with duckdb.connect(str(warehouse), read_only=True) as con:
            built = con.execute("SELECT DISTINCT source_id, measure, unit FROM observations ORDER BY ALL").fetchall()
        missing = [(source, measure, unit) for source, measure, unit in built
                   if not any(pattern.fullmatch(measure) and unit == documented_unit
                              for pattern, documented_unit in documented)]
        assert not missing, f"docs/data-dictionary.md 'Measure names' lacks {missing}"


def test_the_candidate_fills_every_published_table_in_exactly_one_way():
    """Copied from the working database (publish.CURRENT_TABLES), merged with its history, or written by the
    candidate step itself: each published table in exactly one of the three, derived from the registry."""
    from warehouse.publish import CURRENT_TABLES

    reg = registry()
    copied = set(CURRENT_TABLES)
    versioned = set(reg.history_tables())
    own = {t.published_name for t in reg.in_database(PUBLISHED) if t.writer == "warehouse_candidate" and not t.history}
    assert not (copied & versioned or copied & own or versioned & own)
    assert copied | versioned | own == {t.published_name for t in reg.in_database(PUBLISHED)}
    assert {"observations", "municipalities", "score_contributions"} <= copied
    assert "indicator_values_latest" in own and "indicator_values_history" in versioned


ASSETS_DIR = Path(__file__).resolve().parents[2] / "pipelines" / "assets"


def _store_calls() -> list[tuple[str, str, str]]:
    """(file, writer, table) of every ``store(con, writer, table, ...)`` in pipelines/assets (f-strings as templates)."""
    calls = []
    for path in sorted(ASSETS_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "store":
                writer, table = node.args[1], node.args[2]
                if isinstance(table, ast.Call):  # observations_table("inkar"); a variable: checked at run time
                    argument = table.args[0]
                    name = argument.value if isinstance(argument, ast.Constant) else "<source>"
                    table = ast.Constant(f"stg_{name}__observations")
                elif not isinstance(table, ast.Constant):  # a variable (the generated stage assets)
                    table = ast.Constant("<parameter>")
                if isinstance(writer, ast.JoinedStr):  # f"raw_{spec.source_id}" -> raw_<source>
                    writer = "".join(v.value if isinstance(v, ast.Constant) else "<source>" for v in writer.values)
                elif isinstance(writer, ast.Constant):
                    writer = writer.value
                else:
                    writer = "<parameter>"
                calls.append((path.name, writer, table.value))
    return calls


def test_each_asset_writes_only_the_tables_the_registry_gives_it():
    """Structural: the writer named in every store() call is the table's writer in the registry, and
    every table a single asset writes is written by it somewhere."""
    reg = registry()
    calls = _store_calls()
    assert calls, "no store() calls found in pipelines/assets"
    static = [(f, w, t) for f, w, t in calls if "<" not in w + t]  # the others are checked by store() at run time
    wrong = [(f, w, t) for f, w, t in static if not (t in reg.tables and reg[t].is_writer(w))]
    assert not wrong, f"writes the registry does not allow: {wrong}"
    written = {(w, t) for _, w, t in calls}
    for spec in load_sources().values():  # the generated stage assets write what sources.yaml `stage:` names
        if spec.stage:
            asset = spec.stage["asset"]
            written |= {(asset, f"stg_{spec.source_id}__observations")}
            written |= {(asset, table) for table in spec.stage.get("tables", {}).values()}
            assert all(reg[t].is_writer(asset) for a, t in written if a == asset), asset
    for table in reg.in_database(WORKING):
        if table.writer and table.writer.isidentifier():
            dynamic = table.part_of == "observations" and bool(
                {(table.writer, "stg_<source>__observations"), ("<parameter>", "stg_<source>__observations")} & written)
            assert (table.writer, table.name) in written or dynamic, f"{table.writer} never stores {table.name}"


def test_assets_write_only_through_the_registry_helper():
    """No asset module writes SQL tables directly: every write goes through warehouse.workdb.store."""
    direct = re.compile(r"replace_rows\(|\bUPDATE\s+\w+|CREATE (OR REPLACE )?TABLE|INSERT INTO|DELETE FROM", re.I)
    modules = list(ASSETS_DIR.glob("*.py"))
    offenders = {path.name: [m.group(0) for m in direct.finditer(path.read_text(encoding="utf-8"))]
                 for path in modules if direct.search(path.read_text(encoding="utf-8"))}
    assert not offenders, offenders


def test_store_refuses_a_wrong_writer_and_undeclared_columns():
    import pandas as pd

    from warehouse.workdb import store

    with duckdb.connect() as con:
        frame = pd.DataFrame({"choice": ["normalisation"], "option": ["minmax"], "draws": [10],
                              "method_version": ["0.3.0"]})
        with pytest.raises(ValueError, match=r"readiness_index: may not write 'index_sensitivity'.*index_uncertainty"):
            store(con, "readiness_index", "index_sensitivity", frame)
        with pytest.raises(ValueError, match=r"columns \['extra'\] of 'index_sensitivity' are not declared"):
            store(con, "index_uncertainty", "index_sensitivity", frame.assign(extra=1))
        with pytest.raises(ValueError, match=r"table 'scratch' is not declared"):
            store(con, "index_uncertainty", "scratch", frame)
        store(con, "index_uncertainty", "index_sensitivity", frame)
        # declared columns the writer did not produce are there, empty
        assert con.execute("SELECT scored_share, first_order FROM index_sensitivity").fetchall() == [(None, None)]


def test_layer_is_the_group_of_the_writer():
    """The registry's layer of a table is the Dagster group of the asset that writes it."""
    from pipelines.definitions import SHORT_KEYS, defs

    graph = defs.resolve_asset_graph()
    # writers are registry names; the graph knows the assets by their short keys (pipelines/names.py)
    keys = {old.to_user_string(): new for old, new in SHORT_KEYS.items() if new in graph.get_all_asset_keys()}
    assert {"population_area", "readiness_index", "published_warehouse"} <= keys.keys()
    for table in registry().tables.values():
        for writer in table.writers:
            if writer in keys:
                group = graph.get(keys[writer]).group_name
                assert table.layer == group, f"{table.name}: layer {table.layer}, writer {writer} in group {group}"
