"""The vectorised crosswalk helpers give exactly what the pandas code they replaced gives (kept here as the
reference): the walk lookup without a merge, the geographic subsets on numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd

from staging import crosswalk


def merged(frame: pd.DataFrame, walk: pd.DataFrame) -> pd.DataFrame:
    """The reference: the left merge bring_forward did before."""
    return frame.merge(walk.rename(columns={"vintage": "key_vintage", "current_ags": "_current"}),
                       on=["key_vintage", "ags"], how="left")


def test_walk_lookup_equals_the_left_merge():
    walk = pd.DataFrame({"vintage": ["2019", "2019", "2021"], "ags": ["01001001", "01001002", "01001001"],
                         "current_ags": ["01001009", "01001002", "01001001"]})
    frame = pd.DataFrame({"key_vintage": ["2019", np.nan, "2021", "2023", "2019"],
                          "ags": ["01001001", "01001001", "01001001", "01001001", "01009999"],
                          "value": [1.0, 2.0, 3.0, 4.0, 5.0]}, index=[9, 8, 7, 6, 5])
    looked_up = crosswalk._with_current(frame, walk)
    pd.testing.assert_frame_equal(looked_up, merged(frame, walk))
    assert looked_up["_current"].isna().tolist() == [False, True, False, True, True]
    assert looked_up.loc[0, "_current"] == "01001009" and looked_up.loc[2, "_current"] == "01001001"


def test_walk_with_a_repeated_key_falls_back_to_the_merge_and_its_repeated_rows():
    walk = pd.DataFrame({"vintage": ["2019", "2019"], "ags": ["01001001", "01001001"],
                         "current_ags": ["01001009", "01001008"]})
    frame = pd.DataFrame({"key_vintage": ["2019"], "ags": ["01001001"], "value": [1.0]})
    looked_up = crosswalk._with_current(frame, walk)
    assert len(looked_up) == 2
    pd.testing.assert_frame_equal(looked_up, merged(frame, walk))


def unique_subsets_reference(free: pd.DataFrame, targets: pd.DataFrame):
    """The per-target pandas loop of _unique_subsets before it worked on numpy arrays: the chosen sets."""
    fits = []
    for target, row in targets.iterrows():
        dx = np.radians(free["lon"] - row["lon"]) * np.cos(np.radians(row["lat"])) * 6371.0
        dy = np.radians(free["lat"] - row["lat"]) * 6371.0
        distance = np.hypot(dx, dy)
        reach = crosswalk.DISTANCE_FACTOR * np.sqrt(row["area_km2"] / np.pi) + crosswalk.DISTANCE_SLACK_KM
        near = free.assign(_km=distance)[(distance <= reach) & (free["area_km2"] <= row["needed"] * 1.005)]
        near = near.sort_values("_km").head(crosswalk.GEO_MAX_CANDIDATES)
        if near.empty:
            continue
        members = crosswalk._all_subsets(len(near))
        fitting = np.abs(members @ near["area_km2"].to_numpy() - row["needed"]) <= crosswalk.MERGER_TOLERANCE * row["needed"]
        if fitting.sum() == 1:
            fits.append((target, list(near[members[fitting][0]].index)))
    return fits


def test_unique_subsets_equal_the_pandas_loop_on_random_places():
    rng = np.random.default_rng(11)
    free = pd.DataFrame({"lon": 9 + rng.random(60) * 0.6, "lat": 53 + rng.random(60) * 0.4,
                         "area_km2": rng.choice([2.0, 3.5, 5.0, 7.25, 11.0], 60)},
                        index=[f"0100{i:04d}" for i in range(60)])
    targets = pd.DataFrame({"lon": 9 + rng.random(25) * 0.6, "lat": 53 + rng.random(25) * 0.4,
                            "area_km2": rng.choice([20.0, 40.0, 60.0], 25), "needed": rng.choice([5.5, 9.0, 12.25, 14.5], 25),
                            "kind": "new key"}, index=[f"0200{i:04d}" for i in range(25)])
    rows = crosswalk._unique_subsets(free, targets, "2019", "2021")
    reference = unique_subsets_reference(free, targets)
    assert reference  # the random places do produce fitting sets
    claims = pd.Series([a for _, chosen in reference for a in chosen]).value_counts()
    expected = [(t, a) for t, chosen in reference if (claims[chosen] == 1).all() for a in chosen]
    assert [(r[3], r[2]) for r in rows] == expected


def test_held_vintages_equal_the_per_key_reference():
    """held_vintages by sorted pairs gives the dict the per-key lambda gave (keys, order, sorted vintages)."""
    rng = np.random.default_rng(5)
    register = pd.DataFrame({"ags": rng.choice([f"0100{i:04d}" for i in range(300)], 5000),
                             "vintage": rng.choice(["2013-12", "2016-12", "2021-12", "2023-12"], 5000)})
    reference = register.groupby("ags")["vintage"].agg(lambda v: sorted(set(v))).to_dict()
    held = crosswalk.held_vintages(register)
    assert list(held.items()) == list(reference.items())
    assert crosswalk.held_vintages(register.iloc[:0]) == {}


def test_key_vintages_equal_the_merge_reference():
    """key_vintages picks per distinct (key, register) pair and spreads by code: the values the merge gave."""
    rng = np.random.default_rng(9)
    register = pd.DataFrame({"ags": ["01001000", "01001000", "01002000", "03159001"],
                             "vintage": ["2016-12", "2021-12", "2021-12", "2016-12"],
                             "territorial_date": pd.to_datetime(["2016-12-31", "2021-12-31", "2021-12-31",
                                                                 "2016-12-31"])})
    observations = pd.DataFrame({"ags": rng.choice(["01001000", "01002000", "03159001", "09999999", None], 500),
                                 "reference_date": rng.choice(pd.to_datetime(["2015-06-30", "2018-12-31",
                                                                              "2022-06-30"]), 500)},
                                index=rng.permutation(500) + 1000)
    dates = pd.DataFrame({"reference_date": observations["reference_date"].drop_duplicates()})
    at = observations["reference_date"].map(dict(zip(dates["reference_date"],
                                                     crosswalk.register_vintage_at(dates, register))))
    held = crosswalk.held_vintages(register)

    pairs = pd.DataFrame({"ags": observations["ags"].to_numpy(), "at": at.to_numpy()})
    unique = pairs.drop_duplicates()
    unique = unique.assign(key_vintage=[crosswalk.key_vintage(held, a, v) for a, v in zip(unique["ags"], unique["at"])])
    reference = pd.Series(pairs.merge(unique, on=["ags", "at"], how="left")["key_vintage"].to_numpy(),
                          index=observations.index, dtype=object)
    found = crosswalk.key_vintages(observations, register)
    pd.testing.assert_series_equal(found, reference)
    assert found.isna().any() and found.notna().any()  # unknown keys and picked registers both occur


def test_members_by_polygon_equal_the_groupby_reference():
    """The members of each polygon from one sort of the pairs: the lists, in the key order, that pandas' groupby
    with ``apply(sorted)`` gave."""
    rng = np.random.default_rng(17)
    joined = pd.DataFrame({"member": rng.choice([f"0100{i:04d}" for i in range(400)], 3000),
                           "ags": rng.choice([f"0300{i:04d}" for i in range(150)], 3000)},
                          index=rng.permutation(3000))
    reference = joined.groupby("ags")["member"].apply(sorted)
    found = crosswalk._members_by_polygon(joined)
    assert list(found.items()) == list(reference.items())
    assert crosswalk._members_by_polygon(joined.iloc[:0]) == {}
