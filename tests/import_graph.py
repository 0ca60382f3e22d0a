"""The import graph of a source tree, read with `ast`, and the layer check on it.

A module imports what any `import` or `from … import` in its file names, at module level, inside
functions and under TYPE_CHECKING alike, relative imports resolved; importing `a.b.c` also runs
the packages `a` and `a.b`, so those count too. Only modules of the tree count (torch does not).

A unit is what one layer of the table holds: a package or a top-level module (`dareu.config`,
`dareu.cli`, `attributors`). A module belongs to the longest unit name that is it or contains it.
"""

from __future__ import annotations

import ast
from collections import deque
from pathlib import Path


def modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Dotted name -> file of every module of `packages` under `root` (a package: its __init__)."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _within(name: str, known: dict) -> str | None:
    """The longest module of the tree that is `name` or a package above it (`x.y.Name` -> x.y)."""
    parts = name.split(".")
    while parts and ".".join(parts) not in known:
        parts.pop()
    return ".".join(parts) or None


def imports(name: str, known: dict[str, Path]) -> set[str]:
    """The modules of the tree that module `name` imports, and the packages above them."""
    path = known[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    named = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            named.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # from . / from ..x: relative to the package, one level up per extra dot
                up = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            named.update(f"{base}.{a.name}" for a in node.names)  # a module, or a name in `base`
    targets = set()
    for n in named:
        module = _within(n, known)
        while module:  # the module and every package above it run
            targets.add(module)
            module = module.rpartition(".")[0] or None
    targets.discard(name)
    return targets


def graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module -> the modules of the tree it imports directly."""
    known = modules(root, packages)
    return {name: imports(name, known) for name in known}


def unit_of(module: str, units) -> str | None:
    """The unit `module` belongs to: the longest unit name equal to it or a package above it."""
    parts = module.split(".")
    while parts and ".".join(parts) not in units:
        parts.pop()
    return ".".join(parts) or None


def _chains(start: str, edges: dict[str, set[str]]) -> dict[str, list[str]]:
    """Every module reachable from `start` -> the shortest import chain to it (start first)."""
    chains, todo = {start: [start]}, deque([start])
    while todo:
        here = todo.popleft()
        for there in sorted(edges.get(here, ())):
            if there not in chains:
                chains[there] = chains[here] + [there]
                todo.append(there)
    return chains


def violations(edges: dict[str, set[str]], layer: dict[str, int]) -> list[str]:
    """Each import, direct or through other modules, of a unit in the module's own layer
    (sideways) or above it (up), with its chain; one line per module and unit it reaches."""
    found = []
    for module in sorted(edges):
        own = unit_of(module, layer)
        if own is None:  # not in the table: test_layers.py says so on its own
            continue
        seen = set()
        # shortest chain first; of equal ones, the module named rather than the package above it
        chains = _chains(module, edges)
        for target in sorted(chains, key=lambda t: (len(chains[t]), -len(t), t)):
            chain = chains[target]
            other = unit_of(target, layer)
            if other in (own, None) or other in seen or layer[other] < layer[own]:
                continue
            seen.add(other)
            way = "up" if layer[other] > layer[own] else "sideways"
            how = "imports" if len(chain) == 2 else f"reaches (through {len(chain) - 2})"
            found.append(f"{module} (layer {layer[own]}) {how} {target} (layer {layer[other]}, "
                         f"{way}): {' -> '.join(chain)}")
    return found
