"""Benchmark of hlstudy.models on the demonstration study, beside R on this machine.

Run:  .venv/bin/python benchmarks/bench_models.py [--repeat 3] [--no-r]

Model: PRO ~ TRAIN + MOT + ENV + COMP + edu + years, officials clustered in 23 communes
(tests/fixtures/models/study.csv, 421 complete rows).

1. ``ols(..., vcov="CR2", wild=False)``: CR2 + Satterthwaite df of every coefficient, vs R
   ``clubSandwich::coef_test(fit, vcov = "CR2", cluster = ..., test = "Satterthwaite")`` plus
   ``conf_int``.
2. ``ols(..., wild=True)``: the same plus the wild cluster restricted bootstrap (9,999
   Rademacher draws through ``wildboottest``) p-value and test-inversion interval of the 7
   slopes (no R counterpart here: fwildclusterboot is not packaged by Debian).
3. ``mixed(...)``: random intercept, REML, Satterthwaite df, vs ``lmerTest::lmer`` + ``summary``.

The best of ``--repeat`` runs is reported for both sides (the first wild run also compiles the
numba kernel of wildboottest; it is reported separately).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import pandas as pd  # noqa: E402

from hlstudy.models import mixed, ols  # noqa: E402
from hlstudy.paths import ROOT  # noqa: E402

STUDY = ROOT / "tests" / "fixtures" / "models" / "study.csv"
FORMULA = "PRO ~ TRAIN + MOT + ENV + COMP + edu + years"

R_SCRIPT = r"""
suppressPackageStartupMessages({{library(clubSandwich); library(lmerTest)}})
d <- read.csv("{path}", colClasses = c(commune_code = "character", edu = "character"))
d <- d[complete.cases(d), ]
best_c <- Inf; best_m <- Inf
for (i in seq_len({repeat})) {{
  t <- system.time({{
    fit <- lm({formula}, data = d)
    ct <- coef_test(fit, vcov = "CR2", cluster = d$commune_code, test = "Satterthwaite")
    ci <- conf_int(fit, vcov = "CR2", cluster = d$commune_code, test = "Satterthwaite")
  }})[["elapsed"]]
  best_c <- min(best_c, t)
  t <- system.time({{
    m <- lmer({formula} + (1 | commune_code), data = d, REML = TRUE)
    s <- summary(m)
  }})[["elapsed"]]
  best_m <- min(best_m, t)
}}
cat("RESULT", best_c, best_m, "\n")
"""


def best_of(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def run_r(repeat):
    if shutil.which("Rscript") is None:
        return None
    script = R_SCRIPT.format(path=STUDY.as_posix(), repeat=repeat, formula=FORMULA)
    proc = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT"):
            cr2, lmer = map(float, line.split()[1:3])
            return {"cr2": cr2, "lmer": lmer}
    print("Rscript failed:\n", proc.stderr[-2000:])
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-r", action="store_true", help="skip the R timings")
    args = ap.parse_args()
    d = pd.read_csv(STUDY, dtype={"commune_code": str, "edu": str})

    t_cr2, _ = best_of(lambda: ols(d, FORMULA, cluster="commune_code", wild=False), args.repeat)
    t0 = time.perf_counter()
    ols(d, FORMULA, cluster="commune_code", wild_reps=9999)
    t_first = time.perf_counter() - t0
    t_wild, fit = best_of(lambda: ols(d, FORMULA, cluster="commune_code", wild_reps=9999), args.repeat)
    t_mix, _ = best_of(lambda: mixed(d, FORMULA, group="commune_code"), args.repeat)
    print(f"OLS + CR2/Satterthwaite (8 coefficients)      : {t_cr2:7.3f} s")
    print(f"  + wild bootstrap, 9999 draws, 7 intervals   : {t_wild:7.3f} s "
          f"(first call, with numba compilation: {t_first:.2f} s)")
    print(f"random intercept + Satterthwaite df           : {t_mix:7.3f} s")
    r = None if args.no_r else run_r(args.repeat)
    if r is not None:
        print(f"R lm + clubSandwich coef_test/conf_int        : {r['cr2']:7.3f} s "
              f"(ratio R/Python {r['cr2'] / t_cr2:5.1f}x)")
        print(f"R lmerTest::lmer + summary                    : {r['lmer']:7.3f} s "
              f"(ratio R/Python {r['lmer'] / t_mix:5.1f}x)")
    else:
        print("R not run (Rscript missing or --no-r)")
    print(fit.coefficients.round(4).to_string())


if __name__ == "__main__":
    main()
