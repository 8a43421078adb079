"""The suite's scheduling order on a checkout without its own timing record (issue 15)."""

import json

import conftest


def test_committed_seconds_are_used_until_this_checkout_records_its_own(tmp_path, monkeypatch):
    defaults = tmp_path / "group-seconds.json"
    defaults.write_text(json.dumps({"module-test_a": 5.0, "module-test_b": 1.0}), encoding="utf-8")
    local = tmp_path / "processed" / "test-seconds.json"
    monkeypatch.setattr(conftest, "DEFAULT_TIMES", defaults)
    monkeypatch.setattr(conftest, "TIMES", local)
    assert conftest._recorded() == {"module-test_a": 5.0, "module-test_b": 1.0}   # a clean clone
    local.parent.mkdir()
    local.write_text(json.dumps({"module-test_b": 9.0, "bad": "x"}), encoding="utf-8")
    assert conftest._recorded() == {"module-test_a": 5.0, "module-test_b": 9.0}


def test_the_committed_record_names_only_existing_modules_and_notebooks():
    """A group that is not committed yet simply starts early; a stale name is an error."""
    from pathlib import Path

    here = Path(conftest.__file__).parent
    recorded = conftest._read_seconds(conftest.DEFAULT_TIMES)
    modules = {f"module-{p.stem}" for p in here.glob("test_*.py")}
    notebooks = {"notebooks"}   # tests/test_notebooks.py: one group for every notebook
    assert recorded and notebooks <= set(recorded)
    stale = sorted(set(recorded) - modules - notebooks)
    assert not stale, f"tests/group-seconds.json names groups that no longer exist: {stale}"


def test_only_a_worker_registers_the_early_exit(monkeypatch):
    import atexit
    import types

    registered = []
    monkeypatch.setattr(atexit, "register", registered.append)
    conftest.pytest_unconfigure(types.SimpleNamespace())   # the controller, or a run without xdist
    assert registered == []
    conftest.pytest_unconfigure(types.SimpleNamespace(workerinput={"workerid": "gw0"}))
    assert registered == [conftest._leave_now]


def test_a_worker_leaves_after_the_exit_handlers_and_skips_the_teardown(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    here = Path(conftest.__file__).parent
    script = f"""
import atexit, sys
sys.path.insert(0, {str(here)!r})
import conftest

class Late:
    def __del__(self, _open=open):   # called by the interpreter's teardown, which the worker skips
        _open({str(tmp_path / "teardown")!r}, "w").close()

kept = Late()
atexit.register(lambda: open({str(tmp_path / "handler")!r}, "w").close())
atexit.register(conftest._leave_now)   # as pytest_unconfigure does in a worker
print("buffered", end="")
"""
    import os

    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}   # stdout buffered
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "buffered", "the output is flushed before the process ends"
    assert (tmp_path / "handler").exists(), "the other exit handlers ran"
    assert not (tmp_path / "teardown").exists(), "the interpreter's teardown was skipped"


def test_collection_leaves_the_collector_on_with_its_objects_frozen():
    import gc
    import weakref

    assert gc.isenabled(), "collection switched the garbage collector off and not on again"
    assert gc.get_freeze_count() > 10_000, "what collection imported is left out of collections"
    assert gc.get_threshold()[0] == conftest.YOUNG_THRESHOLD

    class Node:
        pass

    node = Node()
    node.self = node   # a cycle made by a test: still collected
    alive = weakref.ref(node)
    del node
    gc.collect()
    assert alive() is None
