"""Publisher sources: declarations (sources.yaml), discovery of releases, raw landing and parsers.

Every parser turns one release (all files of one vintage of one source) into tidy
observations with the columns in ``OBSERVATION_COLUMNS``.
"""

OBSERVATION_COLUMNS = [
    "ags",  # region key: 8-digit Gemeinde AGS, 5-digit Kreis, 2-digit Land, "DG" for Germany, 8-digit Gemeindeverband
    "level",  # gemeinde | gemeindeverband | kreis | land | bund
    "reference_date",  # date the figure refers to (Stichtag or end of period)
    "measure",  # what was measured, e.g. population_total, households_all_1000
    "value",
    "unit",
    "note",  # quality remark, e.g. "from Gemeindeverband 01058990"; empty when none
]


def within_measure(reach_km: float) -> str:
    """The observation measure counting coworking places within ``reach_km`` of a Gemeinde (staging/coworking.py
    writes it; the catalogue's coworking indicator names it, and indicators.coworking_gap.gap_parameters checks that
    the two match). Here, not in staging/coworking.py: the gap would import geopandas for one name."""
    return f"coworking_spaces_within_{reach_km:g}km"
