"""``python3 make.py validate`` (= ``python -m hlstudy.validation``): the full recovery study.

First the pseudo-truth of the regressions on scale scores
(:func:`~hlstudy.validation.estimand_truth`, ``--estimand-studies`` pooled studies per
scenario; the ``small`` scenario shares the default's population), written as
``estimand_truth.csv`` and ``reliability.csv``; then the replications.  Writes
``recovery.csv.gz`` (every replication × quantity, :data:`~hlstudy.validation.COLUMNS`,
gzip with a fixed time stamp so that the same run gives the same bytes) and
``manifest.json`` (scenarios, seeds, replications per scenario, the git commit of the code,
the SHA-256 of every source file and rule file the results depend on
(:mod:`hlstudy.validation.sources`), the seconds each step took) to ``--out`` (default
``data/validation/``, committed, read by notebook 07).  Large runs belong in ``build/``
(git-ignored): ``--out build/validation``, then point notebook 07 at it (parameter
``RESULTS``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd

from hlstudy.errors import ModelError
from hlstudy.paths import ROOT
from hlstudy.validation.replications import COLUMNS, recovery, scenarios
from hlstudy.validation.sources import FILES_KEY, SCENARIO_KEY, set_id, source_digests

DEFAULT_OUT = ROOT / "data" / "validation"
RESULTS_FILE = "recovery.csv.gz"
MANIFEST_FILE = "manifest.json"
ESTIMAND_FILE = "estimand_truth.csv"
RELIABILITY_FILE = "reliability.csv"
#: Scenarios whose population is another one's (the sample size does not change it).
SAME_POPULATION = {"small": "default"}


def git_commit() -> str:
    """The commit of the working tree (``+dirty`` when tracked files differ), or ``""``."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                "hlstudy"], cwd=ROOT, capture_output=True, text=True,
                               check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return head + ("+dirty" if dirty else "")


def write_estimand(table: pd.DataFrame, reliability: pd.DataFrame, out: str | Path) -> None:
    """Write the pseudo-truth and reliability tables (CSV, ``%.6g``, byte-reproducible)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / ESTIMAND_FILE, index=False, float_format="%.6g", lineterminator="\n")
    reliability.to_csv(out / RELIABILITY_FILE, index=False, float_format="%.6g",
                       lineterminator="\n")


def read_estimand(folder: str | Path = DEFAULT_OUT) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tables of :func:`write_estimand` (raises ModelError if absent)."""
    folder = Path(folder)
    path = folder / ESTIMAND_FILE
    if not path.is_file():
        raise ModelError(f"no estimand truth in {folder}: run python3 make.py validate")
    return pd.read_csv(path), pd.read_csv(folder / RELIABILITY_FILE)


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
    if "truth_estimand" not in res.columns:  # runs before the estimand truth
        res.insert(COLUMNS.index("truth_estimand"), "truth_estimand", np.nan)
    for c in ("verdict_truth", "verdict"):
        res[c] = res[c].fillna("")
    res.loc[res["truth"].abs() < 1e-12, "truth"] = 0.0  # -1e-17 from older runs is an exact 0
    manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    return res, manifest


def provenance(manifest: dict) -> pd.DataFrame:
    """Where each scenario's results come from, one row per scenario, from a manifest of
    :func:`write_results`: ``scenario, commit, replications, latent_sem`` (bool: the latent
    SEM was fitted), sorted by commit then scenario.

    ``--resume`` keeps scenarios computed at earlier commits, so one results file may hold
    several commits (``git_commits``); a manifest older than that field gives ``git_commit``
    for every scenario, and ``""`` when neither is recorded.

    >>> provenance({"replications": {"a": 2}, "git_commit": "abc", "latent_sem": []})
      scenario commit  replications  latent_sem
    0        a    abc             2       False
    """
    reps = manifest.get("replications", {}) or {}
    commits = manifest.get("git_commits", {}) or {}
    latent = set(manifest.get("latent_sem", []) or [])
    rows = [{"scenario": name, "commit": str(commits.get(name, manifest.get("git_commit", "")) or ""),
             "replications": int(n), "latent_sem": name in latent} for name, n in reps.items()]
    out = pd.DataFrame(rows, columns=["scenario", "commit", "replications", "latent_sem"])
    return out.sort_values(["commit", "scenario"], kind="mergesort", ignore_index=True)


def _counts(spec: str, names: list[str], default: int) -> dict[str, int]:
    """``"path_off=15,small=20"`` → replications per scenario (others: ``default``)."""
    out = dict.fromkeys(names, default)
    for part in (p for p in spec.split(",") if p.strip()):
        name, _, n = part.partition("=")
        if name.strip() not in out or not n.strip().isdigit() or int(n) < 1:
            raise ModelError(f"bad --scenario-replications entry {part!r} (scenario=N, N ≥ 1, "
                             f"scenarios {names})")
        out[name.strip()] = int(n)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 make.py validate", description=__doc__)
    parser.add_argument("--replications", type=int, default=25,
                        help="replications per scenario (seeds 1..N, the same in every scenario)")
    parser.add_argument("--scenario-replications", default="",
                        help="other counts for some scenarios, e.g. path_off=15,small=15")
    parser.add_argument("--scenarios", default=",".join(scenarios()),
                        help="comma-separated scenario names (default: all)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output folder")
    parser.add_argument("--no-wild", action="store_true", help="skip the wild bootstrap intervals")
    parser.add_argument("--estimand-studies", type=int, default=50,
                        help="pooled studies per scenario for the observed-score pseudo-truth")
    parser.add_argument("--reuse-estimand", action="store_true",
                        help="read the pseudo-truth already in --out instead of recomputing it")
    parser.add_argument("--resume", action="store_true",
                        help="keep the scenarios already in --out with the asked replications "
                             "(and their pseudo-truth); run only the others")
    args = parser.parse_args(argv)
    names = [s for s in args.scenarios.split(",") if s]
    known = scenarios()
    unknown = [s for s in names if s not in known]
    if unknown or args.replications < 1 or args.estimand_studies < 2:
        parser.error(f"unknown scenarios {unknown}; known: {sorted(known)}" if unknown
                     else "--replications must be at least 1, --estimand-studies at least 2")
    try:
        counts = _counts(args.scenario_replications, names, args.replications)
    except ModelError as err:
        parser.error(str(err))
    from hlstudy import __version__ as version
    from hlstudy.validation.estimand import attach_icc_estimand, estimand_truth, pooled_scores

    start = time.perf_counter()
    seconds: dict[str, float] = {}
    commit = git_commit()
    digests = source_digests()   # the code and rules as this run read them
    digest_id = set_id(digests)
    done_before, old, old_manifest = [], None, {}
    if args.resume and (Path(args.out) / RESULTS_FILE).is_file():
        old, old_manifest = read_results(args.out)
        had = old_manifest.get("replications", {})
        done_before = [n for n in names if isinstance(had, dict) and had.get(n) == counts[n]
                       and n in set(old["scenario"])]
        old = old[old["scenario"].isin(done_before)]
        seconds.update({k: v for k, v in old_manifest.get("seconds", {}).items()
                        if k.split(" ")[-1] in done_before or k.startswith("estimand ")})
    if args.reuse_estimand or args.resume:
        table, rel = read_estimand(args.out)
    else:
        tables, rels, pools = [], [], {}
        for name in names:
            t0 = time.perf_counter()
            base = SAME_POPULATION.get(name, name)
            if base not in pools:
                pools[base] = pooled_scores(base, studies=args.estimand_studies,
                                            workers=args.workers)
            pool = pools[base].assign(scenario=name)
            tab, r = estimand_truth(name, pooled=pool, batches=min(10, args.estimand_studies))
            tables.append(tab)
            rels.append(r)
            seconds[f"estimand {name}"] = round(time.perf_counter() - t0, 1)
            print(f"[validate] estimand truth {name}: {seconds[f'estimand {name}']:.0f} s",
                  flush=True)
        table = pd.concat(tables, ignore_index=True)
        rel = pd.concat(rels, ignore_index=True)
        write_estimand(table, rel, args.out)
    frames = [old] if old is not None and len(old) else []
    commits = {n: old_manifest.get("git_commits", {}).get(n, old_manifest.get("git_commit", ""))
               for n in done_before}
    old_sets = old_manifest.get(FILES_KEY, {}) or {}
    sets = {n: (old_manifest.get(SCENARIO_KEY, {}) or {}).get(n, "") for n in done_before}
    for name in names:
        if name in done_before:
            print(f"[validate] {name}: kept from {args.out}", flush=True)
            continue
        commits[name] = commit
        sets[name] = digest_id
        t0 = time.perf_counter()
        seeds = list(range(1, counts[name] + 1))
        frames.append(attach_icc_estimand(
            recovery(seeds, scenario=name, workers=args.workers, wild=not args.no_wild,
                     estimand=table[table["scenario"] == name]), rel[rel["scenario"] == name]))
        seconds[name] = round(time.perf_counter() - t0, 1)
        print(f"[validate] {name}: {len(seeds)} replications in {seconds[name]:.0f} s",
              flush=True)
        results = pd.concat(frames, ignore_index=True)  # written after every scenario
        results = results.sort_values(["scenario", "seed", "kind", "quantity", "method"],
                                      kind="mergesort", ignore_index=True)
        done = [n for n in names if n in set(results["scenario"])]
        extra = ",".join(f"{n}={c}" for n, c in counts.items() if c != args.replications)
        manifest = {"replications": {n: counts[n] for n in done},
                    "seeds": {n: f"1..{counts[n]}" for n in done},
                    "scenarios": {n: known[n].description for n in done},
                    "latent_sem": sorted(n for n in done if known[n].latent_sem),
                    "estimand_studies": int(table["n_studies"].max()),
                    "wild": not args.no_wild, "hlstudy": version, "git_commit": commit,
                    "git_commits": {n: commits[n] for n in done},
                    SCENARIO_KEY: {n: sets[n] for n in done},
                    FILES_KEY: {k: (digests if k == digest_id else old_sets.get(k, {}))
                                for k in sorted({sets[n] for n in done} - {""})},
                    "seconds": dict(sorted(seconds.items())),
                    "seconds_total": round(sum(seconds.values()), 1),
                    "workers": args.workers,
                    "command": "python3 make.py validate --replications "
                               f"{args.replications}"
                               + (f" --scenario-replications {extra}" if extra else "")
                               + f" --estimand-studies {args.estimand_studies}"
                               + (" --no-wild" if args.no_wild else "")
                               + (f" --scenarios {','.join(names)}" if names != list(known)
                                  else "")}
        path = write_results(results, args.out, manifest)
    if source_digests() != digests:
        print("[validate] warning: source or rule files changed during the run; the manifest "
              "records them as they were when it began", flush=True)
    print(f"[validate] {len(results)} rows written to {path} "
          f"({time.perf_counter() - start:.0f} s in all)", flush=True)
    return 0
