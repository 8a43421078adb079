"""Shared test configuration: headless plotting, Vietnamese labels, no progress bars."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["HLSTUDY_PROGRESS"] = "0"
os.environ.pop("HLSTUDY_DATA", None)
os.environ.pop("HLSTUDY_LANG", None)
