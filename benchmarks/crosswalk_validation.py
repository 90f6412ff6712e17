"""How well the territorial crosswalk matches the change lists, and whether its restated histories are plausible.

For every Gemeinde the lists say was dissolved into exactly one other Gemeinde, compare the
step the register inference (staging.crosswalk.transitions) gives for the same register
transition: right (same successor key), wrong (another key) or missed (no step); the same after
the plausibility checks (crosswalk.check_plausibility drops rejected steps), and with the
official lists applied (crosswalk.with_official), as the pipeline does.

Then the population series restated onto the current territory (as the pipeline restates them,
without and with the plausibility checks): the share of consecutive register pairs whose average
yearly change exceeds 10 %, for pairs that involve a restated value and for the others.

Usage:  .venv/bin/python benchmarks/crosswalk_validation.py [--source-dir ../shared/data]
Needs the Germany-wide Gemeindeverzeichnis files (all vintages) and the change lists.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from indicators import flags
from staging import crosswalk  # noqa: E402
from sources import bkg_vg, destatis_changes, destatis_gv  # noqa: E402
from sources.registry import discover_releases, load_sources  # noqa: E402


JUMP = 0.10  # a yearly population change above 10 % is implausible for a Gemeinde on a fixed territory


def load(source_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Register and areas of every Gemeindeverzeichnis vintage, all change-list rows, and the population rows."""
    specs = load_sources()
    registers, areas, populations = [], [], []
    for release in discover_releases(specs["destatis_gemeindeverzeichnis"], source_dir):
        tables = destatis_gv.parse_release(release)
        registers.append(tables["register"].assign(vintage=release.vintage))
        obs = tables["observations"]
        area = obs[(obs["measure"] == "area_km2") & (obs["level"] == "gemeinde")]
        areas.append(area.assign(vintage=release.vintage, area_km2=area["value"])[["ags", "vintage", "area_km2"]])
        populations.append(obs[(obs["measure"].isin(["population_total", "area_km2"])) & (obs["level"] == "gemeinde")]
                           .assign(vintage=release.vintage, source_id="destatis_gemeindeverzeichnis"))
    changes = [destatis_changes.parse_release(r)["changes"].assign(vintage=r.vintage)
               for r in discover_releases(specs["destatis_gebietsaenderungen"], source_dir)]
    if not registers or not changes:
        sys.exit(f"no Gemeindeverzeichnis files or change lists under {source_dir}")
    return (pd.concat(registers, ignore_index=True), pd.concat(areas, ignore_index=True), pd.concat(changes),
            pd.concat(populations, ignore_index=True))


def score(steps: pd.DataFrame, truth: pd.DataFrame) -> dict[str, int]:
    """right / wrong / missed among the true (from_vintage, from_ags -> to_ags) merger steps."""
    merged = truth.merge(steps[steps["kind"].isin(crosswalk.RESTATING_KINDS)], how="left",
                         on=["from_vintage", "from_ags"], suffixes=("", "_found"))
    return {"right": int((merged["to_ags_found"] == merged["to_ags"]).sum()),
            "wrong": int((merged["to_ags_found"].notna() & (merged["to_ags_found"] != merged["to_ags"])).sum()),
            "missed": int(merged["to_ags_found"].isna().sum())}


def jump_rates(register: pd.DataFrame, steps: pd.DataFrame, observations: pd.DataFrame,
               since: str | None = None) -> dict[str, tuple[int, int]]:
    """(pairs above JUMP, pairs) of consecutive restated population values, with and without a restated end.

    Pairs the index would not score anyway are left out, as the indicators do: a restated area
    that moves by more than 2 % (an unexplained change) or a flag that excludes (partial transfer,
    split, rejected step). ``since``: only pairs whose later value is from this date on.
    """
    walk = crosswalk.crosswalk(register, steps)
    observations = observations.assign(register_vintage=crosswalk.register_vintage_at(observations, register))
    restated = crosswalk.restate(observations, walk, {"population_total": "population", "area_km2": "area"})
    restated = crosswalk.flag_transfers(restated, steps, register, walk)
    flagged = restated["territorial_change"].isin(flags.NOT_COMPARABLE)
    restated = restated.assign(restated=restated["territorial_change"].isin(["merger", "recode"]), flagged=flagged)
    wide = restated.pivot_table(index=["ags", "reference_date"], columns="measure",
                                values=["value", "restated", "flagged"], aggfunc="max")
    series = pd.DataFrame({"population": wide[("value", "population")], "area": wide[("value", "area")],
                           "restated": wide[("restated", "population")].astype(bool),
                           "flagged": wide[("flagged", "population")].astype(bool)}).reset_index()
    series = series.dropna(subset=["population"]).sort_values(["ags", "reference_date"])
    before = series.groupby("ags").shift()
    years = (pd.to_datetime(series["reference_date"]) - pd.to_datetime(before["reference_date"])).dt.days / 365.25
    comparable = (series["area"] / before["area"] - 1).abs().le(0.02) & ~series["flagged"]
    usable = before["population"].gt(0) & years.gt(0.5) & comparable
    if since:
        usable &= pd.to_datetime(series["reference_date"]) >= pd.Timestamp(since)
    rate = ((series["population"] / before["population"]) ** (1 / years) - 1).where(usable)
    restated_end = series["restated"] | before["restated"].eq(True)
    jump = rate.abs() > JUMP
    return {"with a restated value": (int((jump & restated_end).sum()), int((usable & restated_end).sum())),
            "elsewhere": (int((jump & ~restated_end).sum()), int((usable & ~restated_end).sum()))}


def print_rates(label: str, rates: dict[str, tuple[int, int]]) -> None:
    parts = [f"{k}: {a} of {b} ({a / b:.2%})" if b else f"{k}: 0 of 0" for k, (a, b) in rates.items()]
    print(f"  {label}: " + "; ".join(parts))


def geometries(source_dir: Path) -> pd.DataFrame:
    """ags, vintage, geometry_wkb of the BKG VG releases on hand (the pipeline's municipality_geometries)."""
    frames = [bkg_vg.parse_release(release)["geometries"]
              for release in discover_releases(load_sources()["bkg_vg"], source_dir)]
    columns = ["ags", "vintage", "geometry_wkb"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    source_dir = parser.parse_args().source_dir.resolve()
    register, areas, changes, observations = load(source_dir)
    population = observations.pivot_table(index=["ags", "vintage"], columns="measure", values="value",
                                          aggfunc="first").rename(columns={"population_total": "population"})
    inferred = crosswalk.transitions(register, areas)
    official = crosswalk.official_steps(changes, register)
    combined = crosswalk.build_steps(register, areas, changes, population.reset_index(),
                                     geometries(source_dir))  # as the pipeline
    checked_inferred = crosswalk.check_plausibility(inferred, register, population.reset_index())
    plausible = checked_inferred[crosswalk.usable(checked_inferred)]
    print(f"register vintages: {', '.join(sorted(register['vintage'].unique()))}")
    print(f"official steps by kind: {official['kind'].value_counts().to_dict()}")
    geographic = combined["basis"].isin(crosswalk.GEOGRAPHIC_BASES)
    print(f"mergers found by geography: {int(geographic.sum())} rows onto {combined.loc[geographic, 'to_ags'].nunique()}"
          f" successors, {combined.loc[geographic, 'plausibility'].value_counts().to_dict()}")
    polygon = combined["basis"].isin({"polygon", "polygon_remeasured"})
    print(f"  by basis: {combined['basis'].value_counts().to_dict()}")
    print(f"  of which read off the VG boundaries: {int(polygon.sum())} rows onto "
          f"{combined.loc[polygon, 'to_ags'].nunique()} successors, "
          f"{combined.loc[polygon, 'plausibility'].value_counts().to_dict()}")
    print(f"plausibility of the pipeline's steps: {combined['plausibility'].value_counts().to_dict()} "
          f"(tolerance ±{crosswalk.POPULATION_TOLERANCE:.0%} a year; centres within {crosswalk.DISTANCE_FACTOR} "
          f"equal-area radii + {crosswalk.DISTANCE_SLACK_KM} km)")
    for year in sorted(changes["vintage"].unique()):
        listed = changes[(changes["vintage"] == year) & (changes["kind"] == "dissolution")]
        receivers = listed.groupby("from_ags")["to_ags"].nunique()
        truth = official[(official["kind"] == "merger")
                         & official["evidence"].str.contains(f"{crosswalk.OFFICIAL} {year} ", regex=False)]
        transitions = sorted(set(zip(truth["from_vintage"], truth["to_vintage"])))
        print(f"\nlist {year}: {receivers.size} Gemeinden dissolved, {int((receivers == 1).sum())} into one "
              f"Gemeinde, {int((receivers > 1).sum())} split; {len(truth)} of them between register vintages "
              f"{', '.join(f'{a} -> {b}' for a, b in transitions) or '(none: after the last register)'}")
        if truth.empty:
            continue
        print(f"  inference only:            {score(inferred, truth)}")
        print(f"  inference after the checks: {score(plausible, truth)}")
        print(f"  with the lists:            {score(combined[crosswalk.usable(combined)], truth)}")
        covered = inferred[inferred[["from_vintage", "to_vintage"]].apply(tuple, axis=1).isin(transitions)]
        unconfirmed = covered[~covered["from_ags"].isin(official["from_ags"])]
        print(f"  inferred steps in these transitions the list does not name: {len(unconfirmed)} "
              f"({unconfirmed['kind'].value_counts().to_dict()})")
    print(f"\nconsecutive population values (restated to the current territory) changing > {JUMP:.0%} a year:")
    print("(pairs the index would not score are left out: restated area moved > 2 %, or an excluding flag)")
    rejected = crosswalk.with_official(inferred, official)  # the crosswalk before the checks
    for since in (None, "2009-12-31"):
        print(f" {'all register pairs' if since is None else 'later value from 31.12.2009 on'}:")
        print_rates("before (area inference + lists)", jump_rates(register, rejected, observations, since))
        print_rates("with checks and geography      ", jump_rates(register, combined, observations, since))


if __name__ == "__main__":
    main()
