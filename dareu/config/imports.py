"""Third-party code named by a recipe (`attributor.name: mymod:MyAttributor`, a callback, a
method): importable from the recipe's folder and the working directory, and the modules of the
recipe's `imports:` list are imported first so their decorators register names."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from dareu.errors import ConfigError


def activate_imports(recipe: str | Path | None, modules: list[str]) -> None:
    """Put the recipe's folder and the working directory on sys.path (after everything else, so
    they never shadow an installed package), then import each module of `imports:`."""
    folders = [Path(recipe).resolve().parent] if recipe is not None else []
    for folder in [*folders, Path(os.getcwd())]:
        if str(folder) not in sys.path:
            sys.path.append(str(folder))
    for i, name in enumerate(modules):
        if not isinstance(name, str) or not name:
            raise ConfigError(f"imports[{i}]={name!r} is invalid: expected a module name.")
        try:
            importlib.import_module(name)
        except ImportError as e:
            where = f"{folders[0]} (the recipe's folder), " if folders else ""
            raise ConfigError(f"imports[{i}]={name!r} is invalid: cannot import it ({e}). Modules are "
                              f"found in {where}the working directory, and installed packages.") from None
