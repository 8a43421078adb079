"""The environment is declared once and pinned: pyproject, environment.yml and the lock agree."""

import re
import tomllib

import pytest

from hlstudy.paths import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            if not version:
                pytest.fail(f"requirements.lock line {line!r} is not pinned with ==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def _environment_yml_pip_lines() -> list[str]:
    lines = (ROOT / "environment.yml").read_text(encoding="utf-8").splitlines()
    return [line.strip()[2:].strip() for line in lines if line.strip().startswith("- ") and line.startswith(" " * 6)]


def test_core_packages_are_declared():
    declared = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    for extra in PYPROJECT["project"]["optional-dependencies"].values():
        declared |= {_name(r) for r in extra}
    for needed in ("pandas", "numpy", "scipy", "statsmodels", "seaborn", "matplotlib", "jupyterlab", "pytest"):
        assert needed in declared, f"{needed} missing from pyproject.toml"


def test_every_declared_dependency_is_pinned_in_the_lock():
    pins = _lock()
    declared = [_name(r) for r in PYPROJECT["project"]["dependencies"]]
    for extra in PYPROJECT["project"]["optional-dependencies"].values():
        declared += [_name(r) for r in extra]
    missing = sorted(set(declared) - set(pins))
    assert not missing, f"declared in pyproject.toml but not pinned in requirements.lock: {missing}"


def test_environment_yml_installs_the_project_with_existing_extras():
    pip_lines = _environment_yml_pip_lines()
    installs = [line for line in pip_lines if line.startswith("-e ")]
    assert installs == ["-e .[notebooks,dev]"] or len(installs) == 1, pip_lines
    extras = re.search(r"\[(.*)\]", installs[0]).group(1).split(",")
    defined = set(PYPROJECT["project"]["optional-dependencies"])
    assert set(extras) == defined, f"environment.yml extras {extras} vs pyproject extras {sorted(defined)}"
    assert "-c requirements.lock" in pip_lines, "environment.yml must use the same pins"


def test_environment_yml_lists_no_package_of_its_own():
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    deps_block = text.split("dependencies:", 1)[1]
    conda_deps = re.findall(r"^  - (\S+)", deps_block, flags=re.M)
    names = {re.split(r"[=<>]", d)[0] for d in conda_deps}
    assert names <= {"python", "pip", "pip:"}, f"conda packages beside python/pip drift from pyproject: {names}"
    major_minor = re.search(r"python=(\d+\.\d+)", text).group(1)
    assert PYPROJECT["project"]["requires-python"] == f">={major_minor}"


def test_make_py_uses_only_the_standard_library():
    source = (ROOT / "make.py").read_text(encoding="utf-8")
    imported = set(re.findall(r"^(?:import|from) (\w+)", source, flags=re.M))
    allowed = {"__future__", "hashlib", "os", "subprocess", "sys", "time", "pathlib"}
    assert imported <= allowed, imported - allowed


def test_ci_calls_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "python3 make.py test" in ci
    assert "python3 make.py test" in readme and "python3 make.py reproduce" in readme
    first_commands = re.findall(r"python3 make\.py \w+", readme)[:2]
    assert set(first_commands) == {"python3 make.py reproduce", "python3 make.py test"}


def test_make_py_lets_the_projects_commands_keep_bytecode_but_not_the_installer(monkeypatch):
    # PYTHONDONTWRITEBYTECODE (set on some CI images) would make every test worker compile
    # hlstudy and rewrite the test modules' asserts again; the installer keeps the environment
    import importlib.util
    import subprocess
    import sys

    spec = importlib.util.spec_from_file_location("make_under_test", ROOT / "make.py")
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("HLSTUDY_PROBE", "kept")
    calls = []

    class Done:
        returncode = 0

    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append((cmd, kw.get("env"))) or Done())
    python = str(make.venv_python())
    make.run([python, "-m", "pytest", "-q"])
    make.run([python, "-m", "pip", "install", "-e", "."], installer=True)
    make.run([sys.executable, "-m", "venv", ".venv"], installer=True)
    make.run([python, "-m", "hlstudy.validation"], env={"OPENBLAS_NUM_THREADS": "1"})
    (_, test_env), (_, pip_env), (_, venv_env), (_, own_env) = calls
    assert "PYTHONDONTWRITEBYTECODE" not in test_env and test_env["HLSTUDY_PROBE"] == "kept"
    assert pip_env is None and venv_env is None, "the installer runs in the caller's environment"
    assert own_env == {"OPENBLAS_NUM_THREADS": "1"}, "an environment given by the caller is used as given"
    assert "PYTHONDONTWRITEBYTECODE" not in make.project_env()


def _make_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_under_test", ROOT / "make.py")
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    return make


def test_commands_and_kernels_import_this_checkouts_hlstudy(tmp_path, monkeypatch):
    # a .venv shared with another checkout (linked or copied) has an editable install that
    # points there; a path on the user's PYTHONPATH plays that other checkout here
    import os
    import subprocess
    import sys

    from hlstudy import runner

    other = tmp_path / "other"
    (other / "hlstudy").mkdir(parents=True)
    (other / "hlstudy" / "__init__.py").write_text("raise SystemExit('the other checkout was imported')\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(other), str(ROOT)]))
    make = _make_module()
    for env in (make.project_env(), runner.kernel_env()):
        parts = env["PYTHONPATH"].split(os.pathsep)
        assert parts == [str(ROOT), str(other)], parts     # this checkout first, once; the rest kept
        done = subprocess.run([sys.executable, "-c", "import hlstudy; print(hlstudy.__file__)"],
                              cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == str(ROOT / "hlstudy" / "__init__.py")


def test_a_linked_venv_is_noted(tmp_path, monkeypatch):
    make = _make_module()
    elsewhere = tmp_path / "other-checkout" / ".venv"
    elsewhere.mkdir(parents=True)
    own = tmp_path / "checkout" / ".venv"
    own.parent.mkdir()
    monkeypatch.setattr(make, "VENV", own)
    assert make.shared_venv_note() is None            # none yet
    own.mkdir()
    assert make.shared_venv_note() is None            # its own
    own.rmdir()
    own.symlink_to(elsewhere)
    note = make.shared_venv_note()
    assert str(elsewhere) in note and "rm .venv" in note
