"""Imports point down (CONTRIBUTING.md, "Layers"): a module imports, directly or through other
modules, only units of lower layers, never one of its own layer (units side by side stay apart)
and never one above. Every import counts, also those inside functions or under TYPE_CHECKING."""

import re
from pathlib import Path

from tests.import_graph import graph, modules, unit_of, violations

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dareu", "attributors")

# layer -> its units, the same table CONTRIBUTING.md draws
LAYERS = {
    11: ("dareu.cli", "dareu.plan", "dareu.bench"),
    10: ("dareu.stages", "dareu.preflight"),
    9: ("dareu.modules", "dareu.eval", "dareu.reward", "dareu.pipeline"),
    8: ("dareu.prefix", "attributors"),
    7: ("dareu.generation", "dareu.sampling"),
    6: ("dareu.decoding",),
    5: ("dareu.trainer", "dareu.finetune", "dareu.scoring", "dareu.sharding", "dareu.lm_split"),
    4: ("dareu.data", "dareu.models", "dareu.loggers"),
    3: ("dareu.config",),
    2: ("dareu.io", "dareu.hub", "dareu.registry"),
    1: ("dareu.errors", "dareu.optim", "dareu.distributed", "dareu.progress", "dareu.rl",
        "dareu.report"),
    0: ("dareu",),  # its __init__ runs first on every import, and loads its names lazily
}
LAYER = {unit: n for n, units in LAYERS.items() for unit in units}


def test_every_module_has_a_layer_and_every_unit_exists():
    found = modules(ROOT, PACKAGES)
    assert [m for m in found if unit_of(m, LAYER) is None] == [], "add the unit to LAYERS"
    assert [u for u in LAYER if u not in found] == [], "no such package or module"


def test_the_tree_imports_only_down():
    found = violations(graph(ROOT, PACKAGES), LAYER)
    assert not found, "imports up or sideways (CONTRIBUTING.md, Layers):\n" + "\n".join(found)


def test_contributing_draws_the_same_table():
    text = (ROOT / "CONTRIBUTING.md").read_text().split("## Layers", 1)[1].split("```")[1]
    drawn = {}
    for n, units in re.findall(r"^ ?(\d+)  (.+?)(?:\s{2,}|$)", text, re.M):
        drawn[int(n)] = tuple(sorted(_unit(u) for u in units.split(", ")))
    assert drawn == {n: tuple(sorted(units)) for n, units in LAYERS.items()}


def _unit(drawn: str) -> str:
    """`config/` -> dareu.config, `cli.py` -> dareu.cli, `attributors/` -> attributors."""
    if drawn == "dareu/__init__.py":
        return "dareu"
    name = drawn.removesuffix("/").removesuffix(".py")
    return name if name in PACKAGES else f"dareu.{name}"
