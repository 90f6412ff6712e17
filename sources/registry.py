"""Read sources.yaml and discover every release present in a directory of publisher files."""

from __future__ import annotations

import datetime
import functools
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sources.errors import SourceError
from sources.vintages import CYCLES

# libyaml's safe loader where PyYAML has it: the same documents, parsed ~10x faster than in pure Python
# (sources.yaml is read several times while the Dagster definitions load)
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SOURCES_YAML = PROJECT_ROOT / "sources.yaml"
SNAPSHOT_DIR = PROJECT_ROOT / "snapshot"


def read_yaml(path: Path):
    """A YAML file of the project (sources.yaml, tables.yaml, catalogue.yaml, ...) read with SAFE_LOADER."""
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=SAFE_LOADER)


@dataclass(frozen=True)
class FilePattern:
    pattern: re.Pattern
    vintage: str
    role: str
    layout: str | None = None
    # regional levels a release of such files must have rows of (a Gemeinde file parsed into Kreis rows only was
    # taken for a Kreis-level release of the same source); checked with the contract (sources/contracts.py)
    levels: tuple[str, ...] = ()


@dataclass(frozen=True)
class GenerationBreak:
    """A break in a source's method found in its values rather than announced (sources.yaml ``generation_breaks``):
    the values of ``measure`` at ``source_level`` in the Länder ``laender`` dated from ``start`` on belong to
    ``generation``; a town's series crossing it is flagged as a method break like a change of publisher generation."""

    source_id: str
    measure: str
    source_level: str
    laender: tuple[str, ...]
    start: datetime.date
    generation: str


@dataclass(frozen=True)
class SourceSpec:
    """One entry of sources.yaml."""

    source_id: str
    title: str
    label_de: str  # short German name for table cells (the title is the reference)
    publisher: str
    licence: str
    licence_url: str
    attribution: str
    cadence: str  # prose for people; code decides with ``cycles``
    format: str
    parser: str
    files: tuple[FilePattern, ...]
    cycles: tuple[str, ...] = ()  # publishing cycles, names of sources.vintages.CYCLES (freshness, due dates)
    url: str | None = None
    url_template: str | None = None
    live: dict | None = None  # how live mode fetches releases (sources/live.py)
    required: bool = True  # False: a run without files of this source is not an error (the index says so)
    generation: str | None = None  # publisher method generation; a change between sources is a method break
    # the attribution in German where ``attribution`` is not ("{year}": the year of the release cited)
    attribution_de: str | None = None
    stage: dict | None = None  # plain staging generated from this (pipelines/assets/staging.py make_stage_asset)
    # {year: census}: the population counts from 31.12. of that year on rest on that census (a change from an
    # earlier base year includes the census's correction of the count; the pages say so)
    census_rebasings: dict[int, str] | None = None  # first year of counts on a census -> its name
    # {year: why}: the publisher says counts from that year on are only partly comparable with earlier ones
    comparability_breaks: dict[int, str] | None = None
    generation_breaks: tuple[GenerationBreak, ...] = ()
    # a folder only this source's files may be in (``strict_folder``): any other file there is an error, not
    # ignored (the towns name their deliveries by hand: coworking_01053090.CSV was skipped without a word)
    strict_folder: str | None = None
    file_names: str | None = None  # the file names expected, in words (the error names them)
    # how much older than its release a source's newest figures are, where that exceeds a publishing cycle (INKAR:
    # two years); the due date of a newer release counts it from the data's date (sources.vintages.release_due)
    publication_lag_months: int | None = None
    # measures the publisher gives with their year only; the parser sets a day by convention, pages show the year
    year_only_measures: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ReleaseFile:
    role: str
    path: Path
    relative_path: str
    sha256: str
    size_bytes: int
    layout: str | None = None


@dataclass
class Release:
    """All files of one vintage of one source."""

    source_id: str
    vintage: str
    files: list[ReleaseFile] = field(default_factory=list)
    revision: int = 1  # n-th different content landed for this vintage (a publisher's revision)
    landed_at: str | None = None  # UTC ISO time this content was first landed

    @property
    def label(self) -> str:
        """The vintage as stored with the data: a revised release becomes a new vintage, e.g. '2023-rev2'."""
        return self.vintage if self.revision == 1 else f"{self.vintage}-rev{self.revision}"

    def file(self, role: str, suffix: str | None = None) -> ReleaseFile:
        """The single file of a role (optionally with a given suffix, for shapefile parts)."""
        matches = [
            f for f in self.files if f.role == role and (suffix is None or f.path.suffix.lower() == suffix)
        ]
        if len(matches) != 1:
            names = ", ".join(f.relative_path for f in self.files) or "no files"
            raise SourceError(
                self.source_id,
                f"vintage {self.vintage}",
                f"expected exactly one '{role}{suffix or ''}' file, found {len(matches)} ({names})",
            )
        return matches[0]


def release_levels(spec: SourceSpec, release: Release) -> tuple[str, ...]:
    """The levels the file patterns of ``release``'s files declare (``FilePattern.levels``), in order, once each."""
    levels = [level for f in release.files for pattern in spec.files if pattern.pattern.fullmatch(f.relative_path)
              for level in pattern.levels]
    return tuple(dict.fromkeys(levels))


def label_vintage(label: str) -> str:
    """The vintage of a stored label: '2023-11-20-rev2' -> '2023-11-20' (``Release.label`` the other way)."""
    return str(label).partition("-rev")[0]


def load_sources(path: Path = SOURCES_YAML) -> dict[str, SourceSpec]:
    """Parse sources.yaml into SourceSpec objects, keyed by source id."""
    raw = read_yaml(path)
    specs = {}
    for source_id, entry in raw["sources"].items():
        patterns = tuple(
            FilePattern(
                pattern=re.compile(f["pattern"]),
                vintage=f["vintage"],
                role=f["role"],
                layout=f.get("layout"),
                levels=tuple(f.get("levels", [])),
            )
            for f in entry["files"]
        )
        fields = {k: entry.get(k) for k in ("title", "label_de", "publisher", "licence", "licence_url", "attribution",
                                            "cadence", "format", "parser", "url", "url_template", "live",
                                            "generation", "stage", "census_rebasings", "comparability_breaks", "attribution_de",
                                            "strict_folder", "file_names", "publication_lag_months")}
        for by_year in ("census_rebasings", "comparability_breaks"):  # YAML keys may be read as text: years, once
            if fields[by_year]:
                fields[by_year] = {int(year): name for year, name in fields[by_year].items()}
        if not str(fields["label_de"] or "").strip():
            raise ValueError(f"sources.yaml: source {source_id} has no label_de (its short German name on the pages)")
        specs[source_id] = SourceSpec(source_id=source_id, files=patterns, required=entry.get("required", True),
                                      generation_breaks=_generation_breaks(source_id, entry.get("generation_breaks")),
                                      year_only_measures=_year_only(source_id, entry.get("year_only_measures")),
                                      cycles=_cycles(source_id, entry.get("cycles")),
                                      **fields)
    return specs


@functools.cache
def sources() -> dict[str, SourceSpec]:
    """``load_sources()`` of the project's sources.yaml, read once per process (callers must not change it)."""
    return load_sources()


# The year a release id names ('vg250-2025-01-01', '2021-mitte', '2022-12'): the year an attribution cites. The same
# pattern in Python (``attribution_text``) and in the exports' SQL (warehouse/exports.py).
RELEASE_YEAR = r"(?:19|20)\d{2}"


def attribution_text(source_id: str, attribution: str | None, vintage: str | None,
                     specs: dict[str, SourceSpec] | None = None) -> str:
    """The attribution to print for a release of ``source_id``: its ``attribution_de`` with the release's year
    filled in ('© GeoBasis-DE / BKG (2021), Daten verändert'), else ``attribution`` as stored. Pages, downloads and
    exports print this one text (the exports printed the template's '(year of the vintage)')."""
    spec = (specs if specs is not None else sources()).get(source_id)
    if spec is None or not spec.attribution_de:
        return attribution or ""
    return with_release_year(spec.attribution_de, vintage)


def with_release_year(template: str, vintage: str | None) -> str:
    """``template`` with "{year}" replaced by the year the release id ``vintage`` names; without one, "({year})" or
    " {year}" is left out rather than printed empty ("BKG ()", "BBSR Bonn , INKAR"). The English attribution stored
    per release (``source_releases.attribution``) is filled the same way: a 2024 INKAR said "© BBSR Bonn 2022"."""
    year = re.search(RELEASE_YEAR, vintage or "")
    if not year:
        return re.sub(r"\s*(\(\{year\}\)|\{year\})", "", template)
    return template.replace("{year}", year.group(0))


def _year_only(source_id: str, given) -> frozenset[str]:
    """A source's ``year_only_measures``: a list of measure names (a string became a set of its letters)."""
    given = given or []
    if not isinstance(given, list) or not all(isinstance(m, str) and m for m in given):
        raise ValueError(f"sources.yaml: source {source_id}: year_only_measures must be a list of measure names, "
                         f"not {given!r}")
    return frozenset(given)


def _cycles(source_id: str, given) -> tuple[str, ...]:
    """A source's ``cycles``: names of sources.vintages.CYCLES, at least one, irregular alone."""
    if (not isinstance(given, list) or not given or not all(cycle in CYCLES for cycle in given)
            or ("irregular" in given and len(given) > 1)):
        raise ValueError(f"sources.yaml: source {source_id}: cycles must list its publishing cycles of "
                         f"{', '.join(CYCLES)} (irregular alone), not {given!r}")
    return tuple(given)


BREAK_FIELDS = {"measure", "source_level", "laender", "from", "generation"}
SOURCE_LEVELS = ("gemeinde", "gemeindeverband")  # observations.source_level (warehouse/tables.yaml)


def _generation_breaks(source_id: str, entries: list | None) -> tuple[GenerationBreak, ...]:
    """A source's ``generation_breaks`` entries; a ValueError names the source and the entry's problem."""
    breaks = []
    for number, entry in enumerate(entries or [], start=1):
        where = f"sources.yaml: source {source_id} generation_breaks entry {number}"
        if not isinstance(entry, dict) or set(entry) != BREAK_FIELDS:
            raise ValueError(f"{where}: needs exactly {', '.join(sorted(BREAK_FIELDS))}")
        laender = tuple(str(land) for land in entry["laender"] or ())
        if not laender or not all(re.fullmatch(r"\d{2}", land) for land in laender):
            raise ValueError(f"{where}: laender must list two-digit Land keys, got {entry['laender']!r}")
        if not isinstance(entry["from"], datetime.date) or not str(entry["generation"] or "").strip():
            raise ValueError(f"{where}: from must be a date (YYYY-MM-DD) and generation a name")
        if entry["source_level"] not in SOURCE_LEVELS or not str(entry["measure"] or "").strip():
            raise ValueError(f"{where}: source_level must be one of {', '.join(SOURCE_LEVELS)} and measure a measure "
                             f"name, got {entry['source_level']!r} and {entry['measure']!r}")
        breaks.append(GenerationBreak(source_id, str(entry["measure"]), str(entry["source_level"]), laender,
                                      entry["from"], str(entry["generation"])))
    return tuple(breaks)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def discover_releases(spec: SourceSpec, root: Path, strict: bool = True) -> list[Release]:
    """Every release of ``spec`` present under ``root``, sorted by vintage.

    Files are matched by their path relative to ``root``; a file matching no pattern
    is ignored, so a folder of downloads may hold other things too, except in the source's
    ``strict_folder``, where such a file raises SourceError naming it and the names expected (``strict``;
    the observation of every source's files passes False, so one misnamed town file cannot stop the others).
    """
    releases: dict[str, Release] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        for file_pattern in spec.files:
            match = file_pattern.pattern.fullmatch(relative)
            if not match:
                continue
            vintage = file_pattern.vintage.format(**match.groupdict())
            release = releases.setdefault(vintage, Release(spec.source_id, vintage))
            release.files.append(
                ReleaseFile(
                    role=file_pattern.role,
                    path=path,
                    relative_path=relative,
                    sha256=sha256_of(path),
                    size_bytes=path.stat().st_size,
                    layout=file_pattern.layout,
                )
            )
            break
        else:  # no pattern matches: ignored, unless the source's folder may hold only its own files
            if strict:
                _refuse_if_strict(spec, relative)
    return [releases[v] for v in sorted(releases)]


# what a file manager or an open workbook leaves in a folder: never a delivery
SYSTEM_FILE = re.compile(r"(?:.*/)?(?:\.[^/]*|~\$[^/]*|Thumbs\.db|desktop\.ini)", re.IGNORECASE)


def _refuse_if_strict(spec: SourceSpec, relative: str) -> None:
    """SourceError for a file in the source's ``strict_folder`` that matches none of its patterns."""
    folder = spec.strict_folder
    if folder and relative.startswith(folder.rstrip("/") + "/") and not SYSTEM_FILE.fullmatch(relative):
        expected = spec.file_names or "; ".join(f.pattern.pattern for f in spec.files)
        raise SourceError(spec.source_id, relative, f"is not a file name this folder may hold, so it would be "
                                                    f"ignored; expected: {expected}")
