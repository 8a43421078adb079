"""Shared test configuration: headless plotting, Vietnamese labels, no progress bars."""

import os

# Single-threaded BLAS (set before numpy loads): faster for small matrices on 2 cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["HLSTUDY_PROGRESS"] = "0"
os.environ.pop("HLSTUDY_DATA", None)
os.environ.pop("HLSTUDY_LANG", None)
