"""Recorded and rebuilt GENESIS REST responses for the test server.

* ``real_example``: the real responses in ``../shared/data/genesis-api-examples`` (a
  ``data/tablefile`` zip of table 61111-0001 and its csv member), when that folder exists.
* ``population_ffcsv``: table 12411-01-01-5 (Bevölkerungsstand, regionalvariable GEMEIN)
  in the real ffcsv layout (BOM, ``;``, the header of the real file, German labels),
  filled with the REAL population of every Gemeinde of the five pilot Kreise on 31.12.2021
  and 31.12.2023 read from the committed Gemeindeverzeichnis snapshot. Invented are only the
  rows with the marker ``-`` (2022: the snapshot has no 2022 figure) and the footer line.
* JSON envelopes in the shape of the real metadata response (Ident, Status{Code,
  Content, Type}, Parameter with masked credentials, Copyright). Their Status texts are
  written after source-formats.md 3.5, not recorded.
"""

from __future__ import annotations

import functools
import io
import json
import zipfile
from pathlib import Path

from sources import destatis_gv
from sources.registry import SNAPSHOT_DIR, discover_releases, load_sources

EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "genesis-api-examples"
REAL_ZIP = "genesis_tablefile_61111-0001_en_flat.zip"
REAL_CSV = "61111-0001_1771439236084_en_flat.csv"
PILOT_TOWNS = ["01053090", "06439012", "09181114", "12070424", "14628060"]
PILOT_KREISE = {ags[:5] for ags in PILOT_TOWNS}
POPULATION_TABLE = "12411-01-01-5"
JOB_ID = "12411-01-01-5_123456789"
HEADER = ("statistics_code;statistics_label;time_code;time_label;time;1_variable_code;1_variable_label;"
          "1_variable_attribute_code;1_variable_attribute_label;2_variable_code;2_variable_label;"
          "2_variable_attribute_code;2_variable_attribute_label;value;value_unit;value_variable_code;"
          "value_variable_label")
SEXES = [("", "Insgesamt", "population_total"), ("GESM", "männlich", "population_male"),
         ("GESW", "weiblich", "population_female")]


def real_example(name: str) -> bytes:
    """Bytes of a real recorded response; FileNotFoundError on a clone without ../shared."""
    return (EXAMPLES / name).read_bytes()


@functools.cache
def population_ffcsv() -> bytes:
    """The 12411-01-01-5 ffcsv (UTF-8 with BOM): every Gemeinde of the pilot Kreise, 2021 and 2023 by sex, and 2022
    with the marker '-' (a table of regionalkey '*' is complete: the contract compares it with the registers)."""
    releases = {r.vintage: r for r in discover_releases(load_sources()["destatis_gemeindeverzeichnis"], SNAPSHOT_DIR)}
    lines = [HEADER]
    for vintage in ("2021-12-31", "2023-12-31"):
        parsed = destatis_gv.parse_release(releases[vintage])
        names = parsed["register"].set_index("ags")["name"]
        values = parsed["observations"].set_index(["ags", "measure"])["value"]
        for ags in sorted(a for a in names.index if a[:5] in PILOT_KREISE):
            for code, label, measure in SEXES:
                lines.append(_row(vintage, ags, names[ags], code, label, str(int(values[ags, measure]))))
            if vintage == "2021-12-31":
                lines.append(_row("2022-12-31", ags, names[ags], "", "Insgesamt", "-"))
    lines.append("© Statistische Ämter des Bundes und der Länder, Deutschland, 2025 | Stand: 17.03.2025")
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")


def _row(date: str, ags: str, name: str, sex: str, sex_label: str, value: str) -> str:
    return (f"12411;Fortschreibung des Bevölkerungsstandes;STAG;Stichtag;{date};GEMEIN;Gemeinden;{ags};{name};"
            f"GES;Geschlecht;{sex};{sex_label};{value};Anzahl;BEVSTD;Bevölkerungsstand")


def zipped(member: str, data: bytes) -> bytes:
    """A one-member zip as data/tablefile and data/resultfile send it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(member, data)
    return buffer.getvalue()


def envelope(code: int, content: str, kind: str = "Information", method: str = "tablefile",
             service: str = "data", parameters: dict | None = None, **extra) -> str:
    """A JSON envelope like the real metadata response; credentials masked as the server does."""
    body = {
        "Ident": {"Service": service, "Method": method},
        "Status": {"Code": code, "Content": content, "Type": kind},
        "Parameter": {"username": "********************", "password": "********************",
                      **(parameters or {"name": POPULATION_TABLE, "area": "all", "language": "de"})},
        "Object": None,
        **extra,
        "Copyright": "© Statistisches Bundesamt (Destatis), 2026",
    }
    return json.dumps(body, ensure_ascii=False, indent=4)


def too_big_98() -> str:
    return envelope(98, "Die Tabelle ist zu groß für einen direkten Abruf. Bitte starten Sie einen "
                        "Hintergrundauftrag (job=true).", "Warnung")


def job_created_99(job_id: str = JOB_ID) -> str:
    return envelope(99, "Der Bearbeitungsauftrag wurde erstellt. Die Tabelle kann in Kürze als Ergebnis mit "
                        f"folgendem Namen abgerufen werden: {job_id}", "Information")


def nothing_found_104(method: str = "tablefile", service: str = "data") -> str:
    return envelope(104, "Es gibt keine Objekte zum angegebenen Selektionskriterium", "Fehler", method, service)


def table_missing_90() -> str:
    return envelope(90, "Die Tabelle ist nicht vorhanden.", "Fehler")


def too_many_parallel_6() -> str:
    return envelope(6, "Es gibt zu viele parallele Anfragen. Bitte versuchen Sie es später erneut.", "Fehler")


def results_list(job_id: str = JOB_ID, done: bool = True) -> str:
    """catalogue/results for the job: listed when done, otherwise Code 104 with no List."""
    parameters = {"selection": job_id, "area": "user", "pagelength": "1", "language": "de"}
    if not done:
        return envelope(104, "Es gibt keine Objekte zum angegebenen Selektionskriterium", "Fehler", "results",
                        "catalogue", parameters, List=None)
    listed = [{"Code": job_id, "Content": "Fortschreibung des Bevölkerungsstandes", "Values": "31",
               "Date": "18.02.2026", "Time": "19:27:16h"}]
    return envelope(0, "erfolgreich", "Information", "results", "catalogue", parameters, List=listed)


def login_failure(username: str = "someone") -> str:
    """The real shape of a failed login (helloworld/logincheck, HTTP 200); it echoes the user name."""
    return json.dumps({"Status": "Ein Fehler ist aufgetreten. (Bitte prüfen und korrigieren Sie Ihren "
                                 "Nutzernamen bzw. das Passwort.)", "Username": username}, ensure_ascii=False)


def maintenance_page() -> str:
    return ("<!DOCTYPE html>\n<html lang=\"de\"><head><title>Wartungsarbeiten</title></head>\n<body><h1>"
            "Wegen Wartungsarbeiten ist GENESIS-Online vorübergehend nicht erreichbar.</h1></body></html>\n")
