"""What the validation results depend on, and whether the committed results still match it.

``python3 make.py validate`` records in its manifest the SHA-256 of every file the chain it
ran depends on (:func:`source_digests`):

* the **library source** the chain can run: every module of ``hlstudy`` that the chain's
  entry modules (:data:`ENTRY_MODULES`) import, directly or through other modules, at any
  depth and wherever the import statement stands (inside a function too), found by reading
  the source (:func:`chain_modules`), without the modules of :data:`NOT_RUN`, which the
  chain imports but which compute nothing it writes;
* the **rules and settings** read as data: the instrument (``data/instrument/*.csv``: codebook,
  constructs, hypotheses and claims with their SESOIs), the reference data
  (``data/reference/*.csv``: communes, Decree 33's standards) and the pinned library versions
  (``requirements.lock``).  The run's own settings (scenarios, replications, pooled studies,
  wild bootstrap) are in the manifest already.

:func:`currency` compares a manifest with the files as they are now and names each file
that changed, was added or was removed since the run.  A manifest written before the digests
were recorded (its ``git_commit`` only) is compared through git (``git diff`` of the recorded
commit against the working tree, over the same files); where neither is possible the
currency is unknown, never assumed.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from hlstudy.paths import ROOT

#: The modules ``python3 make.py validate`` starts from: the run, one replication, the
#: pooled pseudo-truth.
ENTRY_MODULES = ("hlstudy.validation.run", "hlstudy.validation.replications",
                 "hlstudy.validation.estimand")
#: Modules the chain imports (the package ``hlstudy.validation`` imports the summaries and
#: the R agreement for its namespace; figure helpers imported by modules of the chain for
#: their figures; this module, which records the digests) but whose code computes nothing
#: the validation writes: a change in them leaves the results current.
NOT_RUN = frozenset({"hlstudy/validation/summary.py", "hlstudy/validation/ragree.py",
                     "hlstudy/pathplot.py", "hlstudy/_geometry.py", "hlstudy/_figurekey.py",
                     "hlstudy/validation/sources.py"})
#: Data files the chain reads (rules and settings), as glob patterns relative to the root.
DATA_PATTERNS = ("data/instrument/*.csv", "data/reference/*.csv", "requirements.lock")
#: Manifest keys: the digest set of each scenario, and the files of each digest set.
SCENARIO_KEY = "sources"
FILES_KEY = "source_files"


def _module_file(name: str, root: Path) -> Path | None:
    base = root.joinpath(*name.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


_FROM = re.compile(r"^[ \t]*from[ \t]+(\.+[\w.]*|hlstudy\b[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)",
                   re.M)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n]*)", re.M)


def _imported(name: str, path: Path) -> set[str]:
    """The ``hlstudy`` modules (and names that may be modules) imported anywhere in ``path``:
    every ``import``/``from … import`` statement that begins a line, at any indentation
    (inside a function too), read from the text (a tenth of parsing every file; a statement
    quoted at the start of a docstring line can only add a module, never hide one)."""
    text = path.read_text(encoding="utf-8")
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for source, names in _FROM.findall(text):
        if source.startswith("."):
            level = len(source) - len(source.lstrip("."))
            parts = package.split(".")
            parts = parts[:len(parts) - level + 1]
            module = ".".join([*parts, *([source.lstrip(".")] if source.lstrip(".") else [])])
        else:
            module = source
        if module.split(".")[0] != "hlstudy":
            continue
        found.add(module)
        for item in names.strip("()").split(","):
            item = item.split("#")[0].split()
            if item:
                found.add(f"{module}.{item[0]}")
    for names in _IMPORT.findall(text):
        for item in names.split("#")[0].split(","):
            item = item.split()
            if item and item[0].split(".")[0] == "hlstudy":
                found.add(item[0])
    return found


def chain_modules(root: str | Path = ROOT, entries=ENTRY_MODULES) -> list[str]:
    """The source files (POSIX paths relative to ``root``, sorted) of the ``hlstudy`` modules
    the validation chain can run: the import closure of ``entries`` (with each enclosing
    package's ``__init__.py``), without :data:`NOT_RUN`.

    >>> "hlstudy/sem/core.py" in chain_modules() and "hlstudy/validation/summary.py" not in chain_modules()
    True
    """
    root = Path(root)
    seen: dict[str, Path] = {}
    todo = list(entries)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(name, root)
        if path is None:   # a name imported from a module, not a module
            continue
        seen[name] = path
        parts = name.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        todo.extend(_imported(name, path))
    files = {p.relative_to(root).as_posix() for p in seen.values()}
    return sorted(files - NOT_RUN)


def dependency_files(root: str | Path = ROOT) -> list[str]:
    """Every file the results depend on: :func:`chain_modules` and the data files of
    :data:`DATA_PATTERNS` (POSIX paths relative to ``root``, sorted)."""
    root = Path(root)
    data = {p.relative_to(root).as_posix() for pattern in DATA_PATTERNS
            for p in root.glob(pattern) if p.is_file()}
    return sorted(set(chain_modules(root)) | data)


def source_digests(root: str | Path = ROOT) -> dict[str, str]:
    """SHA-256 (hex) of each file of :func:`dependency_files`, by relative path (sorted)."""
    root = Path(root)
    return {f: hashlib.sha256((root / f).read_bytes()).hexdigest() for f in dependency_files(root)}


def set_id(digests: Mapping[str, str]) -> str:
    """A short name of one set of digests (the first 16 hex digits of the SHA-256 of its
    sorted ``path  digest`` lines), the key of :data:`FILES_KEY` in a manifest."""
    text = "".join(f"{path}  {digest}\n" for path, digest in sorted(digests.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _git_changed(commit: str, files: list[str], root: Path) -> list[str] | None:
    """Files of ``files`` that differ between ``commit`` and the working tree, or that the
    commit does not have (None: git or the commit is not available)."""
    try:
        def git(*args: str) -> list[str]:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                                  check=True).stdout.splitlines()

        differ = git("diff", "--name-only", "--no-renames", commit, "--", *files)
        had = git("ls-tree", "-r", "--name-only", commit, "--", *files)
    except (OSError, subprocess.CalledProcessError):
        return None
    return sorted({f for f in differ if f} | (set(files) - set(had)))


def currency(manifest: Mapping, root: str | Path = ROOT) -> pd.DataFrame:
    """Whether each scenario's results in ``manifest`` were computed by the code and rules
    as they are now under ``root``.

    Returns one row per scenario (sorted): ``scenario, basis`` (``"digest"``: the recorded
    SHA-256 of each file; ``"git"``: an older manifest's commit, compared by ``git diff``;
    ``""``: neither), ``status`` (``"current"``, ``"changed"``, ``"unknown"``), ``changed``
    (sorted tuple of the files changed, added or removed since; for ``"git"`` the files that
    differ from the commit), ``commit``.

    >>> currency({"replications": {"a": 1}, "sources": {"a": "s"},
    ...           "source_files": {"s": source_digests()}}).loc[0, "status"]
    'current'
    """
    root = Path(root)
    now = source_digests(root)
    sets = manifest.get(FILES_KEY, {}) or {}
    by_scenario = manifest.get(SCENARIO_KEY, {}) or {}
    commits = manifest.get("git_commits", {}) or {}
    rows = []
    for scenario in sorted(manifest.get("replications", {}) or {}):
        commit = str(commits.get(scenario, manifest.get("git_commit", "")) or "")
        recorded = sets.get(by_scenario.get(scenario, ""))
        if recorded is not None:
            changed = sorted(f for f in set(recorded) | set(now) if recorded.get(f) != now.get(f))
            rows.append((scenario, "digest", "changed" if changed else "current", tuple(changed),
                         commit))
            continue
        base = commit.removesuffix("+dirty")
        found = _git_changed(base, sorted(now), root) if base else None
        if found is None:
            rows.append((scenario, "", "unknown", (), commit))
        else:
            # a run from a tree with uncommitted changes cannot be compared file by file
            status = "changed" if found else ("unknown" if commit.endswith("+dirty") else "current")
            rows.append((scenario, "git", status, tuple(found), commit))
    return pd.DataFrame(rows, columns=["scenario", "basis", "status", "changed", "commit"])


def changed_files(table: pd.DataFrame) -> list[str]:
    """The files named in any row of a :func:`currency` table (sorted, once each)."""
    return sorted({f for files in table["changed"] for f in files})
