"""Structurally similar towns ("peers"): whom should a town compare itself with?

Peers are chosen by *structure*, never by the index, so that a comparison with peers says
"towns like us reach X" rather than "towns that score like us score like us". Features, each
standardised to mean 0 and standard deviation 1 over the reference group (so that no feature
dominates through its unit, and rescaling a feature changes nothing):

- ``log_population`` – size (log, because 5,000 vs 10,000 matters as much as 10,000 vs 20,000);
- ``log_density`` – the town's population per km²;
- ``log_kreis_density`` – population per km² of its Kreis, summed over all Gemeinden of the
  Kreis in ``municipalities``: a proxy for the region type (a small town in a densely populated
  Kreis near a city vs one in a sparsely populated rural Kreis). It is a proxy only; the BBSR
  Kreistypen or a centrality measure can be passed in ``features``;
- ``east`` – 1 for the Länder with codes 11–16 (Berlin, Brandenburg, Mecklenburg-Vorpommern,
  Sachsen, Sachsen-Anhalt, Thüringen), else 0, from the first two digits of the AGS. Berlin has
  no Gemeinde of small-town size, so counting it East changes nothing for the reference group.
  Standardised like the others: with few East towns in the group the dummy weighs more than
  one standard deviation of a continuous feature, i.e. peers tend to be on the same side;
- any numeric columns of ``features`` (e.g. centrality), standardised as given (log them first
  if they are skewed).

Similarity = 1 / (1 + Euclidean distance of the standardised features): 1.0 for identical
structure, falling towards 0 with distance; it only ranks, it is not a probability.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue
from indicators.contributions import current_version
from indicators.index import latest_published_period

EAST_LAND_CODES = {"11", "12", "13", "14", "15", "16"}
STRUCTURE = ["log_population", "log_density", "log_kreis_density", "east"]
CENTRALITY = "job_centrality"  # the feature the pipeline adds: INKAR's commuter balance (indicators/municipalities.py)
FEATURES = [*STRUCTURE, CENTRALITY]  # what a town needs for peers; the town page names them (reports/labels.py)
# Distances are rounded before sorting so that ties that are exact in arithmetic but differ in the
# last bit (e.g. after rescaling a feature) are broken by peer AGS, deterministically.
DISTANCE_DECIMALS = 10
# The dates of a town's structure features, stored beside its peers: the page said "Ähnlichkeit" without saying it
# rests on the population of 31.12.2023 and a commuter balance of 30.06.2019 (dates review of 6 December 2026).
# population_date: municipalities' (size, density and the Kreis's density); the centrality's: its features column.
FEATURE_DATES = ["population_date", f"{CENTRALITY}_date"]


def structure_features(municipalities: pd.DataFrame, features: pd.DataFrame | None = None) -> pd.DataFrame:
    """Unstandardised structural features per reference-group town (index ags).

    Towns lacking any feature (no population or area, or NaN in ``features``) are left out: they
    can neither get nor be peers, rather than being placed with an invented value.
    """
    towns = municipalities.assign(ags=municipalities["ags"].astype(str))
    known = towns[(towns["population"] > 0) & (towns["area_km2"] > 0)]
    # the Kreis's people on all its land, its uninhabited gemeindefreie Gebiete included: summed over the inhabited
    # Gemeinden only, 205 such areas (state forests, lakes, the Harz) fell out, and Kreis Goslar had 226 people per
    # km² for 139, Herzogtum Lauenburg 170 for 162 (Sachsenwald); 1,233 towns had another peer (review of 5 December)
    kreis = towns.groupby("kreis_ags")[["population", "area_km2"]].sum()
    kreis_density = kreis["population"] / kreis["area_km2"]
    group = known[known["in_reference_group"].astype(bool)].set_index("ags")
    table = pd.DataFrame({
        "log_population": np.log(group["population"].astype(float)),
        "log_density": np.log(group["population"].astype(float) / group["area_km2"]),
        "log_kreis_density": np.log(group["kreis_ags"].map(kreis_density).astype(float)),
        "east": group.index.str[:2].isin(EAST_LAND_CODES).astype(float),
    }, index=group.index)
    if features is not None:
        extra = features.set_index("ags") if "ags" in features else features
        extra = extra.rename(index=str).select_dtypes("number")
        clash = set(extra.columns) & set(table.columns)
        if clash:
            raise ValueError(f"features {sorted(clash)} clash with the built-in structural features")
        table = table.join(extra, how="left")
    return table.dropna().sort_index()


def standardise(table: pd.DataFrame) -> pd.DataFrame:
    """z-scores per column (population standard deviation); constant columns are dropped (no information)."""
    spread = table.std(ddof=0)
    varying = spread[spread > 0].index
    return (table[varying] - table[varying].mean()) / spread[varying]


def peer_towns(municipalities: pd.DataFrame, features: pd.DataFrame | None, index: pd.DataFrame,
               catalogue: Catalogue, k: int = 5) -> pd.DataFrame:
    """The k structurally most similar reference-group towns of every reference-group town.

    ``municipalities``: the warehouse table (ags, kreis_ags, in_reference_group, population,
    area_km2). ``features``: optional extra numeric columns keyed by ``ags`` (column or index).
    ``index``: readiness_index rows; the latest period in which any reference-group town has a
    score is used for the comparison columns.

    Columns: ags, peer_ags, similarity, rank (1 = most similar; ties by peer AGS), the town's FEATURE_DATES
    (``features``' ``job_centrality_date`` where given, else empty), period, score (the town's), peer_score,
    gap_score and gap_<pillar> for every catalogue pillar, each gap = peer minus town (positive: the peer is
    ahead). A town is never its own peer; with fewer than k other towns, all of them are listed.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    z = standardise(structure_features(municipalities, features))
    ags = z.index.to_numpy()
    points = z.to_numpy(float)
    rows = []
    # In blocks, so that the full distance matrix of ~3,000 German small towns is never held at
    # once in (towns x towns x features) form; direct differences keep identical towns at exactly 0.
    block = 256
    codes = np.unique(ags, return_inverse=True)[1].reshape(-1)  # AGS order as integers, for the tie-break
    take = min(k, len(points) - 1)
    for start in range(0, len(points), block):
        chunk = points[start:start + block]
        distance = np.sqrt(((chunk[:, None, :] - points[None, :, :]) ** 2).sum(axis=2))
        rounded = np.round(distance, DISTANCE_DECIMALS)
        rounded[np.arange(len(chunk)), start + np.arange(len(chunk))] = np.inf  # never its own peer
        # lexsort: last key first -> sort by rounded distance, then by peer AGS; all rows of the block at once
        nearest = np.lexsort((np.broadcast_to(codes, rounded.shape), rounded), axis=-1)[:, :take]
        for offset, (row, order) in enumerate(zip(distance, nearest)):
            own = start + offset
            for rank, peer in enumerate(order, start=1):
                rows.append((ags[own], ags[peer], round(1.0 / (1.0 + row[peer]), 9), rank))  # stable across runs
    peers = pd.DataFrame(rows, columns=["ags", "peer_ags", "similarity", "rank"])
    peers = peers.join(_feature_dates(municipalities, features).reindex(peers["ags"]).reset_index(drop=True))
    return _with_gaps(peers, current_version(index, catalogue), catalogue, set(ags))


def _feature_dates(municipalities: pd.DataFrame, features: pd.DataFrame | None) -> pd.DataFrame:
    """FEATURE_DATES per town (index ags): the population's date and the centrality's, empty where not given."""
    towns = pd.Index(municipalities["ags"].astype(str), name="ags")
    dates = pd.DataFrame({column: pd.Series(pd.NaT, index=towns, dtype="datetime64[ns]") for column in FEATURE_DATES})
    if "population_date" in municipalities:
        dates["population_date"] = pd.to_datetime(municipalities["population_date"]).to_numpy()
    extra = None if features is None else (features.set_index("ags") if "ags" in features else features)
    if extra is not None and FEATURE_DATES[1] in extra:
        dates[FEATURE_DATES[1]] = pd.to_datetime(extra[FEATURE_DATES[1]]).rename(index=str).reindex(towns)
    return dates


def _with_gaps(peers: pd.DataFrame, index: pd.DataFrame, catalogue: Catalogue, group: set[str]) -> pd.DataFrame:
    """Add the score of town and peer and the gaps (peer minus town) in the period published as the latest
    (``latest_published_period``: the page shows that year's pillars; the newest scored year, a provisional one,
    put 2022's gaps beside 2018's pillar values)."""
    pillars = list(catalogue.pillars)
    period = latest_published_period(index[index["ags"].isin(group)])
    latest = index[index["period"] == period].set_index("ags") if period is not None else pd.DataFrame(
        columns=["score", *pillars])
    columns = ["score", *[p for p in pillars if p in latest]]
    town = latest[columns].reindex(peers["ags"]).to_numpy(float)
    peer = latest[columns].reindex(peers["peer_ags"]).to_numpy(float)
    peers = peers.assign(period=period, score=town[:, 0], peer_score=peer[:, 0])
    gaps = pd.DataFrame(peer - town, columns=[f"gap_{c}" for c in columns], index=peers.index)
    for pillar in pillars:  # a pillar the index lacks entirely still gets its (empty) column
        gaps[f"gap_{pillar}"] = gaps.get(f"gap_{pillar}", np.nan)
    return pd.concat([peers, gaps[["gap_score", *[f"gap_{p}" for p in pillars]]]], axis=1)
