"""``python3 make.py validate`` (= ``python -m hlstudy.validation``): the full recovery study.

Writes ``recovery.csv.gz`` (every replication × quantity, :data:`~hlstudy.validation.COLUMNS`,
gzip with a fixed time stamp so that the same run gives the same bytes) and
``manifest.json`` (scenarios, seeds, replications, package version) to ``--out`` (default
``data/validation/``, committed, read by notebook 07).  Large runs belong in ``build/``
(git-ignored): ``--out build/validation``, then point notebook 07 at it (parameter
``RESULTS``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from hlstudy.errors import ModelError
from hlstudy.paths import ROOT
from hlstudy.validation.replications import COLUMNS, recovery, scenarios

DEFAULT_OUT = ROOT / "data" / "validation"
RESULTS_FILE = "recovery.csv.gz"
MANIFEST_FILE = "manifest.json"


def write_results(results: pd.DataFrame, out: str | Path, manifest: dict) -> Path:
    """Write ``results`` and ``manifest`` to the folder ``out`` (byte-reproducible)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / RESULTS_FILE
    results[COLUMNS].to_csv(path, index=False, float_format="%.6g", lineterminator="\n",
                            compression={"method": "gzip", "mtime": 0})
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True,
                                                ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_results(folder: str | Path = DEFAULT_OUT) -> tuple[pd.DataFrame, dict]:
    """Results and manifest written by :func:`write_results` (raises ModelError if absent)."""
    folder = Path(folder)
    path = folder / RESULTS_FILE
    if not path.is_file():
        raise ModelError(f"no validation results in {folder}: run python3 make.py validate")
    res = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={
        "verdict_truth": str, "verdict": str})
    for c in ("verdict_truth", "verdict"):
        res[c] = res[c].fillna("")
    res.loc[res["truth"].abs() < 1e-12, "truth"] = 0.0  # -1e-17 from older runs is an exact 0
    manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    return res, manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 make.py validate", description=__doc__)
    parser.add_argument("--replications", type=int, default=20,
                        help="replications per scenario (seeds 1..N, the same in every scenario)")
    parser.add_argument("--scenarios", default=",".join(scenarios()),
                        help="comma-separated scenario names (default: all)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output folder")
    parser.add_argument("--no-wild", action="store_true", help="skip the wild bootstrap intervals")
    args = parser.parse_args(argv)
    names = [s for s in args.scenarios.split(",") if s]
    known = scenarios()
    unknown = [s for s in names if s not in known]
    if unknown or args.replications < 1:
        parser.error(f"unknown scenarios {unknown}; known: {sorted(known)}" if unknown
                     else "--replications must be at least 1")
    seeds = list(range(1, args.replications + 1))
    from hlstudy import __version__ as version

    frames = []
    start = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        frames.append(recovery(seeds, scenario=name, workers=args.workers, wild=not args.no_wild))
        print(f"[validate] {name}: {len(seeds)} replications in {time.perf_counter() - t0:.0f} s",
              flush=True)
        results = pd.concat(frames, ignore_index=True)  # written after every scenario
        done = names[: len(frames)]
        manifest = {"replications": args.replications, "seeds": f"1..{args.replications}",
                    "scenarios": {n: known[n].description for n in done},
                    "wild": not args.no_wild, "hlstudy": version,
                    "command": "python3 make.py validate --replications "
                               f"{args.replications}" + (" --no-wild" if args.no_wild else "")
                               + (f" --scenarios {','.join(names)}" if names != list(known) else "")}
        path = write_results(results, args.out, manifest)
    print(f"[validate] {len(results)} rows written to {path} "
          f"({time.perf_counter() - start:.0f} s in all)", flush=True)
    return 0
