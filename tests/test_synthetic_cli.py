"""``python -m hlstudy.synthetic``: the size options map onto ``simulate``'s arguments."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from hlstudy.synthetic import simulate
from hlstudy.synthetic.__main__ import CENSUS_POSTS, main


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_officials_sets_the_response_rate_like_the_validation_scenarios(tmp_path):
    from hlstudy.validation.replications import CENSUS_POSTS as VALIDATION_POSTS

    assert CENSUS_POSTS == VALIDATION_POSTS
    assert main(["--write", str(tmp_path / "cli"), "--seed", "5", "--officials", "100",
                 "--citizens", "2"]) == 0
    expected = simulate(5, n_citizens_per_commune=2, response_rate=100 / CENSUS_POSTS)
    expected.write(tmp_path / "api")
    cli, api = _files(tmp_path / "cli"), _files(tmp_path / "api")
    assert cli == api                                     # the same study, byte for byte
    officials = pd.read_csv(tmp_path / "cli" / "officials.csv")
    assert 70 <= len(officials) <= 130                    # about 100 (raw rows, before cleaning)
    # fewer than the census the default simulation surveys (its register is in the folder)
    assert len(officials) < len(pd.read_csv(tmp_path / "cli" / "personnel.csv")) / 2


def test_response_rate_option_and_summary_output(tmp_path, capsys):
    assert main(["--write", str(tmp_path), "--seed", "5", "--response-rate", "0.5",
                 "--citizens", "2"]) == 0
    # the options reached simulate(): the written study records the arguments it was made with
    # (the CLI and API studies are compared byte for byte above, for --officials)
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    parameters = truth["parameters"]
    assert (truth["seed"], parameters["response_rate"], parameters["n_citizens_per_commune"]) == (5, 0.5, 2)
    rows = [r for r in truth["rows"] if r["instrument"] == "officials"]
    assert pd.read_csv(tmp_path / "officials.csv").shape[0] == len(rows)
    assert "wrote" in capsys.readouterr().out
    assert main(["--seed", "5", "--officials", "60", "--citizens", "1"]) == 0
    assert capsys.readouterr().out.strip()                # the summary, nothing written


@pytest.mark.parametrize("argv", [
    ["--officials", "0"], ["--officials", str(CENSUS_POSTS + 1)],
    ["--response-rate", "0"], ["--response-rate", "1.5"],
    ["--officials", "100", "--response-rate", "0.5"],     # one size option only
    ["--citizens", "0"],                                  # simulate's ModelError, as usage
])
def test_bad_sizes_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_module_runs_from_the_command_line():
    # a new interpreter, as `python3 make.py data` starts it: the module must import and parse
    # its arguments on its own, with nothing imported before it
    done = subprocess.run([sys.executable, "-m", "hlstudy.synthetic", "--help"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.startswith("usage: python -m hlstudy.synthetic")
    assert "--officials" in done.stdout and "--response-rate" in done.stdout
    words = " ".join(done.stdout.split())  # argparse wraps the help text
    assert "--seed N" in words and "the same seed writes the same bytes" in words


def test_manifest_says_the_command_that_writes_the_same_files(tmp_path):
    import shlex

    assert main(["--write", str(tmp_path / "first"), "--seed", "5", "--officials", "60",
                 "--citizens", "1", "--format", "xlsx"]) == 0
    manifest = json.loads((tmp_path / "first" / "manifest.json").read_text(encoding="utf-8"))
    # the command names the folder as FOLDER (else running it here would write elsewhere)
    assert manifest["regenerate"].count(" --write FOLDER") == 1, manifest["regenerate"]
    command = shlex.split(manifest["regenerate"].replace("FOLDER", str(tmp_path / "again")))
    assert command[:3] == ["python", "-m", "hlstudy.synthetic"], manifest["regenerate"]
    assert main(command[3:]) == 0
    assert _files(tmp_path / "again") == _files(tmp_path / "first")
    # (the demonstration's "--write data/raw" is in data/raw/manifest.json, whose bytes
    # test_synthetic compares with a fresh default simulation)
    # options no command line sets: the simulate() call (the function the manifest calls)
    from hlstudy.synthetic import _regenerate

    assert _regenerate(5, 1, 0.5, {"REC->MOT": 0.3}, None) == (
        "hlstudy.synthetic.simulate(seed=5, n_citizens_per_commune=1, response_rate=0.5, "
        "effects={'REC->MOT': 0.3}).write(FOLDER)")
