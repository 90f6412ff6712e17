"""Content keys of report pages, so a refresh re-renders only the pages whose data or templates changed.

A page's key is a hash of everything the page shows: the town's rows of every per-town frame of
``ReportData`` (index, indicators, contributions, peers, ... — any kind added there is included
automatically), the flows of its Kreis and of the former Kreise its Kreis section may read, its
neighbours' names and latest scores (the map), every frame that is not split per town (sources,
coworking spaces, Kreis names, ...), and the *template version*: a hash of the templates and of the
report code, so a change of layout or code rebuilds every page. Row hashes are computed once per frame
(vectorised) and summed per town, which is independent of row order (SQL without ORDER BY may return rows
in another order).

The keys of the pages written are kept in ``<reports dir>/.pages.json``, with the neighbour lists
(which need a geometric query per town) keyed by the geometry hash.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from reports.data import kreis_history

MANIFEST = ".pages.json"
REPORTS_PACKAGE = Path(__file__).resolve().parent
# What the pages word besides the report code: German flag labels and band texts, pillar and unit names
# (catalogue), short source names (sources.yaml), the CSV cell rule of the downloads (warehouse/exports.py)
WORDING_FILES = [REPORTS_PACKAGE.parent / name for name in ("indicators/flags.py", "indicators/bands.py",
                                                              "indicators/catalogue.yaml", "sources.yaml",
                                                              "warehouse/exports.py",
                                                              "sources/vintages.py",  # the due dates' cycles
                                                              "indicators/engine.py",  # the scores' rounding
                                                              "indicators/publisher_notes.py",  # census, 2016
                                                              "sources/registry.py",  # reads sources.yaml's keys
                                                              "sources/names.py",  # Gemeinden's and Kreise's names
                                                              "staging/boundaries.py")]  # bare_name, the outlines of today
# Every field of ``ReportData`` is part of a page's key. These are hashed by their own part of ``PageKeys`` (per
# town, per Kreis, the geometry digest) or are the key's first parts; every other field, whatever its type (frame,
# dict, list, scalar), is hashed whole into ``common`` by ``value_digest``, so a field added to ``ReportData`` is
# hashed without anyone remembering it (the Kreis/Land/Bund ``references``, a dict, were not: pages stayed stale).
HASHED_APART = {"towns": "_by_town", "index": "_by_town and the index page", "geometries": "geometry_digest",
                "by_town": "_by_town (its input_dates also the index page)", "flows_by_kreis": "_by_kreis",
                "method_version": "common", "latest_period": "common"}
# What no page shows: where the data were read from, and the renderer's per-process cache of derived values.
NOT_SHOWN = {"path", "memo"}


def template_version() -> str:
    """Hash of the templates, the report code and the wording it reads (any change there rebuilds every page)."""
    digest = hashlib.sha256()
    files = sorted([*REPORTS_PACKAGE.glob("*.py"), *(REPORTS_PACKAGE / "templates").glob("*"), *WORDING_FILES])
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """One uint64 per row over all columns (column names included, so a new column changes it)."""
    if frame.empty:
        return np.zeros(0, dtype="uint64")
    try:
        values = pd.util.hash_pandas_object(frame, index=False)
    except TypeError:  # unhashable cells (lists, dicts): hash their text
        values = pd.util.hash_pandas_object(frame.astype({c: str for c in frame.columns
                                                          if frame[c].dtype == object}), index=False)
    names = int(hashlib.sha256("|".join(map(str, frame.columns)).encode()).hexdigest()[:15], 16)
    return values.to_numpy(dtype="uint64") ^ np.uint64(names)


def frame_digest(frame: pd.DataFrame) -> str:
    """Order-independent digest of a whole frame."""
    hashes = row_hashes(frame)
    return f"{len(hashes)}-{int(hashes.sum(dtype='uint64')):016x}"


def value_digest(value) -> str:
    """Digest of any field of ``ReportData``: a frame by ``frame_digest`` (order-independent), a mapping by its
    items in key order, a list or tuple item by item, anything else by its ``repr`` (numbers, dates, text).

    Why not ``repr`` of a whole dict: its order is insertion order, which a query without ORDER BY may change."""
    if isinstance(value, pd.DataFrame):
        return f"frame:{frame_digest(value)}"
    if isinstance(value, pd.Series):
        return f"series:{frame_digest(value.to_frame())}"
    digest = hashlib.sha256()
    if isinstance(value, Mapping):
        for key in sorted(value, key=repr):
            digest.update(f"{key!r}=".encode() + value_digest(value[key]).encode() + b"\0")
        return f"map:{len(value)}-{digest.hexdigest()[:32]}"
    if isinstance(value, (list, tuple)):
        for item in value:
            digest.update(value_digest(item).encode() + b"\0")
        return f"seq:{len(value)}-{digest.hexdigest()[:32]}"
    return repr(value)


def per_key_digests(frame: pd.DataFrame, key: str) -> dict[str, str]:
    """Order-independent digest of the rows of each value of ``key``."""
    if frame.empty:
        return {}
    sums = pd.DataFrame({"k": frame[key].to_numpy(), "h": row_hashes(frame)}).groupby("k")["h"].agg(["sum", "size"])
    return {k: f"{n}-{int(h):016x}" for k, h, n in zip(sums.index, sums["sum"], sums["size"])}


def shared_fields(data) -> list[str]:
    """The fields of ``data`` (a ``ReportData``) hashed whole into every page's key: all but those hashed apart
    and those shown nowhere."""
    return [f.name for f in dataclasses.fields(data) if f.name not in HASHED_APART and f.name not in NOT_SHOWN]


class PageKeys:
    """Content keys of the town pages, the network page and the index page of one ``ReportData``."""

    def __init__(self, data, geoms, neighbour_cache: dict):
        self.data, self.geoms = data, geoms
        cached = neighbour_cache.get("geometry") == self.geometry_digest
        self._neighbours: dict[str, list[str]] = dict(neighbour_cache.get("towns", {})) if cached else {}

    @cached_property
    def geometry_digest(self) -> str:
        frame = self.data.geometries.sort_values("ags")
        digest = hashlib.sha256()
        for ags, wkb in zip(frame["ags"], frame["geometry_wkb"]):
            digest.update(str(ags).encode() + bytes(wkb))
        return digest.hexdigest()[:32]

    @cached_property
    def boundary_digest(self) -> str:
        """Per town its name (the maps' labels), its boundary's date, whether its territory changed since and the
        outlines it is drawn from, which the map's note says: a new change list moves them without moving a shape
        (apart from geometry_digest, the neighbour cache's key). Per town, not per column: a column's digest
        (value_digest) would not see a flag move from one town to another."""
        frame = self.data.geometries
        columns = [c for c in ("name", "territorial_date", "territory_changed_since_geometry", "assembled_from",
                               "assembled_names", "now_in") if c in frame]
        digest = hashlib.sha256()
        for row in frame[["ags", *columns]].sort_values("ags").itertuples(index=False, name=None):
            digest.update(repr(row).encode())
        return digest.hexdigest()[:32]

    @cached_property
    def common(self) -> str:
        """Everything every page shares: template version, method, period, and every field of ``ReportData`` not
        hashed apart (``HASHED_APART``) or shown nowhere (``NOT_SHOWN``): frames, the Kreis/Land/Bund references."""
        parts = [template_version(), str(self.data.method_version), str(self.data.latest_period),
                 self.geometry_digest, self.boundary_digest]
        for name in shared_fields(self.data):
            parts.append(f"{name}:{value_digest(getattr(self.data, name))}")
        return _sha(parts)

    def hash_frames(self) -> None:
        """Hash the frames now (once; the keys of single pages then only combine the digests)."""
        self.common, self._by_town, self._by_kreis  # noqa: B018 - cached properties, computed here

    @cached_property
    def _by_town(self) -> dict[str, dict[str, str]]:
        # the whole frame of each kind: the same per-town digests as its per-town parts (order-independent)
        kinds = {kind: per_key_digests(split.frame, "ags") for kind, split in self.data.by_town.items()}
        kinds["towns"] = per_key_digests(self.data.towns.reset_index(drop=True), "ags")
        return kinds

    @cached_property
    def _by_kreis(self) -> dict[str, str]:
        flows = self.data.flows_by_kreis
        return per_key_digests(pd.concat(flows.values()) if flows else pd.DataFrame(), "home_kreis")

    def neighbours(self, ags: str) -> list[str]:
        if ags not in self._neighbours:
            self._neighbours[ags] = list(self.geoms.neighbours(ags)) if self.geoms.has(ags) else []
        return self._neighbours[ags]

    def neighbour_cache(self) -> dict:
        return {"geometry": self.geometry_digest, "towns": self._neighbours}

    @cached_property
    def _kreis_of(self) -> dict:
        """Kreis AGS per AGS as a dict: with ``data.name_of`` and ``data.latest_score_of`` instead of a pandas
        ``get``/``loc`` per town and neighbour (~0.15 ms each, ~1.5 s for the keys of every town)."""
        return dict(zip(self.data.towns.index, self.data.towns["kreis_ags"]))

    def town(self, ags: str) -> str:
        names, scores = self.data.name_of, self.data.latest_score_of
        kreis = self._kreis_of[ags]  # a KeyError for an unknown town, as towns.loc raised
        around = [f"{n}:{names.get(n)}:{scores.get(n)!r}" for n in [ags, *sorted(self.neighbours(ags))]]
        history = kreis_history(self.data)  # the Kreise whose flows the town's Kreis section may read
        kreise = sorted({kreis, *history["formers"].get(ags, ()), *history["absorbed"].get(kreis, ())})
        parts = [self.common, *(f"{kind}:{d.get(ags)}" for kind, d in sorted(self._by_town.items())),
                 *(f"kreis {k}:{self._by_kreis.get(k)}" for k in kreise), *around,
                 # a Kreis of one is the town itself, and its page says so (``whole_kreis``)
                 f"members {kreis}:{history['sizes'].get(kreis)}"]
        return _sha(parts)

    def network(self) -> str:
        pilots = sorted(self.data.towns.index[self.data.towns["is_pilot"]])
        # the pilots' values of the published period too (the page shows them; they are not in ``by_town``)
        period_values = per_key_digests(self.data.period_indicators(pilots)[0], "ags")
        return _sha([self.common, *(f"{a}:{self._by_town['index'].get(a)}:{self._by_town['towns'].get(a)}"
                                    f":{period_values.get(a)}" for a in pilots)])

    def index(self, pages: list[str]) -> str:
        towns = self.data.towns[["ags", "name", "kreis_ags", "kreis_name", "land", "population", "population_date",
                                 "is_pilot"]]
        # the whole index, not only the newest rows: the page shows the latest *published* period,
        # which may be older than a provisional newest one; and the dates its scores rest on (its data line)
        dates = [f"{ags}:{digest}" for ags, digest in sorted(self._by_town.get("input_dates", {}).items())]
        return _sha([self.common, frame_digest(towns.reset_index(drop=True)), frame_digest(self.data.index), *dates,
                     *pages])


    def ranking(self, pages: list[str]) -> str:
        """The coworking-gap ranking: its rows (coworking_gap, in ``common``), the names and the town pages
        it links; not the index scores, so a changed score does not rewrite it."""
        towns = self.data.towns[["ags", "name", "kreis_name", "land"]]
        return _sha([self.common, "ranking", frame_digest(towns.reset_index(drop=True)), *pages])


def published_fingerprint(published: Path) -> str:
    """Digest of every table (rows, order-independent) and view definition of the published file.

    Cheap (DuckDB hashes in parallel, < 1 s for the full data) and taken before the report data are
    loaded: when it, the template version and the pages on disk are as after the last build, nothing
    can have changed and the build stops there. ``publish_log`` is left out: every publish adds a row."""
    import duckdb

    parts = []
    with duckdb.connect(str(published), read_only=True) as con:
        tables = [row[0] for row in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE table_name <> 'publish_log' ORDER BY table_name").fetchall()]
        for table in tables:
            count, total = con.execute(f'SELECT count(*), sum(hash(t)::HUGEINT) FROM "{table}" t').fetchone()
            parts.append(f"{table}:{count}:{total}")
        parts += [f"{name}:{sql}" for name, sql in con.execute(
            "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal ORDER BY view_name").fetchall()]
    return _sha(parts)


def _sha(parts: list[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def read_manifest(out_dir: Path) -> dict:
    """The keys recorded by the last build (empty when there is none or it is unreadable: rebuild all)."""
    try:
        return json.loads((Path(out_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_manifest(out_dir: Path, manifest: dict) -> None:
    """Replace the manifest atomically (a crash leaves the old one, which only causes extra rebuilds)."""
    path = Path(out_dir) / MANIFEST
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
