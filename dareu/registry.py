"""Names → classes, for whatever a recipe names by a string: attributors, unlearning methods,
Lightning callbacks (and the functions behind the CLI's commands).

A `Registry` holds the names of one kind. A class joins it by decorator
(`@registry.register("name")`), by a built-in module that decorates it and is imported on the first
lookup of its name, or as an entry point of an installed package. Any name may also be an import
path `package.module:Class`, which `import_object` resolves on its own too.

A lookup that finds nothing raises the registry's error class (a `DareUError`, so the CLI prints
one paragraph): it names the recipe field, the closest known name and every known name.
"""

from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points
from typing import Any, Callable, Iterable, Mapping

from dareu.errors import ConfigError, DareUError

IMPORT_PATH = "an import path `package.module:Class`"
WHERE_MODULES = ("a module beside the recipe or in the working directory is found, or list it "
                 "under `imports:`")


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """` Did you mean 'x'?` for the known name closest to `name`; empty when none is close."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _where(field: str, shown: Any) -> str:
    """The head of a message: `field=value is invalid` when the value is known, else `field`."""
    return field if shown is None else f"{field}={shown!r} is invalid"


def import_object(path: str, field: str, *, shown: Any = None,
                  error: type[DareUError] = ConfigError, dotted: bool = False) -> Any:
    """The object `package.module:Name` names (`package.module.Name` too when `dotted`).

    Errors name `field` (and `shown`, the value as the recipe wrote it), the module that failed to
    import and why, or the missing name."""
    module_name, sep, attr = path.partition(":")
    if not sep and dotted:
        module_name, _, attr = path.rpartition(".")
    head = _where(field, shown)
    if not module_name or not attr:
        raise error(f"{head}: expected {IMPORT_PATH}, got {path!r}.")
    obj = getattr(_import(module_name, head, error, f"; {WHERE_MODULES}"), attr, None)
    if obj is None:
        raise error(f"{head}: module `{module_name}` has no `{attr}` (expected {IMPORT_PATH} "
                    "naming a class).")
    return obj


def _import(module: str, head: str, error: type[DareUError], hint: str = "") -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise error(f"{head}: cannot import module `{module}` ({e}){hint}.") from e


class Registry:
    """Names of one kind (`kind`, e.g. "attributor") that the recipe's `field` selects.

    builtins: name -> the module whose import registers it (imported on the first lookup, so
    listing names imports nothing). group: the entry-point group of installed packages. base:
    the class every entry must subclass. name_attr: the class attribute that receives the name.
    """

    def __init__(self, kind: str, field: str, *, base: type | None = None,
                 error: type[DareUError] = ConfigError, builtins: Mapping[str, str] | None = None,
                 group: str | None = None, name_attr: str = "name") -> None:
        self.kind, self.field, self.base, self.error = kind, field, base, error
        self.builtins, self.group, self.name_attr = dict(builtins or {}), group, name_attr
        self.classes: dict[str, type] = {}

    def register(self, name: str) -> Callable[[type], type]:
        """Class decorator: make the class selectable as `name`."""

        def deco(cls: type) -> type:
            setattr(cls, self.name_attr, name)
            self.classes[name] = cls
            return cls

        return deco

    def names(self) -> list[str]:
        """Every name a lookup finds without an import path: registered, built-in, entry points."""
        return sorted(set(self.classes) | set(self.builtins) | set(self._entry_points()))

    def get(self, name: str, field: str | None = None, shown: Any = None) -> type:
        """The class of `name` (a registered, built-in or entry-point name, or an import path).
        `field` / `shown`: the recipe key and value the errors name (default: this registry's)."""
        head = _where(field or self.field, shown)
        if name not in self.classes:
            entry = self._entry_points()
            if name in self.builtins:
                _import(self.builtins[name], head, self.error)  # its decorator registers it
            elif name in entry:
                try:
                    cls = entry[name].load()
                except Exception as e:  # the user's package failed to import: say which one
                    raise self.error(f"{head}: {self.kind} `{name}` (entry point "
                                     f"{entry[name].value!r} in group `{self.group}`) failed to "
                                     f"load: {e}") from e
                if name not in self.classes:  # an entry point may name an undecorated class
                    self._alias(name, self._checked(cls, name, head))
            elif ":" in name:
                cls = import_object(name, field or self.field, shown=shown, error=self.error)
                self._alias(name, self._checked(cls, name, head))
        if name not in self.classes:
            known = self.names()
            group = f", or an entry point in group `{self.group}`" if self.group else ""
            raise self.error(f"{head}: unknown {self.kind} {name!r}.{did_you_mean(name, known)} "
                             f"Available: {', '.join(known)} (or {IMPORT_PATH}{group}).")
        return self.classes[name]

    def _entry_points(self) -> dict[str, Any]:
        if self.group is None:
            return {}
        return {ep.name: ep for ep in entry_points(group=self.group)}

    def _alias(self, name: str, cls: type) -> None:
        """Register `cls` under `name` too; a class registered already keeps its own name (runs
        save it), so `package.module:Class` of a built-in does not rename it."""
        own = getattr(cls, self.name_attr, "")
        if own and self.classes.get(own) is cls:
            self.classes[name] = cls
        else:
            self.register(name)(cls)

    def _checked(self, cls: Any, name: str, head: str) -> type:
        if self.base is not None and not (isinstance(cls, type) and issubclass(cls, self.base)):
            base = f"{self.base.__module__}.{self.base.__qualname__}"
            raise self.error(f"{head}: `{name}` resolves to {cls!r}, which is not a subclass of "
                             f"{base}.")
        return cls
