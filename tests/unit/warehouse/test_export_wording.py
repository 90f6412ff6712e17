"""What the German exports say about their numbers (review of the Germany-wide build of 5 December): the header of
``imputed_share`` names the share of the score's weight, the peers' gaps carry the scores' decimals and say their
sign."""

from __future__ import annotations

import duckdb
import openpyxl
import pandas as pd

from indicators.catalogue import load_catalogue
from warehouse import exports

PILLARS = list(load_catalogue().pillars)


def test_the_carried_forward_share_is_named_as_a_share_of_the_scores_weight():
    """imputed_share is the share of the score's weight resting on carried-forward values (docs/data-dictionary.md),
    not the share of the values carried forward ("Anteil fortgeschriebener Werte" said the latter)."""
    header = exports.GERMAN_HEADERS["imputed_share"]
    assert header.startswith("Gewichtsanteil fortgeschriebener Werte") and "Indexwert" in header, header
    assert "(0–1)" in header


def peers() -> pd.DataFrame:
    """Two peer rows as peer_comparison holds them: gaps peer minus town, full precision, one of them float noise
    where the two pillar scores are equal (Stadtsteinach and Dollnstein, Pendelpotenzial, on the full data)."""
    return pd.DataFrame({
        "ags": ["09477151", "09176123"], "peer_ags": ["09176123", "09477151"],
        "score": [48.31, 48.05208333333334], "peer_score": [48.05208333333334, 48.31],
        "gap_score": [-0.25791666666665947, 0.25791666666665947],
        **{f"gap_{pillar}": [1.2345678, -1.2345678] for pillar in PILLARS},
        "gap_commuting_potential": [-7.105427357601002e-15, 7.105427357601002e-15],
    })


def test_peer_gaps_have_the_decimals_of_the_scores_and_no_float_noise(tmp_path):
    """peer_comparison.csv had "Abstand Pendelpotenzial" = -7,1054273576e-15 (twelve significant digits of a
    difference that is zero): each gap is written with the published decimals of a score (score_decimals)."""
    digits = load_catalogue().score_decimals
    con = duckdb.connect()
    con.register("p", peers())
    exports.write_german_csv(con, "SELECT * FROM p", tmp_path / "p.csv")
    back = pd.read_csv(tmp_path / "p.csv", sep=";", keep_default_na=False, dtype=str)
    commuting = exports.GERMAN_HEADERS["gap_commuting_potential"]
    assert back[commuting].tolist() == ["0,0", "0,0"]  # not -7,1054273576e-15, nor -0,0
    for pillar in PILLARS:
        if pillar != "commuting_potential":
            assert back[exports.GERMAN_HEADERS[f"gap_{pillar}"]].tolist() == ["1,2", "-1,2"], pillar
    for column in [exports.GERMAN_HEADERS["gap_score"]] + [exports.GERMAN_HEADERS[f"gap_{p}"] for p in PILLARS]:
        assert all(len(text.split(",")[1]) == digits for text in back[column]), (column, back[column].tolist())
    # the overall gap is the difference of the two scores as shown (48,1 - 48,3)
    assert back[exports.GERMAN_HEADERS["gap_score"]].tolist() == ["-0,2", "0,2"]
    exports.write_xlsx_query(con, "SELECT * FROM p", tmp_path / "p.xlsx", "T")
    rows = list(openpyxl.load_workbook(tmp_path / "p.xlsx")["Daten"].iter_rows(values_only=True))
    header, data = rows[0], rows[1:]
    assert [row[header.index(commuting)] for row in data] == [0.0, 0.0]
    assert [row[header.index(exports.GERMAN_HEADERS["gap_accessibility"])] for row in data] == [1.2, -1.2]


def test_gap_headers_say_which_town_is_subtracted_from_which():
    """peer_comparison's gaps are the peer's score minus the town's (warehouse/views.sql, indicators/peers.py): a
    header "Abstand Erreichbarkeit" left the sign to guessing."""
    for column in ["gap_score", *[f"gap_{pillar}" for pillar in PILLARS]]:
        assert exports.GERMAN_HEADERS[column].endswith("(Vergleichsgemeinde − Gemeinde)"), column
    assert exports.GERMAN_HEADERS["gap_accessibility"] == "Abstand Erreichbarkeit (Vergleichsgemeinde − Gemeinde)"
