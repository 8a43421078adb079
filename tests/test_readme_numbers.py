"""The README's numbers that come from results agree with those results, and each of its
measurements is stated once (two statements of one measurement drift apart)."""

from __future__ import annotations

import importlib.util
import json
import re

from hlstudy.paths import NOTEBOOKS, ROOT
from hlstudy.sem._model import build_model


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def _bench_sem():
    spec = importlib.util.spec_from_file_location("bench_sem_under_test",
                                                  ROOT / "benchmarks" / "bench_sem.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_sem_parameter_counts_are_the_models():
    """The benchmark's SEM (the simulator's paths) and notebook 05's research model have
    different numbers of free parameters; the README names both, each from its model."""
    m = re.search(r"\((\d+) free parameters; notebook 05's research model,[^)]*? has (\d+)\)",
                  " ".join(_readme().split()))
    assert m, "the README's SEM benchmark sentence names no parameter counts"
    # FIML estimates the means too (lavaan's meanstructure), as the benchmark's fit
    bench = build_model(_bench_sem().officials_syntax(), meanstructure=True).n_free
    nb = json.loads((NOTEBOOKS / "05_drivers_of_quality.ipynb").read_text(encoding="utf-8"))
    text = "\n".join("".join(o["data"]["text/markdown"]) for c in nb["cells"]
                     for o in c.get("outputs", []) if "text/markdown" in o.get("data", {}))
    n05 = re.findall(r"Mô hình có (\d+) tham số tự do", text)
    assert len(n05) == 1
    assert (int(m[1]), int(m[2])) == (bench, int(n05[0]))


def test_readme_states_the_test_count_and_time_once():
    text = " ".join(_readme().split())
    counts = re.findall(r"about \d[\d,]* tests", text)
    assert len(counts) == 1, counts
    # the warm test time is stated beside the count, in "Speed and caches"; the opening
    # paragraph points there instead of giving a second range of its own
    assert len(re.findall(r"\d+–\d+ s with about \d[\d,]* tests", text)) == 1
    assert not re.search(r"`test` (takes )?about \d+–\d+ s", text)
