"""Which sources changed since their staging assets last ran: unchanged ones are skipped.

A staging asset records, after it succeeded, a fingerprint of the releases it parsed and of the
code that parses them. When both are the same on the next run, its tables in the working
database are still exact and parsing is skipped; any new, revised or withdrawn release, or a
change of the parsing code, makes it run again.
"""

import functools
import hashlib
from pathlib import Path

from dagster import AssetExecutionContext, MaterializeResult

from warehouse import PROJECT_ROOT

# the code whose change must re-stage every source
PARSING_CODE = [*sorted((PROJECT_ROOT / "sources").glob("*.py")), PROJECT_ROOT / "sources.yaml",
                PROJECT_ROOT / "pipelines" / "assets" / "staging.py", PROJECT_ROOT / "indicators" / "territory.py",
                PROJECT_ROOT / "warehouse" / "staging.sql"]


def code_fingerprint(paths: list[Path] = PARSING_CODE) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


CODE_FINGERPRINT = code_fingerprint()


def release_fingerprint(con, source_ids: list[str]) -> str:
    """sha256 over the release records (vintage, revision, file, content hash) of the sources, plus the code."""
    rows = con.execute("""SELECT source_id, vintage, revision, file, sha256 FROM releases
                          WHERE list_contains(?, source_id) ORDER BY ALL""", [source_ids]).fetchall()
    return hashlib.sha256((CODE_FINGERPRINT + repr(rows)).encode()).hexdigest()


def unchanged_since_staged(con, asset_name: str, source_ids: list[str]) -> bool:
    """True when the asset last staged exactly these releases with this code."""
    con.execute("CREATE TABLE IF NOT EXISTS staged_releases (asset VARCHAR PRIMARY KEY, fingerprint VARCHAR)")
    staged = con.execute("SELECT fingerprint FROM staged_releases WHERE asset = ?", [asset_name]).fetchone()
    return staged is not None and staged[0] == release_fingerprint(con, source_ids)


def mark_staged(con, asset_name: str, source_ids: list[str]) -> None:
    """Record what the asset just staged (call last, after its tables are written)."""
    con.execute("CREATE TABLE IF NOT EXISTS staged_releases (asset VARCHAR PRIMARY KEY, fingerprint VARCHAR)")
    con.execute("INSERT OR REPLACE INTO staged_releases VALUES (?, ?)",
                [asset_name, release_fingerprint(con, source_ids)])


def skipped_metadata(source_ids: list[str]) -> dict:
    return {"skipped": True, "summary": f"skipped: releases of {', '.join(source_ids)} unchanged since last staged"}


def skip_when_unchanged(*source_ids: str):
    """Decorate a staging asset: skip it when its sources' releases are the ones it last staged.

    Goes between ``@asset`` and the function; the asset's name is the function's name.
    """
    def decorate(compute):
        @functools.wraps(compute)
        def staged(context: AssetExecutionContext, settings):
            name = compute.__name__
            with settings.work() as con:
                if unchanged_since_staged(con, name, list(source_ids)):
                    context.log.info(f"{name}: skipped, releases of {', '.join(source_ids)} unchanged")
                    return MaterializeResult(metadata=skipped_metadata(list(source_ids)))
            result = compute(context, settings)
            with settings.work() as con:
                mark_staged(con, name, list(source_ids))
            return result
        return staged
    return decorate
