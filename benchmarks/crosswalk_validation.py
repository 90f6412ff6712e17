"""How well the inferred territorial crosswalk matches the official Destatis change lists.

For every Gemeinde the lists say was dissolved into exactly one other Gemeinde, compare the
step the register inference (indicators.territory.transitions) gives for the same register
transition: right (same successor key), wrong (another key) or missed (no step). Then the
same with the official lists applied (territory.with_official), as the pipeline does.

Usage:  .venv/bin/python benchmarks/crosswalk_validation.py [--source-dir ../shared/data]
Needs the Germany-wide Gemeindeverzeichnis files (all vintages) and the change lists.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from indicators import territory  # noqa: E402
from sources import destatis_changes, destatis_gv  # noqa: E402
from sources.registry import discover_releases, load_sources  # noqa: E402


def load(source_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Register and areas of every Gemeindeverzeichnis vintage, and all change-list rows."""
    specs = load_sources()
    registers, areas = [], []
    for release in discover_releases(specs["destatis_gemeindeverzeichnis"], source_dir):
        tables = destatis_gv.parse_release(release)
        registers.append(tables["register"].assign(vintage=release.vintage))
        obs = tables["observations"]
        area = obs[(obs["measure"] == "area_km2") & (obs["level"] == "gemeinde")]
        areas.append(area.assign(vintage=release.vintage, area_km2=area["value"])[["ags", "vintage", "area_km2"]])
    changes = [destatis_changes.parse_release(r)["changes"].assign(vintage=r.vintage)
               for r in discover_releases(specs["destatis_gebietsaenderungen"], source_dir)]
    if not registers or not changes:
        sys.exit(f"no Gemeindeverzeichnis files or change lists under {source_dir}")
    return pd.concat(registers, ignore_index=True), pd.concat(areas, ignore_index=True), pd.concat(changes)


def score(steps: pd.DataFrame, truth: pd.DataFrame) -> dict[str, int]:
    """right / wrong / missed among the true (from_vintage, from_ags -> to_ags) merger steps."""
    merged = truth.merge(steps[steps["kind"].isin(territory.RESTATING_KINDS)], how="left",
                         on=["from_vintage", "from_ags"], suffixes=("", "_found"))
    return {"right": int((merged["to_ags_found"] == merged["to_ags"]).sum()),
            "wrong": int((merged["to_ags_found"].notna() & (merged["to_ags_found"] != merged["to_ags"])).sum()),
            "missed": int(merged["to_ags_found"].isna().sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    source_dir = parser.parse_args().source_dir.resolve()
    register, areas, changes = load(source_dir)
    inferred = territory.transitions(register, areas)
    official = territory.official_steps(changes, register)
    combined = territory.with_official(inferred, official)
    print(f"register vintages: {', '.join(sorted(register['vintage'].unique()))}")
    print(f"official steps by kind: {official['kind'].value_counts().to_dict()}")
    for year in sorted(changes["vintage"].unique()):
        listed = changes[(changes["vintage"] == year) & (changes["kind"] == "dissolution")]
        receivers = listed.groupby("from_ags")["to_ags"].nunique()
        truth = official[(official["kind"] == "merger")
                         & official["evidence"].str.contains(f"{territory.OFFICIAL} {year} ", regex=False)]
        transitions = sorted(set(zip(truth["from_vintage"], truth["to_vintage"])))
        print(f"\nlist {year}: {receivers.size} Gemeinden dissolved, {int((receivers == 1).sum())} into one "
              f"Gemeinde, {int((receivers > 1).sum())} split; {len(truth)} of them between register vintages "
              f"{', '.join(f'{a} -> {b}' for a, b in transitions) or '(none: after the last register)'}")
        if truth.empty:
            continue
        print(f"  inference only:  {score(inferred, truth)}")
        print(f"  with the lists:  {score(combined, truth)}")
        covered = inferred[inferred[["from_vintage", "to_vintage"]].apply(tuple, axis=1).isin(transitions)]
        unconfirmed = covered[~covered["from_ags"].isin(official["from_ags"])]
        print(f"  inferred steps in these transitions the list does not name: {len(unconfirmed)} "
              f"({unconfirmed['kind'].value_counts().to_dict()})")


if __name__ == "__main__":
    main()
