"""The `readiness` command line against a warehouse built from the snapshot (READINESS_WAREHOUSE)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from cli.main import main
from cli.profile import fmt
from reports.context import DECIMALS
from reports.labels import NO_PEERS_DE, display_name, source_label, vintage_label
from cli.store import CliError
from cli.towns import AmbiguousTown, normalise, resolve
from pipelines.definitions import defs
from tests.conftest import instance_home

READINESS = Path(sys.executable).with_name("readiness")  # the console script declared in pyproject.toml


@pytest.fixture
def cli_env(monkeypatch, snapshot_warehouse):
    """The CLI reads the snapshot warehouse; a wide terminal so rich does not wrap numbers."""
    monkeypatch.setenv("READINESS_WAREHOUSE", str(snapshot_warehouse))
    monkeypatch.setenv("COLUMNS", "220")
    return snapshot_warehouse


def ags_of(warehouse, name_prefix: str) -> str:
    (ags,) = warehouse.execute("SELECT ags FROM municipalities WHERE name LIKE ? || '%'", [name_prefix]).fetchone()
    return ags


def test_resolve_by_ags_name_umlaut_and_prefix(warehouse):
    moelln = ags_of(warehouse, "Mölln,")
    diessen = ags_of(warehouse, "Dießen am Ammersee")
    assert resolve(warehouse, moelln).ags == moelln
    # the AGS as a spreadsheet shows it, its leading zero dropped (CLI audit of 7 December 2026)
    assert resolve(warehouse, moelln.lstrip("0")).ags == moelln and len(moelln.lstrip("0")) == 7
    with pytest.raises(CliError, match="AGS 09999999 im Warehouse .7 Ziffern: mit führender Null ergänzt"):
        resolve(warehouse, "9999999")
    for query in ["Mölln", "mölln", "MOELLN", "Moelln", "Mölln, Stadt", "  moelln "]:
        assert resolve(warehouse, query).ags == moelln, query
    for query in ["Dießen", "diessen", "Dießen am Ammersee", "Diessen am"]:
        assert resolve(warehouse, query).ags == diessen, query


def test_exact_name_wins_over_longer_names_it_prefixes(warehouse):
    names = [n for (n,) in warehouse.execute("SELECT name FROM municipalities").fetchall()]
    pairs = [(a, b) for a in names for b in names if normalise(a) != normalise(b) and normalise(b).startswith(normalise(a))]
    assert pairs, "the snapshot has names that prefix others (e.g. Lanz / Lanze)"
    for short, _ in pairs:
        assert resolve(warehouse, short).name == short


def test_ambiguous_prefix_lists_candidates_with_kreis_and_ags(cli_env, warehouse, capsys):
    rows = warehouse.execute("SELECT ags, name, kreis_name FROM municipalities WHERE name LIKE 'Wentorf%'").fetchall()
    assert len(rows) >= 2  # Wentorf bei Hamburg and Wentorf (Amt Sandesneben)
    with pytest.raises(AmbiguousTown) as error:
        resolve(warehouse, "wentorf")
    assert sorted(t.ags for t in error.value.candidates) == sorted(r[0] for r in rows)
    assert main(["profile", "Wentorf"]) == 2
    message = capsys.readouterr().err
    for ags, name, kreis in rows:
        assert ags in message and name in message and kreis in message


def test_unknown_town_and_missing_warehouse(cli_env, monkeypatch, tmp_path, capsys):
    assert main(["profile", "Atlantis"]) == 2
    assert "Keine Gemeinde heißt 'Atlantis'" in capsys.readouterr().err
    assert main(["profile", "99999999"]) == 2
    assert "AGS 99999999" in capsys.readouterr().err
    monkeypatch.setenv("READINESS_WAREHOUSE", str(tmp_path / "missing.duckdb"))
    assert main(["profile", "Mölln"]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "missing.duckdb") in err and "readiness demo" in err


def test_profile_prints_the_warehouse_values(cli_env, warehouse, capsys):
    ags = ags_of(warehouse, "Mölln,")
    assert main(["profile", "moelln"]) == 0
    out = capsys.readouterr().out
    row = warehouse.execute("""
        SELECT period, score, rank, compared_towns, rank_p05, rank_p95, score_p05, score_p95,
               digital_infrastructure, commuting_potential, demographic_dynamics
        FROM town_index_history WHERE ags = ? AND score IS NOT NULL AND NOT period_provisional
        ORDER BY period DESC LIMIT 1""", [ags]).fetchone()
    period, score, rank, compared, p05, p95, s05, s95, *pillars = row
    # the Kreis by the BKG's designation, as the town page says it ('im Kreis Herzogtum Lauenburg')
    kind = warehouse.execute("SELECT designation FROM kreise WHERE ags = ?", [ags[:5]]).fetchone()[0]
    assert kind == "Kreis" and out.splitlines()[0].endswith(f"AGS {ags}  Kreis Herzogtum Lauenburg")
    wittenberge = ags_of(warehouse, "Wittenberge,")
    assert main(["profile", wittenberge]) == 0  # a Landkreis: 'Landkreis Prignitz', where 'Kreis Prignitz' stood
    assert capsys.readouterr().out.splitlines()[0].endswith(f"AGS {wittenberge}  Landkreis Prignitz")
    # the data dates next to the score (which year is published depends on the honest-time rule)
    assert "Datenstand: Breitband " in out and ", Pendler " in out
    assert (f"Index {period}: {de(score)}, Rang {rank} von {compared} "
            f"(Band 5–95 %: Rang {german_rank(p05)}–{german_rank(p95)}, Index {de(s05)}–{de(s95)})") in out
    for value in pillars:
        assert re.search(rf"│ +{re.escape(de(value))} │", out), value
    indicators = warehouse.execute("""
        SELECT v.indicator_id, v.value, v.source_id, v.vintage, v.reference_date, c.pillar FROM indicator_values v
        JOIN indicator_catalogue c USING (indicator_id) WHERE v.ags = ?
        QUALIFY row_number() OVER (PARTITION BY v.indicator_id ORDER BY v.period DESC) = 1""", [ags]).fetchall()
    assert indicators and any(pillar == "accessibility" for *_, pillar in indicators)
    lines = out.splitlines()
    for indicator_id, value, source, vintage, date, pillar in indicators:
        # one table row: the value with its unit's decimals (as the pages), the source by its German name, the
        # release as a German date ('06/2021') and the reference date; INKAR's accessibility values by their year
        # alone, which is all INKAR gives (the 31.12. is the parser's convention; dates review F9)
        day = f"Bezugsjahr {date.year}" if pillar == "accessibility" else date.strftime("%d.%m.%Y")
        cells = [fmt(value, DECIMALS[indicator_id]), source_label(source)[:15], vintage_label(vintage), day]
        assert any(all(cell in line for cell in cells) for line in lines), (indicator_id, cells)
    assert not any(source_label("inkar")[:15] in line and f"31.12.{date.year}" in line for line in lines
                   for *_, date, pillar in indicators if pillar == "accessibility")
    # the headline period's table marks each value the score rests on (every row read "nein" beside them before)
    scored = warehouse.execute("""SELECT count(*) FROM indicator_values v JOIN indicator_catalogue c USING (indicator_id)
        WHERE v.ags = ? AND v.period = ? AND v.excluded_reason IS NULL""", [ags, period]).fetchone()[0]
    table = out[out.index(f"Indikatorwerte {period}"):out.index("Vergleichsstädte")]
    assert scored > 0 and len(re.findall(r"│ ja +│", table)) == scored
    # the gap as the two scores are shown: round(peer_score, 1) - round(score, 1), as SQL rounds
    peers = warehouse.execute("""SELECT m.name, p.peer_ags, round(round(p.peer_score, 1) - round(p.score, 1), 1)
                                 FROM peer_towns p JOIN municipalities m ON m.ags = p.peer_ags
                                 WHERE p.ags = ?""", [ags]).fetchall()
    assert len(peers) == 5
    for name, peer_ags, gap in peers:  # the names as the pages write them ('Penzberg, Stadt', not '…, St')
        assert display_name(name) in out and peer_ags in out and fmt(gap) in out
    # under them, as on the town page, the dates of the structure features the similarity rests on (town and peers)
    population, centrality = warehouse.execute("""SELECT DISTINCT population_date, job_centrality_date FROM peer_towns
        WHERE ags = ? OR ags IN (SELECT peer_ags FROM peer_towns WHERE ags = ?)""", [ags, ags]).fetchone()
    assert (f"Die Ähnlichkeit beruht auf den Strukturmerkmalen von Mölln, Stadt und den Vergleichsstädten: "
            f"Einwohnerzahl Stichtag {population:%d.%m.%Y}, Pendlersaldo (INKAR) Stichtag {centrality:%d.%m.%Y}."
            ) in " ".join(out.split())


def test_profile_writes_the_name_as_the_town_page_does(cli_env, warehouse, capsys):
    """The pilot's page is titled 'Dießen am Ammersee, Markt'; `readiness profil Dießen` headed its profile with the
    register's 'Dießen am Ammersee, M' (session of 7 December 2026, afternoon)."""
    diessen = ags_of(warehouse, "Dießen am Ammersee")
    assert main(["profil", "Dießen"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"Dießen am Ammersee, Markt  AGS {diessen}  Landkreis Landsberg am Lech"), first


def test_profile_marks_the_years_the_town_page_calls_not_comparable(cli_env, warehouse, capsys, tmp_path):
    """The CLI's Indexverlauf marks the years whose score rests on other indicators than the headline year's with the
    page's words: the town page's download (indexverlauf.csv, column Vergleichbarkeit) and the CLI say the same."""
    import csv

    from cli.report import report_town

    ags = ags_of(warehouse, "Wittenberge,")
    report_town(ags, tmp_path)
    with (tmp_path / f"{ags}-indexverlauf.csv").open(encoding="utf-8-sig") as handle:
        page = {int(r["Jahr"]): r["Vergleichbarkeit"] for r in csv.DictReader(handle, delimiter=";")
                if r["Vergleichbarkeit"]}
    assert page, "the snapshot's Wittenberge has a year resting on other indicators (2018: no car times)"
    assert main(["profil", ags]) == 0
    out = " ".join(capsys.readouterr().out.split())
    history = out[out.index("Indexverlauf"):out.index("Indikatorwerte")]
    for period, text in page.items():
        assert f"{period} nicht vergleichbar" in history and f"{period} {' '.join(text.split())}." in history
    assert "kein Zeitvergleich" in history


def published_by_older_code(published: Path, target: Path, *statements: str) -> Path:
    """A copy of ``published`` at ``target`` as an older version of the code left it: ``statements`` run on it
    (views and columns dropped that the code of that time did not publish)."""
    import shutil

    shutil.copy(published, target)
    with duckdb.connect(str(target)) as con:
        for statement in statements:
            con.execute(statement)
    return target


def test_profile_reads_a_warehouse_published_before_its_views(cli_env, monkeypatch, tmp_path, capsys):
    """A published file is never rewritten: one published before the views index_inputs and score_inputs existed
    stopped `readiness profil` with a catalog error until the next publish (read of the change, 6 December 2026).
    The CLI creates them for its session from views.sql, and the profile marks the same values as on the new file."""
    assert main(["profile", "moelln"]) == 0
    new = capsys.readouterr().out
    old = published_by_older_code(cli_env, tmp_path / "old.duckdb", "DROP VIEW score_inputs", "DROP VIEW index_inputs")
    monkeypatch.setenv("READINESS_WAREHOUSE", str(old))
    assert main(["profile", "moelln"]) == 0
    out = capsys.readouterr().out
    assert out == new and len(re.findall(r"│ ja +│", out)) > 5
    with duckdb.connect(str(old), read_only=True) as con:  # the file itself is left as it was
        assert not con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'score_inputs'").fetchone()[0]


def test_profile_of_a_warehouse_too_old_for_its_views_says_so(cli_env, monkeypatch, tmp_path, capsys):
    """A file published before readiness_index had uncompared_pillars (3 December) cannot take the views' SQL: the
    CLI opened it with a raw binder error for every command (read of the change, 6 December 2026). Now the views are
    skipped, and `profil`, which needs them, names the file and what to do."""
    old = published_by_older_code(
        cli_env, tmp_path / "older.duckdb",
        *(f"DROP VIEW {view}" for view in ("score_inputs", "index_inputs", "latest_ranking", "town_index_history",
                                           "readiness_index")),
        "ALTER TABLE readiness_index_history DROP COLUMN uncompared_pillars",
        "CREATE VIEW readiness_index AS SELECT * EXCLUDE (valid_to) FROM readiness_index_history WHERE valid_to IS NULL")
    monkeypatch.setenv("READINESS_WAREHOUSE", str(old))
    assert main(["profile", "moelln"]) != 0
    captured = capsys.readouterr()
    assert "ist zu alt für diesen Befehl" in captured.err + captured.out and str(old) in captured.err + captured.out


@pytest.mark.parametrize("command", [["bericht", "moelln"], ["vergleich", "01053090", "12070424"], ["karte"]])
def test_report_commands_on_a_warehouse_of_older_code_name_what_it_lacks(cli_env, monkeypatch, tmp_path, capsys,
                                                                       command):
    """A file published before peer_towns had its features' dates: `bericht`, `vergleich` and `karte` stopped with
    DuckDB's "LATERAL join cannot contain aggregates!" and a traceback (planner's review of 6 December 2026). They now
    name the file, what it lacks and what to do, and write nothing."""
    old = published_by_older_code(cli_env, tmp_path / "older.duckdb", "DROP VIEW peer_comparison",
                                  "ALTER TABLE peer_towns DROP COLUMN job_centrality_date")
    monkeypatch.setenv("READINESS_WAREHOUSE", str(old))
    monkeypatch.setenv("READINESS_REPORTS_DIR", str(tmp_path / "berichte"))
    assert main(command) == 2
    err = capsys.readouterr().err
    assert f"Das Warehouse {old} wurde von einer älteren Version des Codes veröffentlicht" in err
    assert "(es fehlen: peer_towns.job_centrality_date, peer_comparison)" in err and "Traceback" not in err
    assert not (tmp_path / "berichte").exists() or not any((tmp_path / "berichte").rglob("*.html"))
    if command[0] == "bericht":  # `profil` still reads such a file, its peers without the features' dates
        assert main(["profile", "moelln"]) == 0
        out = capsys.readouterr().out
        assert "Vergleichsstädte" in out and "Die Ähnlichkeit beruht" not in out


def test_profile_of_a_town_outside_the_reference_group_says_why_it_has_no_rank(cli_env, warehouse, capsys):
    # it gets a score (higher than some ranked towns'), and printed "von 50" beside no rank, with no reason
    ags, period, score = warehouse.execute("""
        SELECT ags, period, score FROM town_index_history
        WHERE NOT in_reference_group AND score IS NOT NULL AND NOT period_provisional
        QUALIFY row_number() OVER (PARTITION BY ags ORDER BY period DESC) = 1 ORDER BY ags LIMIT 1""").fetchone()
    assert main(["profil", ags]) == 0
    out = capsys.readouterr().out
    assert f"Index {period}: {de(score)}; kein Rang: die Gemeinde gehört nicht zur Vergleichsgruppe" in out
    history = out[out.index("Indexverlauf"):out.index(f"Indikatorwerte {period}")]
    rows = [line for line in history.splitlines() if re.match(r"│ \d{4} ", line)]
    # the year left-aligned, marked where its score rests on other indicators ("2018 nicht vergleichbar")
    assert rows and all(re.match(r"│ \d{4}( nicht vergleichbar)? +│ +[\d,–]+ │ +– │ +– │", line) for line in rows), rows
    # no peers outside the group: the page's reason, not an empty table (CLI sweep of 7 December 2026)
    assert " ".join(NO_PEERS_DE.split()) in " ".join(out.split()) and "Vergleichsstädte (strukturell" not in out


def test_profile_says_when_a_rank_is_shared(cli_env, warehouse, capsys):
    """Towns shown with the same score share a rank (method 0.3.3); the headline says with how many others."""
    ags, rank, others = warehouse.execute("""
        SELECT ags, rank, (SELECT count(*) FROM latest_ranking o WHERE o.rank = r.rank) - 1 AS others
        FROM latest_ranking r WHERE others > 0 ORDER BY ags LIMIT 1""").fetchone()
    assert main(["profil", ags]) == 0
    out = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert f"Rang {rank} von " in out and (f"(gleichauf mit {'einer weiteren Gemeinde' if others == 1 else f'{others} weiteren Gemeinden'})"
                                           in out)


def german_rank(value: float) -> str:
    """A rank percentile as the pages show it: one decimal, none where that is whole (2.05 -> '2', 439.94 -> '439,9')."""
    shown = round(value + 1e-9, 1)
    return str(int(shown)) if shown == int(shown) else de(shown)


def de(value: float, digits: int = 1) -> str:
    """German decimal comma, written independently of cli.format."""
    return f"{value:.{digits}f}".replace(".", ",")


def test_profile_numbers_are_german(cli_env, warehouse, capsys):
    assert main(["profil", "Mölln"]) == 0  # the German command name
    out = capsys.readouterr().out
    (score,) = warehouse.execute("""SELECT score FROM town_index_history WHERE ags = '01053090'
                                    AND score IS NOT NULL ORDER BY period DESC LIMIT 1""").fetchone()
    assert f"Index {de(score)}" in out and f"{score:.1f}" not in out  # the newest score (a provisional year's)
    assert main(["profile", "Mölln"]) == 0 and capsys.readouterr().out == out  # the English alias is the same


def test_profile_says_what_a_zero_means_as_the_page_does(cli_env, warehouse, capsys):
    """Wittenberge's 0 car minutes to the next IC/ICE station stood bare in `readiness profil`; the town page says the
    station is in the town (catalogue zero_de; planner's review of 6 December 2026)."""
    assert warehouse.execute("""SELECT count(*) FROM town_profile WHERE ags = '12070424'
        AND indicator_id = 'ic_ice_station_car_minutes' AND value = 0""").fetchone()[0]
    assert main(["profil", "12070424"]) == 0
    lines = capsys.readouterr().out.splitlines()
    first = next(i for i, line in enumerate(lines) if "Pkw-Fahrzeit zum" in line and re.search(r"│ +0,0 │", line))
    words = " ".join(line.split("│")[-2].strip() for line in lines[first:first + 3])  # its Hinweis, wrapped
    assert words.startswith("IC/ICE-Halt in der Gemeinde"), words


def test_misspelt_town_gets_a_suggestion(cli_env, warehouse, capsys):
    moelln = ags_of(warehouse, "Mölln,")
    for typo in ["Möln", "Moeln", "Mlln", "Mölnn"]:
        with pytest.raises(AmbiguousTown) as error:
            resolve(warehouse, typo)
        assert moelln in [t.ags for t in error.value.candidates], typo
        assert "Meinten Sie" in str(error.value)
    assert main(["profil", "Möln"]) == 2
    err = capsys.readouterr().err
    assert "Keine Gemeinde heißt 'Möln'. Meinten Sie:" in err and f"{moelln}  Mölln, Stadt" in err
    with pytest.raises(AmbiguousTown) as error:  # "Diesen": the first word of Dießen am Ammersee, misspelt
        resolve(warehouse, "Diesen")
    assert [t.name for t in error.value.candidates] == ["Dießen am Ammersee, M"]


def test_prefix_inside_a_word_is_not_taken_silently(cli_env, warehouse, capsys):
    # The snapshot has Wittenberge but not Lutherstadt Wittenberg: "Wittenberg" must not become Wittenberge.
    wittenberge = ags_of(warehouse, "Wittenberge")
    assert not warehouse.execute("SELECT 1 FROM municipalities WHERE name LIKE 'Wittenberg,%'").fetchall()
    with pytest.raises(AmbiguousTown) as error:
        resolve(warehouse, "Wittenberg")
    assert [t.ags for t in error.value.candidates] == [wittenberge]
    assert main(["profil", "Wittenberg"]) == 2
    assert "Meinten Sie" in capsys.readouterr().err
    # a prefix ending at a word boundary is still enough, when no other town has it as a whole word
    assert resolve(warehouse, "Oestrich").name == "Oestrich-Winkel, Stadt"
    assert resolve(warehouse, "Wittenberge").ags == wittenberge


def test_a_word_of_several_names_lists_them(warehouse):
    names = {n for (n,) in warehouse.execute("SELECT name FROM municipalities WHERE name LIKE '%am Ammersee%'").fetchall()}
    assert len(names) >= 3
    with pytest.raises(AmbiguousTown) as error:
        resolve(warehouse, "am Ammersee")
    assert {t.name for t in error.value.candidates} == names
    assert resolve(warehouse, "Ammersee").name == "Ammersee"  # the gemeindefreie Gebiet: an exact name wins


def test_wittenberg_on_the_full_register(full_data):
    """On the Germany-wide Gemeindeverzeichnis "Wittenberg" is Lutherstadt Wittenberg, never Wittenberge."""
    from sources.destatis_gv import parse_release
    from sources.registry import Release, ReleaseFile

    path = full_data / "destatis-gemeindeverzeichnis" / "AuszugGV4QAktuell_2024.xlsx"
    register = parse_release(Release("destatis_gemeindeverzeichnis", "2024",
                                     [ReleaseFile("workbook", path, path.name, "", 0)]))["register"]
    con = duckdb.connect()
    con.register("register_frame", register[["ags", "name", "kreis_name"]])
    con.execute("CREATE TABLE municipalities AS SELECT * FROM register_frame")
    assert resolve(con, "Wittenberg").ags == "15091375"  # "Wittenberg, Lutherstadt"
    assert resolve(con, "Lutherstadt Wittenberg").ags == "15091375"
    assert resolve(con, "Wittenberge").ags == "12070424"
    with pytest.raises(AmbiguousTown) as error:
        resolve(con, "Möln")
    assert "01053090" in [t.ags for t in error.value.candidates]
    with pytest.raises(AmbiguousTown) as error:  # Germany has two: Mölln, Stadt and Mölln (Mecklenburg)
        resolve(con, "Mölln")
    assert sorted(t.ags for t in error.value.candidates) == ["01053090", "13071102"]
    assert resolve(con, "Mölln, Stadt").ags == "01053090"  # the full name with its suffix picks one


def test_summary_is_german(cli_env, capsys):
    from cli.summary import print_summary

    print_summary(cli_env)
    out = capsys.readouterr().out
    assert "Pilotstädte, veröffentlichtes Jahr" in out and "Zeilen" in out
    assert "not scored" not in out  # the index note in German
    # offline no town has coworking data: the note counts every town of the published year
    line = next(line for line in out.splitlines() if "Säule Lokale Arbeitsinfrastruktur nicht bewertet bei" in line)
    counted, total = re.search(r"bei ([\d.]+) von ([\d.]+) Kleinstädten", line).groups()
    assert counted == total
    header = next(line for line in out.splitlines() if line.startswith("Gemeinde"))
    assert "Coworking" in header.split()  # the optional pillar has its column in the pilot table
    # every pillar's column, headed by the catalogue's short name in its order (the CLI had its own list)
    from indicators.catalogue import load_catalogue

    shorts = [spec["short_de"] for spec in load_catalogue().pillars.values()]
    assert " ".join(shorts) in " ".join(header.split())


def test_console_script_profile_by_ags(cli_env, warehouse):
    ags = ags_of(warehouse, "Wittenberge")
    done = subprocess.run([str(READINESS), "profile", ags], capture_output=True, text=True,
                          env={**os.environ}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Wittenberge, Stadt" in done.stdout and ags in done.stdout


def test_report_needs_a_town_or_all(cli_env, capsys):
    assert main(["report"]) == 2
    assert "--all" in capsys.readouterr().err
    assert main(["report", "Wentorf"]) == 2  # ambiguity is reported before any report is built
    assert "passt zu mehreren Gemeinden" in capsys.readouterr().err


def test_report_of_a_town_by_name(cli_env, warehouse, tmp_path, capsys):
    ags = ags_of(warehouse, "Oestrich-Winkel")
    assert main(["report", "oestrich", "--out", str(tmp_path)]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path == tmp_path / f"{ags}.html"
    assert "Oestrich-Winkel" in path.read_text(encoding="utf-8")


def test_report_all_to_the_reports_dir(cli_env, warehouse, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("READINESS_REPORTS_DIR", str(tmp_path / "reports"))
    assert main(["report", "--all", "--no-progress"]) == 0
    (towns,) = warehouse.execute("SELECT count(*) FROM municipalities").fetchone()
    pages = sorted(p.name for p in (tmp_path / "reports").glob("*.html"))
    # the town pages, index, network and the coworking-gap ranking (not counted as a page, as the maps)
    assert len(pages) == towns + 3 and {"index.html", "netzwerk.html", "coworking-luecke.html"} <= set(pages)
    assert f"{towns + 2} Seiten" in capsys.readouterr().out


def test_demo_runs_the_job_on_a_persistent_instance(tmp_path):
    """`readiness demo` as a user runs it: the run lands in DAGSTER_HOME and the summary is printed."""
    env = {**os.environ, "DAGSTER_HOME": str(instance_home(tmp_path / "dagster_home")), "COLUMNS": "200",
           "READINESS_WAREHOUSE": str(tmp_path / "readiness.duckdb"), "READINESS_RAW_DIR": str(tmp_path / "raw"),
           "READINESS_REPORTS_DIR": str(tmp_path / "reports")}
    env.pop("READINESS_SOURCE_MODE", None)
    done = subprocess.run([str(READINESS), "demo"], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    steps = len(defs.resolve_job_def("refresh_warehouse").graph.node_dict)
    assert f"{steps}/{steps}" in done.stdout  # the progress bar reached every step
    assert "Pilotstädte, veröffentlichtes Jahr" in done.stdout
    assert (tmp_path / "dagster_home" / "dagster.yaml").resolve() == Path(__file__).parents[2] / "dagster.yaml"
    with DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
        runs = instance.get_runs()  # newest first: the sources observed, then everything built (fresh instance)
        assert [(r.job_name, r.is_success) for r in runs] == [("refresh_warehouse", True), ("observe_sources", True)]
    # again with nothing changed: the sources are observed, no refresh run, the summary still printed
    again = subprocess.run([str(READINESS), "demo", "--no-progress"], capture_output=True, text=True, env=env,
                           timeout=600)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "readiness: nothing changed since " in again.stdout and "Pilotstädte, veröffentlichtes Jahr" in again.stdout
    with DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
        assert [r.job_name for r in instance.get_runs()] == ["observe_sources", "refresh_warehouse", "observe_sources"]
    with duckdb.connect(str(tmp_path / "readiness.duckdb"), read_only=True) as con:
        name, score = con.execute("""SELECT name, score FROM town_index_history WHERE ags IN
                                     (SELECT ags FROM municipalities WHERE is_pilot) AND score IS NOT NULL
                                     AND period = (SELECT max(period) FROM latest_ranking)
                                     ORDER BY score DESC LIMIT 1""").fetchone()
    assert any(name in line and de(score) in line for line in done.stdout.splitlines())


def test_demo_relinks_a_dangling_instance_file(tmp_path, monkeypatch):
    """A DAGSTER_HOME whose dagster.yaml links to a file that is gone (a moved clone) is relinked."""
    from cli.demo import prepare_dagster_home

    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").symlink_to(tmp_path / "gone" / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert prepare_dagster_home() == home
    assert (home / "dagster.yaml").resolve() == Path(__file__).parents[2] / "dagster.yaml"


@pytest.mark.parametrize("name", ["../ausserhalb.html", "unter/ordner.html", "vergleich.htm", ".versteckt.html"])
def test_compare_page_name_must_be_a_plain_html_file_name(cli_env, tmp_path, capsys, name):
    # the page's downloads go beside it into --ziel: a path in --name wrote the page elsewhere, its links broken
    target = tmp_path / "ziel"
    assert main(["vergleich", "Mölln", "Wittenberge", "--ziel", str(target), "--name", name]) == 2
    assert "--name" in capsys.readouterr().err
    assert not any(tmp_path.rglob("*.htm*"))
