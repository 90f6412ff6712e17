"""The tables of the report pages as row dicts with German headers, for the downloads (reports/downloads.py).

Built from the same context dicts the templates render, so a download holds what the page shows
(numbers unrounded, as in the warehouse, but for the overall score, the pillar scores and differences of scores as
published, one decimal: the ranks compare that score, so towns with the same rank have the same Indexwert; a town's
indicator values, their Kreis, Land and Bund values and the reference group's median at the decimals their unit is
published with, catalogue units value_decimals: a value restated onto today's territory is stored at full float
precision, a median of two values has a decimal more; and the share carried forward at CARRIED_DECIMALS)."""

from __future__ import annotations

from reports.downloads import Table, shown
from reports.labels import (CATALOGUE, PILLARS, VALUE_DECIMALS, berlin_time, date_de, de_rank_band, feature_dates_de,
                            gap_shown, imputed_share_of_score, pillar_label, published_score, published_value,
                            rank_shown, score_gap, shown_number, vintage_label)


def _score(value):
    """A score, a pillar score or a gap of them as the page shows it: rounded, and written with its decimal (60,0)."""
    return shown(published_score(value), CATALOGUE.score_decimals)


def _gap(value):
    """A gap already rounded as shown (``score_gap``, ``gap_shown``), written with the score's decimal."""
    return shown(value, CATALOGUE.score_decimals)


def _value(indicator_id: str, value):
    """An indicator value at its unit's decimals, written with them (38,10 minutes, not 38,1)."""
    return shown(published_value(indicator_id, value), VALUE_DECIMALS.get(indicator_id))


CARRIED_DECIMALS = 1  # the share of a score's weight carried forward, in %: the pages show it without a decimal


def carried_percent(share) -> float | None:
    """The share of a score's weight resting on carried-forward values (0-1) as the downloads write it: in %, at
    CARRIED_DECIMALS, written with them (50,0); None where there is none."""
    return None if share is None else shown(shown_number(100 * share, CARRIED_DECIMALS), CARRIED_DECIMALS)


def _yes(value) -> str:
    return "ja" if value else "nein"


def _has_band(row: dict) -> bool:
    return all(row.get(k) is not None for k in ("rank", "rank_p05", "rank_p95"))


def _elsewhere_de(row: dict, context: dict) -> str:
    """The page's note for an indicator without a value in the headline period (reports.context.indicator_sections)."""
    period = context["indicators_period"]
    if period is None or row["period"] == period:
        return ""
    provisional = ", vorläufig" if row.get("provisional_year") else ""  # the index flags the year (reports.context)
    return f"kein Wert für {period}, nicht im Indexwert {period}{provisional}"


def _commuting_totals(commuting: dict) -> dict:
    """The Kreis's totals the page states above its flows ("X von Y Beschäftigten mit Wohnort im Kreis arbeiten
    außerhalb"), empty where the page states none: a download of the flows alone read as if they were all."""
    known = commuting.get("out_commuters") is not None and bool(commuting.get("employees"))
    return {"Auspendler aus dem Kreis insgesamt": commuting["out_commuters"] if known else None,
            "Beschäftigte mit Wohnort im Kreis": commuting["employees"] if known else None}


def town_tables(context: dict, releases: list[dict], releases_rows: Table | None = None) -> list[Table]:
    """Every table of a town page. ``releases_rows``: ``releases_table(releases)`` built once for many
    pages (the same table on every page; its CSV is then formatted once too, see downloads.csv_bytes)."""
    town = context["town"]
    rows = context["indicators"] + context["indicators_elsewhere"]
    former_refs, without_refs, moved_refs = (any(r.get(f"ref_kreis_{k}") for r in rows)
                                             for k in ("former", "without", "moved"))
    tables = [
        Table("indexverlauf", "Indexverlauf", [{
            "AGS": town["ags"], "Gemeinde": town["name"], "Jahr": r["period"],
            "Indexwert": _score(r["score"]), "Band 5 %": _score(r["score_p05"]),
            "Band 95 %": _score(r["score_p95"]), "Rang": r["rank"],
            "Rangband 5 %": rank_shown(r["rank_p05"]), "Rangband 95 %": rank_shown(r["rank_p95"]),
            # the page's "Rang außerhalb" (reports.context.rank_outside_band); empty where there is no rank or band
            "Rang außerhalb des Rangbands": _yes(r["outside_band"]) if _has_band(r) else None,
            # a year without a rank compared no towns: empty, as the page's "–" (it was 0)
            "verglichene Städte": r["compared_towns"] if r["rank"] is not None else None,
            # the share of the score's weight resting on carried-forward values (not of the values)
            "Gewichtsanteil fortgeschriebener Werte (%)": carried_percent(r["imputed_share"]),
            "vorläufig": _yes(r["provisional"]),
            # the score rests on other indicators than the headline year's (reports.context.composition_de)
            "Vergleichbarkeit": r["composition_de"] or None, "Datenstand": r["data_dates"],
            "fehlende Säulen": ", ".join(r["missing"]) or None} for r in context["history"]["rows"]]),
        Table("saeulen", "Säulen", [{
            # at the score's published decimal, as the page and the planner exports show them (ten decimals before)
            "Jahr": context["summary"]["period"], "Säule": p["label"], "Wert (0–100)": _score(p["value"]),
            "Median Vergleichsgruppe": _score(p["median"]),
            "Hinweis": p["reason"]} for p in context["pillars"]]),
        Table("treiber", "Treiber", [{
            "von": d["period_from"], "bis": d["period_to"], "Indikator": r["label"], "Säule": r["pillar_label"],
            "Wert von": _value(r["indicator_id"], r["value_from"]),
            "Wert bis": _value(r["indicator_id"], r["value_to"]), "Beitrag (Punkte)": r["contribution"],
            # the year alone where the publisher gives no day (reports.labels.date_de)
            "Stichtag von": date_de(r.get("date_from"), r["indicator_id"], r.get("source_from")),
            "Stichtag bis": date_de(r.get("date_to"), r["indicator_id"], r.get("source_to")),
            "Hinweis": "; ".join(t for t in (r["marks_from_de"] and f"von: {r['marks_from_de']}",
                                             r["marks_to_de"] and f"bis: {r['marks_to_de']}") if t) or None}
            for d in context["drivers"] for r in d["rows"]]),
        Table("indikatoren", "Indikatoren", [{
            "AGS": town["ags"], "Indikator": r["label"], "Säule": r["pillar_label"],
            "Wert": _value(r["indicator_id"], r["value"]),
            "Einheit": r["unit_de"], "Jahr": r["period"], "Kreis": _value(r["indicator_id"], r.get("ref_kreis")),
            # whose the Kreis value is where the publisher gives a former Kreis's (a column where a row has one)
            **({"Kreiswert des früheren Kreises": r.get("ref_kreis_former")} if former_refs else {}),
            # a part of today's Kreis the Kreis value leaves out (the publisher gives it apart on that day)
            **({"Kreiswert ohne": r.get("ref_kreis_without")} if without_refs else {}),
            # parts of the town that lay in another Kreis on the Kreis value's day (kreis_moves): counted there
            **({"Kreiswert: Teile der Gemeinde": r.get("ref_kreis_moved")} if moved_refs else {}),
            "Land": _value(r["indicator_id"], r.get("ref_land")),
            "Bund": _value(r["indicator_id"], r.get("ref_bund")),
            "Stichtag Kreis/Land/Bund, wo abweichend": r.get("reference_dates_de") or None,
            # the value's published decimals: a median of two values (161,62195 for four) wrote a decimal more
            "Median Vergleichsgruppe": _value(r["indicator_id"], r.get("ref_group")), "Quelle": r["source_de"],
            "Stand": r["vintage_de"], "Stichtag": date_de(r["reference_date"], r["indicator_id"], r.get("source_id")),
            "fortgeschrieben": _yes(r["imputed"]),
            "Hinweis": "; ".join(t for t in (r.get("zero_de"), r["imputation_de"], r["quality_de"],
                                             _elsewhere_de(r, context)) if t)}
            for r in context["indicators"] + context["indicators_elsewhere"]]),
        Table("vergleichsstaedte", "Vergleichsstädte", [{
            "Jahr": r["period"], "Nr.": r["rank"], "Stadt": r["peer_name"], "AGS": r["peer_ags"],
            "Kreis": r["peer_kreis"],
            "Ähnlichkeit": r["similarity"],
            # the dates of the two towns' structure features the similarity compares, as the page's note
            "Stichtage der Strukturmerkmale": feature_dates_de([r]), "Indexwert": _score(r["peer_score"]),
            # peer minus town, with a score's decimals: the unrounded gap wrote -7.1e-15 for two equal pillars
            "Abstand (Vergleichsstadt − Gemeinde)": _gap(score_gap(r["peer_score"], r["score"])),
            **{f"Abstand {pillar_label(p)} (Vergleichsstadt − Gemeinde)": _gap(gap_shown(r[f"gap_{p}"]))
               for p in PILLARS},
            "Von ihr lernen bei": ", ".join(r["ahead_in"]) or None} for r in context["peers"]]),
        commuting_table(context["commuting"]),
        Table("coworking", "Coworking", [{
            "Name": r["name"], "Lage": r["distance_de"], "Betreiber": r["operator"], "Website": r["website_url"],
            "Quelle": r["source_de"], "Nicht gezählt, geöffnet": r["open_de"]}
            for r in context["coworking"]["rows"]]),
        mobile_table(context["mobile"]),
        releases_rows if releases_rows is not None else releases_table(releases),
    ]
    return tables


def commuting_table(commuting: dict) -> Table:
    """The Pendlerströme download: the flows of the Kreis the section shows, with the totals and notes the page
    states above them."""
    gone = any(r.get("work_today") for r in commuting["rows"])  # a destination that is no Kreis of today
    return Table("pendlerstroeme", "Pendlerströme", [{
        "Wohnort (Kreis-AGS)": commuting["shown_kreis"], "Arbeitsort (Kreis)": r["work_name"],
        "Arbeitsort (Kreis-AGS)": r["work_kreis"],
        # where such a destination lies now (Eisenach, 16056: Wartburgkreis), a column for every row where one has it
        **({"Arbeitsort heute (Kreis)": r["work_today"]} if gone else {}),
        "Auspendler": r["commuters"],
        # the page's sentence above the table: the rows are the main destinations, not all out-commuters
        **_commuting_totals(commuting),
        "Stichtag": date_de(r["reference_date"]), "Hinweis": r["note_de"],
        # the page's sentence on what territory the figures cover, where it is not today's Kreis
        **_territory(commuting)} for r in commuting["rows"]])


def mobile_table(mobile: dict) -> Table:
    """The Mobilfunk download: the values of the Kreis the section shows, with the page's note on its territory."""
    return Table("mobilfunk", "Mobilfunk im Kreis", [{
        "Kreis-AGS": mobile["shown_kreis"], "Flächenart": r["area"],
        **{f"{t} (% der Fläche)": v for t, v in zip(mobile["technologies"], r["values"])},
        "Stichtag": date_de(mobile["reference_date"]), **_territory(mobile)} for r in mobile["rows"]])


def _territory(section: dict) -> dict:
    """A Kreis section's "Gebiet" cell: what territory its figures cover where it is not today's Kreis (the page's
    sentence, ``reports.context.kreis_territory``), and the "Teile der Gemeinde" cell where parts of the town lay in
    another Kreis then (``moved_parts_de``); no column otherwise."""
    return {**({"Gebiet": section["territory_de"]} if section.get("territory_de") else {}),
            **({"Teile der Gemeinde": section["moved_de"]} if section.get("moved_de") else {})}


def releases_table(releases: list[dict]) -> Table:
    return Table("datenstand", "Datenstand", [{
        "Quelle": r["label"], "Herausgeber": r["publisher"], "Neuester Stand": vintage_label(r["vintage"]),
        # a cell says a year is a year, as the Stichtag cells do
        "Daten bis": (f"Bezugsjahr {r['data_date_de']}" if r.get("data_year_only") and r.get("data_date_de")
                      else r.get("data_date_de")),
        "Stände": r["vintages"], "Neuer Stand fällig": date_de(r.get("due")),
        "überfällig": None if r.get("due") is None else ("ja" if r.get("overdue") else "nein"),
        "Eingelesen": berlin_time(r["ingested_at"]), "Quellenangabe": r["attribution_de"],
        "Lizenz": r["licence"]} for r in releases])


def comparison_tables(towns: list[dict], indicator_ids: list[tuple[str, str]], units: dict | None = None,
                      medians: dict | None = None) -> list[Table]:
    """The side-by-side table of the comparison page, one row per figure and one column per town, and the
    reference group's median as the page's last column (``medians``: pillar id, "score" or indicator id -> median):
    what the page shows, with the age of each value (the rank band, the Datenstand and the share of carried-forward
    values, and per indicator its unit, reference date, whether it is carried forward and the Kreis value), so a
    download is not read as current where the page says it is not."""
    medians = medians or {}

    def row(label: str, cell, median=None) -> dict:
        return {"Merkmal": label, **{t["town"]["name"]: cell(t) for t in towns}, MEDIAN_COLUMN: median}

    def latest(key: str):
        return lambda t: t["latest"] and t["latest"][key]

    def age(i: str):
        def cell(t) -> str | None:
            value = t["indicators"].get(i)
            return value and ", ".join(filter(None, [date_de(value["reference_date"], i, value.get("source_id")),
                                                     "fortgeschrieben" if value["imputed"] else None]))
        return cell

    def note(i: str):
        def cell(t) -> str | None:
            # what exactly 0 means (catalogue zero_de: "IC/ICE-Halt in der Gemeinde"), as beside the value on the
            # pages; why a value shown is not scored ("nicht bewertet: …"), as on the town page. The zero's meaning
            # stood in the Stichtag row (planner's review of 6 December 2026)
            value = t["indicators"].get(i) or {}
            return "; ".join(filter(None, [value.get("zero_de"),
                                           value.get("quality_de") if value.get("excluded_reason") else None])) or None
        return cell

    def field(i: str, key: str):  # a figure of the town's indicator i (its value, date, Kreis value, ...)
        return lambda t: (t["indicators"].get(i) or {}).get(key)

    def carried(t) -> float | None:  # a year without a score has no such share (Tangstedt showed 0 %), as on the page
        return carried_percent(imputed_share_of_score(t["latest"] or {}))

    def tied(t) -> int | None:
        return None if not t["latest"] or t["latest"]["rank"] is None else (t["latest"]["tied_towns"] or 1) - 1

    rows = [row("AGS", lambda t: t["town"]["ags"]), row("Kreis", lambda t: t["town"]["kreis_cell"]),
            row("Land", lambda t: t["town"]["land"]), row("Einwohner", lambda t: t["town"]["population"]),
            # the population's own date: beside "Jahr 2021" a count of 31.12.2023 read as one of 2021 (review of
            # 6 December 2026), as the index page's "Einwohner Stichtag"
            row("Einwohner Stichtag", lambda t: date_de(t["town"].get("population_date"))),
            row("Jahr", latest("period")),
            row("Indexwert", lambda t: t["latest"] and _score(t["latest"]["score"]),
                _score(medians.get("score"))),
            row("Rang", latest("rank")), row("verglichene Gemeinden", latest("compared_towns")),
            row("Rang geteilt mit (weitere Gemeinden)", tied),
            row("Rangband 5–95 %", lambda t: de_rank_band((t["latest"] or {}).get("rank_p05"),
                                                          (t["latest"] or {}).get("rank_p95"))),
            row("Datenstand", lambda t: t["data_dates"] or None),
            row("Gewichtsanteil fortgeschriebener Werte (%)", carried)]
    rows += [row(pillar_label(p), lambda t, p=p: t["latest"] and _score(t["latest"][p]),
                 _score(medians.get(p))) for p in PILLARS]
    for i, label in indicator_ids:
        unit = (units or {}).get(i)
        rows.append(row(with_unit(label, unit), lambda t, i=i: _value(i, field(i, "value")(t)),
                        _value(i, medians.get(i))))
        rows.append(row(f"{label}: Stichtag", age(i)))
        if any(note(i)(t) for t in towns):
            rows.append(row(f"{label}: Hinweis", note(i)))
        kreis, kreis_date, own_date = field(i, "ref_kreis"), field(i, "ref_kreis_date"), field(i, "reference_date")
        if any(kreis(t) is not None for t in towns):  # the publisher's value for the town's Kreis, as on the page
            rows.append(row(f"{label}: Kreis", lambda t, i=i, kreis=kreis: _value(i, kreis(t))))
            if any(field(i, "ref_kreis_former")(t) or field(i, "ref_kreis_without")(t) or field(i, "ref_kreis_moved")(t)
                   for t in towns):
                rows.append(row(f"{label}: Kreiswert für", lambda t, i=i: kreis_value_of(t["indicators"].get(i))))
            if any(kreis(t) is not None and kreis_date(t) != own_date(t) for t in towns):
                rows.append(row(f"{label}: Stichtag Kreis",
                                lambda t, i=i: date_de(kreis_date(t), i, field(i, "source_id")(t))))
    return [Table("vergleich", "Vergleich", rows)]


def kreis_value_of(row: dict | None, short: bool = False) -> str | None:
    """Whose the Kreis value is where it is not today's Kreis as a whole: the comparison page and its download say it
    alike ('Kreis ohne Eisenach (16056)', 'Kreis ohne Lichte (16073049) …, die am … noch im … lagen und heute zur
    Gemeinde gehören'); ``short``: the parts of the town as 'ohne Teile der Gemeinde' (the page's cell beside the
    value; the download names them)."""
    if not row or row.get("ref_kreis") is None:
        return None
    if row.get("ref_kreis_former"):
        return f"früherer Kreis {row['ref_kreis_former']}"
    moved = row.get("ref_kreis_moved") and ("ohne Teile der Gemeinde" if short else row["ref_kreis_moved"])
    notes = [f"ohne {row['ref_kreis_without']}" if row.get("ref_kreis_without") else None, moved]
    return "Kreis " + "; ".join(n for n in notes if n) if any(notes) else None


MEDIAN_COLUMN = "Median der Vergleichsgruppe"


def names_unit(label: str, unit: str | None) -> bool:
    """Whether an indicator's label names its unit already ("Bevölkerungsentwicklung, ca. 10 Jahre (% pro Jahr)")."""
    return bool(unit) and f"({unit})" in label


def with_unit(label: str, unit: str | None) -> str:
    """An indicator's label with its unit in brackets, unless the label names it already."""
    return f"{label} ({unit})" if unit and not names_unit(label, unit) else label


def index_table(rows: list[dict]) -> Table:
    return Table("gemeinden", "Gemeinden", [{
        "AGS": r["ags"], "Gemeinde": r["name"], "Kreis": r["kreis_name"], "Land": r["land"],
        "Einwohner": r["population"], "Einwohner Stichtag": date_de(r.get("population_date")), "Jahr": r["period"],
        "Indexwert": _score(r["score"]),
        "Rang": r["rank"],
        "Rang geteilt mit (weitere Gemeinden)": None if r["rank"] is None else (r["tied_towns"] or 1) - 1,
        "Pilotstadt": _yes(r["is_pilot"]),
        # a town outside the group has a score but no rank: sorted by score it stood among the ranked ones unmarked
        "in der Vergleichsgruppe": _yes(r["in_reference_group"]),
        # a town of the reference group without a score in the year: why (reports.build.unscored_de)
        "Hinweis": f"ohne Indexwert: {r['unscored_de']}" if r.get("unscored_de") else None} for r in rows])
