"""Benchmark of hlstudy.sem against lavaan on this machine: the officials' full SEM.

Run:  .venv/bin/python benchmarks/bench_sem.py [--repeat 3] [--bootstrap 1000] [--no-r]

The model of the thesis: one factor per construct of ``data/instrument/constructs.csv``
(officials: 14 constructs, 58 items via ``hlstudy.scales.scale_items("officials")``) and the
structural paths of ``hlstudy.synthetic.DEFAULT_EFFECTS`` among them, with the observed
covariates EDU (rank of ``education_level``, 0 = none ... 6 = doctorate) and TENURE
(``years_in_post``); the indirect effects of COMP, ENV and REC on STAY through MOT are
``:=`` parameters.  Data: ``hlstudy.load_study().officials`` (the demonstration data).

1. FIML + MLR fit: ``hlstudy.sem.sem(d, model, missing="ml", estimator="MLR")`` vs
   ``lavaan::sem(model, d, missing = "ml", estimator = "MLR")``.
2. Bootstrap (listwise ML, ``--bootstrap`` draws) of the indirect effects: ``se="bootstrap"``
   vs ``lavaan::sem(..., se = "bootstrap", bootstrap = B)``.

The data are written to ``build/bench_sem_officials.csv`` and ``benchmarks/bench_sem.R`` is
run with ``Rscript`` when it is on the PATH; the best of ``--repeat`` runs is reported for both
sides with the ratio lavaan time / hlstudy time (> 1: hlstudy is faster).  numpy runs with one
BLAS thread (Debian's R uses the single-threaded reference BLAS).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import pandas as pd  # noqa: E402

import hlstudy  # noqa: E402
from hlstudy.paths import ROOT  # noqa: E402
from hlstudy.scales import scale_items  # noqa: E402
from hlstudy.sem import sem  # noqa: E402
from hlstudy.synthetic._model import DEFAULT_EFFECTS  # noqa: E402

EDU_RANK = {"none": 0, "elementary": 1, "intermediate": 2, "college": 3, "university": 4,
            "master": 5, "doctorate": 6}
MEDIATED = ("COMP", "ENV", "REC")


def officials_syntax() -> str:
    """lavaan syntax of the benchmark's model: the officials' constructs, the simulator's
    paths among them and the indirect effects through MOT (no data needed)."""
    items = scale_items("officials")
    lines = [f"{c} =~ " + " + ".join(v) for c, v in items.items()]
    effects: dict[str, list[str]] = {}
    for path in DEFAULT_EFFECTS:
        cause, effect = path.split("->")
        if effect in items and (cause in items or cause in ("EDU", "TENURE")):
            effects.setdefault(effect, []).append(cause)
    for effect, causes in effects.items():
        terms = []
        for c in causes:
            if effect == "MOT" and c in MEDIATED:
                terms.append(f"a_{c}*{c}")
            elif effect == "STAY" and c == "MOT":
                terms.append(f"b*{c}")
            else:
                terms.append(c)
        lines.append(f"{effect} ~ " + " + ".join(terms))
    for c in MEDIATED:
        lines.append(f"ind_{c} := a_{c}*b")
    return "\n".join(lines)


def officials_model() -> tuple[str, pd.DataFrame]:
    """(lavaan syntax of the benchmark's model, data frame with items, EDU and TENURE)."""
    study = hlstudy.load_study()
    items = scale_items("officials")
    d = study.officials[[i for v in items.values() for i in v]].copy()
    d["EDU"] = study.officials["education_level"].map(EDU_RANK).astype(float)
    d["TENURE"] = study.officials["years_in_post"].astype(float)
    return officials_syntax(), d


def _best(fn, repeat):
    """(best wall time, best CPU time, result): CPU time (user + system of this process) is
    what a shared machine does not distort; with one BLAS thread it equals the wall time of
    an idle machine."""
    best, best_cpu = float("inf"), float("inf")
    out = None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        best = min(best, time.perf_counter() - t)
        best_cpu = min(best_cpu, time.process_time() - c)
    return best, best_cpu, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--no-r", action="store_true")
    args = ap.parse_args()
    model, data = officials_model()
    out_dir = ROOT / "build"
    out_dir.mkdir(exist_ok=True)
    csv = out_dir / "bench_sem_officials.csv"
    data.to_csv(csv, index=False)
    (out_dir / "bench_sem_model.lav").write_text(model + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_fit, c_fit, res = _best(lambda: sem(data, model, missing="ml", estimator="MLR"),
                                  args.repeat)
        t_boot, c_boot, boot = _best(lambda: sem(data, model, se="bootstrap",
                                                 bootstrap=args.bootstrap, seed=1), 1)
    fm = res.fit_measures()
    print(f"officials SEM: {res.nobs} respondents used (FIML), {res.n_dropped} dropped; "
          f"{int(fm['npar'])} parameters; chi2 {fm['chisq']:.3f} (scaled "
          f"{fm['chisq.scaled']:.3f}) on {int(fm['df'])} df; converged {res.converged}")
    pe = boot.parameter_estimates()
    print(pe[pe["op"] == ":="][["lhs", "est", "se", "ci.lower", "ci.upper"]].to_string(index=False))
    rows = {"fiml_mlr_fit": (t_fit, c_fit), "bootstrap": (t_boot, c_boot)}
    r_times = {}
    if not args.no_r and shutil.which("Rscript"):
        proc = subprocess.run(
            ["Rscript", str(ROOT / "benchmarks" / "bench_sem.R"), str(csv),
             str(out_dir / "bench_sem_model.lav"), str(args.repeat), str(args.bootstrap)],
            capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            r_times = json.loads(proc.stdout.strip().splitlines()[-1])
            print("\n".join(ln for ln in proc.stderr.splitlines() if ln.startswith("lavaan")))
        else:
            print("Rscript failed:", proc.stderr[-2000:])
    print(f"bootstrap: {args.bootstrap} draws; times in seconds (wall / CPU); ratio = lavaan "
          "CPU / hlstudy CPU")
    print(f"{'task':<14} {'hlstudy wall':>12} {'hlstudy cpu':>12} {'lavaan wall':>12} "
          f"{'lavaan cpu':>11} {'ratio':>6}")
    for k, (w, c) in rows.items():
        rw = r_times.get(k, float("nan"))
        rc = r_times.get(k + "_cpu", float("nan"))
        print(f"{k:<14} {w:12.2f} {c:12.2f} {rw:12.2f} {rc:11.2f} {rc / c:6.2f}")


if __name__ == "__main__":
    main()
