"""Benchmark of the measurement routines against R's psych on this machine.

Run:  .venv/bin/python benchmarks/bench_measurement.py [--repeat 3] [--no-r]

1. Parallel analysis of psych's ``bfi`` (25 items, 2800 respondents, 100 iterations):
   ``hlstudy.factor.parallel_analysis`` vs ``psych::fa.parallel(x, n.iter = 100)``.
2. Bootstrap CI of Cronbach's alpha (bfi agreeableness, 1,000 draws):
   ``hlstudy.reliability.cronbach_alpha(x, bootstrap=1000)`` vs ``psych::alpha(x, n.iter = 1000)``.
3. A synthetic survey of 15,000 respondents x 120 items (10 scales of 12 items): KMO, alpha
   of every scale and a 10-factor minres/oblimin EFA (target: < 10 s in total).

R is called through ``Rscript`` when it is on the PATH (psych and GPArotation installed); the
best of ``--repeat`` runs is reported for both sides, and the ratio R time / Python time.
psych runs its iterations through ``parallel::mclapply`` with R's default number of cores.

BLAS threads: Debian's R uses the single-threaded reference BLAS.  numpy's OpenBLAS starts one
thread per core, which on a small shared machine makes the many small matrix operations here
several times slower (threads wait for busy cores).  The script therefore runs numpy with one
BLAS thread unless ``OPENBLAS_NUM_THREADS`` is already set.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from hlstudy import factor, reliability  # noqa: E402
from hlstudy.paths import ROOT  # noqa: E402

BFI = ROOT / "tests" / "fixtures" / "psych" / "bfi.csv"
AGREE = ["A1", "A2", "A3", "A4", "A5"]

R_SCRIPT = r"""
suppressMessages(library(psych))
x <- read.csv("{bfi}")[, 1:25]
a <- x[, c("A1", "A2", "A3", "A4", "A5")]; a$A1 <- 7 - a$A1
best_p <- Inf; best_a <- Inf
for (i in seq_len({repeat})) {{
  set.seed(i)
  t <- system.time(p <- fa.parallel(x, n.iter = 100, plot = FALSE))[["elapsed"]]
  best_p <- min(best_p, t)
  t <- system.time(al <- alpha(a, n.iter = 1000))[["elapsed"]]
  best_a <- min(best_a, t)
}}
cat("RESULT", best_p, best_a, p$nfact, p$ncomp, al$boot.ci[1], al$boot.ci[3], "\n")
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
    script = R_SCRIPT.format(bfi=BFI.as_posix(), repeat=repeat)
    proc = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT"):
            parts = line.split()[1:]
            return {"parallel": float(parts[0]), "alpha_boot": float(parts[1]),
                    "nfact": int(parts[2]), "ncomp": int(parts[3]),
                    "boot_ci": (float(parts[4]), float(parts[5]))}
    print("Rscript failed:\n", proc.stderr[-2000:])
    return None


def synthetic_survey(n=15_000, n_scales=10, per_scale=12, seed=2026):
    """Likert answers (1-5) from 10 correlated factors, 12 items each, plus 2% missing."""
    rng = np.random.default_rng(seed)
    phi = np.full((n_scales, n_scales), 0.3) + 0.7 * np.eye(n_scales)
    f = rng.standard_normal((n, n_scales)) @ np.linalg.cholesky(phi).T
    load = rng.uniform(0.5, 0.8, size=(n_scales, per_scale))
    cols, data = [], []
    for s in range(n_scales):
        for j in range(per_scale):
            lam = load[s, j]
            y = lam * f[:, s] + np.sqrt(1 - lam**2) * rng.standard_normal(n)
            data.append(np.digitize(y, [-1.3, -0.4, 0.4, 1.3]) + 1.0)
            cols.append(f"S{s + 1:02d}_{j + 1:02d}")
    x = np.column_stack(data)
    x[rng.random(x.shape) < 0.02] = np.nan
    scales = {f"S{s + 1:02d}": cols[s * per_scale:(s + 1) * per_scale] for s in range(n_scales)}
    return pd.DataFrame(x, columns=cols), scales


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-r", action="store_true", help="skip the R timings")
    args = ap.parse_args()

    bfi = pd.read_csv(BFI).iloc[:, :25]
    agree = bfi[AGREE].copy()
    agree["A1"] = 7 - agree["A1"]

    t_pa, pa = best_of(lambda: factor.parallel_analysis(bfi, n_iter=100, seed=1,
                                                        show_progress=False), args.repeat)
    t_boot, al = best_of(lambda: reliability.cronbach_alpha(agree, bootstrap=1000, seed=1,
                                                            show_progress=False), args.repeat)
    print(f"parallel analysis, bfi, 100 iterations : {t_pa:7.3f} s  -> {pa.n_factors} factors, "
          f"{pa.n_components} components")
    print(f"alpha bootstrap, 1000 draws            : {t_boot:7.3f} s  -> 95% CI "
          f"[{al.boot_ci[0]:.3f}, {al.boot_ci[1]:.3f}]")

    r = None if args.no_r else run_r(args.repeat)
    if r is not None:
        print(f"psych::fa.parallel                     : {r['parallel']:7.3f} s  -> {r['nfact']} "
              f"factors, {r['ncomp']} components  (ratio R/Python {r['parallel'] / t_pa:5.1f}x)")
        print(f"psych::alpha(n.iter = 1000)            : {r['alpha_boot']:7.3f} s  -> 95% CI "
              f"[{r['boot_ci'][0]:.3f}, {r['boot_ci'][1]:.3f}]  "
              f"(ratio R/Python {r['alpha_boot'] / t_boot:5.1f}x)")
        same = (r["nfact"], r["ncomp"]) == (pa.n_factors, pa.n_components)
        print(f"same suggested counts as psych: {same}")
    else:
        print("R not run (Rscript missing or --no-r)")

    survey, scales = synthetic_survey()
    t0 = time.perf_counter()
    k = factor.kmo(survey)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        alphas = {s: reliability.cronbach_alpha(survey[c]).alpha for s, c in scales.items()}
    t1 = time.perf_counter()
    fit = factor.efa(survey, 10, method="minres", rotation="oblimin")
    t2 = time.perf_counter()
    print(f"synthetic survey 15000 x 120: KMO + {len(alphas)} alphas {t1 - t0:6.2f} s, "
          f"10-factor EFA {t2 - t1:6.2f} s, total {t2 - t0:6.2f} s (target < 10 s); "
          f"KMO {k.overall:.3f}, alpha {min(alphas.values()):.3f}-{max(alphas.values()):.3f}, "
          f"EFA converged {fit.converged}")


if __name__ == "__main__":
    main()
