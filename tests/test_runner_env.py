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


def test_the_fork_server_preloads_the_statsmodels_modules_hlstudy_imports():
    # the server preloads these modules, not statsmodels.api (300 modules no kernel uses): a
    # module hlstudy starts to import would otherwise be imported again by every kernel using it
    import re

    from hlstudy._codekey import PACKAGE, files_under
    from hlstudy.runner import FORK_PRELOAD

    statement = re.compile(r"^[ \t]*(?:from[ \t]+(statsmodels[\w.]*)[ \t]+import\b|import[ \t]+(statsmodels[\w.]*))",
                           re.MULTILINE)
    imported = set()
    for _relative, path in files_under(PACKAGE, ".py", frozenset({"__pycache__"})):
        for found in statement.findall(Path(path).read_text(encoding="utf-8")):
            imported.update(name for name in found if name)
    assert "statsmodels.stats.diagnostic" in imported, "the source scan finds hlstudy's imports"
    preloaded = [m for m in FORK_PRELOAD if m.split(".")[0] == "statsmodels"]
    for name in sorted(imported):
        assert any(m == name or m.startswith(name + ".") for m in preloaded), (
            f"hlstudy imports {name}: add it to runner.FORK_PRELOAD")
    assert all(m in imported for m in preloaded), "a preloaded statsmodels module hlstudy no longer imports"


def test_stopping_a_fork_server_that_does_not_end_kills_it_quietly(monkeypatch):
    # at exit, a server still importing its libraries on a loaded machine outlived the wait:
    # the atexit callback printed a TimeoutExpired traceback under the run's ERROR line
    import subprocess

    from hlstudy.runner import _ForkServer

    server = object.__new__(_ForkServer)   # no preloading server: a process that ignores its input
    server.process = subprocess.Popen(["sleep", "30"], stdin=subprocess.PIPE)
    monkeypatch.setattr(_ForkServer, "STOP_TIMEOUT", 0.05)
    server.stop()   # must not raise
    assert server.process.poll() is not None
    server.stop()   # a stopped server: nothing to do
