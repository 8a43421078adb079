"""The kernels' environment: folders given relative to the command's folder become absolute
(kernels run inside notebooks/, where a relative HLSTUDY_DATA would name another folder)."""

from __future__ import annotations

from pathlib import Path

from hlstudy.runner import kernel_env


def test_relative_folders_are_made_absolute(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HLSTUDY_DATA", "build/test-study")
    monkeypatch.setenv("HLSTUDY_FIGURES", "out")
    monkeypatch.delenv("HLSTUDY_INSTRUMENT", raising=False)
    env = kernel_env()
    assert env["HLSTUDY_DATA"] == str(tmp_path.resolve() / "build" / "test-study")
    assert env["HLSTUDY_FIGURES"] == str(tmp_path.resolve() / "out")
    assert "HLSTUDY_INSTRUMENT" not in env


def test_absolute_folders_and_settings_are_left_alone(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HLSTUDY_DATA", str(tmp_path / "x"))
    env = kernel_env({"HLSTUDY_LANG": "en"})
    assert env["HLSTUDY_DATA"] == str(tmp_path / "x") and env["HLSTUDY_LANG"] == "en"
    assert Path(env["HLSTUDY_DATA"]).is_absolute()
