"""Benchmark: CPU seconds of each source's parser and parse-time contract check, and a hash of the parsed frames.

Run on demand (a benchmark, not a test)::

    .venv/bin/python benchmarks/parse_cpu.py BUILD breitbandatlas destatis_gemeindeverzeichnis inkar
    .venv/bin/python benchmarks/parse_cpu.py BUILD breitbandatlas --code OLD_TREE   # e.g. from `git archive`

``BUILD`` is a folder kept by a full-Germany run (``benchmarks/run_all.py --keep BUILD``); its working and staging
files are copied into a temporary folder (the build is only read) and every landed release of each source is
parsed and contract-checked as ``pipelines.assets.staging.parse_all`` does, twice, printing the lower CPU seconds.
``--code`` runs another checkout's parsers and contracts (old and new alternately on a shared machine: compare CPU,
not wall seconds). The hash covers every parsed frame's values by content, dtypes, columns, index and length, so
two code versions that parse alike print the same hash.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import sys
import tempfile
import time
from pathlib import Path


def parsed_hash(parsed) -> str:
    """Content hash of (release, table) frames: equal strings hash alike whether shared or not."""
    import pandas as pd

    digest = hashlib.sha256()
    for release, tables in parsed:
        for key, table in sorted(tables.items()):
            digest.update(f"{release.label}/{key}/{list(table.columns)}/{[str(d) for d in table.dtypes]}/"
                          f"{len(table)}".encode())
            digest.update(pd.util.hash_pandas_object(table, index=True).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", type=Path, help="folder of a full-Germany build (warehouse/, raw/)")
    parser.add_argument("sources", nargs="+", help="source ids (sources.yaml)")
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="repository whose parsers and contracts run (default: this one)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.code.resolve()))
    import pandas as pd

    pd.set_option("mode.copy_on_write", True)  # as the pipeline runs (pipelines/__init__.py)
    from benchmarks.staging_steps import copied_build
    from pipelines.assets import staging
    from pipelines.assets.raw import landed_releases
    from sources import contracts

    print(f"code {Path(staging.__file__).resolve().parents[2]}, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="parse-cpu-") as tmp:
        settings = copied_build(args.build, Path(tmp))
        with settings.work() as con:
            for source_id in args.sources:
                module_name, function_name = staging.SOURCES[source_id].parser.split(":")
                parse = getattr(importlib.import_module(module_name), function_name)
                releases = landed_releases(con, source_id)
                context = staging._register_context(con, source_id)
                best = (float("inf"), float("inf"))
                for _ in range(2):
                    started = time.process_time()
                    parsed = [(release, parse(release)) for release in releases]
                    parsed_at = time.process_time()
                    contracts.check_source(source_id, parsed, *context)
                    best = (min(best[0], parsed_at - started), min(best[1], time.process_time() - parsed_at))
                print(f"{source_id}: parse {best[0]:.2f} CPU s, contract check {best[1]:.2f} CPU s (lower of 2); "
                      f"parsed frames {parsed_hash(parsed)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
