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
