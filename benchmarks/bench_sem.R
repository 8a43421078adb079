# lavaan side of benchmarks/bench_sem.py (run by it; prints one JSON line of timings).
# Usage: Rscript bench_sem.R data.csv model.lav repeat bootstrap
suppressPackageStartupMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
model <- paste(readLines(args[2]), collapse = "\n")
rep <- as.integer(args[3]); B <- as.integer(args[4])
# best wall and CPU (user + system) time of k runs
best <- function(f, k) {
  w <- Inf; c <- Inf
  for (i in seq_len(k)) {
    st <- system.time(f())
    w <- min(w, st[["elapsed"]]); c <- min(c, st[["user.self"]] + st[["sys.self"]])
  }
  c(w, c)
}
t_fit <- best(function() suppressWarnings(sem(model, d, missing = "ml", estimator = "MLR")), rep)
set.seed(1)
t_boot <- best(function() suppressWarnings(sem(model, d, se = "bootstrap", bootstrap = B)), 1)
fit <- suppressWarnings(sem(model, d, missing = "ml", estimator = "MLR"))
message("lavaan chisq ", fitMeasures(fit, "chisq"), " scaled ", fitMeasures(fit, "chisq.scaled"),
        " nobs ", lavInspect(fit, "nobs"), " npar ", fitMeasures(fit, "npar"))
cat(sprintf('{"fiml_mlr_fit": %.4f, "fiml_mlr_fit_cpu": %.4f, "bootstrap": %.4f, "bootstrap_cpu": %.4f}\n',
            t_fit[1], t_fit[2], t_boot[1], t_boot[2]))
