"""The generators of ``tests/fixtures/speed/`` loaded as modules by the speed tests.

A speed test reads a generator's inputs (and its cheap former routes) from the generator
itself, so that both build the same inputs; the generators are scripts, not a package.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

FOLDER = Path(__file__).resolve().parent / "fixtures" / "speed"


def generator(name: str) -> ModuleType:
    """``tests/fixtures/speed/make_<name>.py`` as the module ``make_<name>`` (loaded once)."""
    module_name = f"make_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, FOLDER / f"{module_name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
