"""The layer check (tests/import_graph.py) on planted trees and graphs, not on the real one: it must
catch an import up, one sideways and one through another module, and name the chain."""

from textwrap import dedent

from tests.import_graph import graph, violations

# p.low below p.mid below p.high; p.left and p.right side by side
LAYER = {"p": 0, "p.low": 1, "p.left": 2, "p.right": 2, "p.mid": 2, "p.high": 3}


def _tree(root, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text))


def test_an_import_up_inside_a_function_is_caught_in_a_package_tree(tmp_path):
    _tree(tmp_path, {"p/__init__.py": "", "p/low/__init__.py": "", "p/high/__init__.py": "",
                     "p/high/b.py": "from p.low import a\n",
                     "p/low/a.py": "def f():\n    from p.high.b import g\n"})
    assert violations(graph(tmp_path, ("p",)), LAYER) == [
        "p.low.a (layer 1) imports p.high.b (layer 3, up): p.low.a -> p.high.b"]
    (tmp_path / "p/low/a.py").write_text("import os\n")
    assert violations(graph(tmp_path, ("p",)), LAYER) == []  # down only: clean


def test_an_import_sideways_is_caught():
    edges = {"p.left.x": {"p.right.y", "p.low.z"}, "p.right.y": set(), "p.low.z": set()}
    assert violations(edges, LAYER) == [
        "p.left.x (layer 2) imports p.right.y (layer 2, sideways): p.left.x -> p.right.y"]


def test_an_import_through_another_module_is_caught_with_its_chain():
    # p.mid.m imports only down, but the module below it imports p.high
    edges = {"p.mid.m": {"p.low.a"}, "p.low.a": {"p.high.u"}, "p.high.u": set()}
    found = violations(edges, LAYER)
    assert "p.mid.m (layer 2) reaches (through 1) p.high.u (layer 3, up): " \
           "p.mid.m -> p.low.a -> p.high.u" in found
    assert len(found) == 2  # and p.low.a's own import


def test_relative_plain_and_type_checking_imports_resolve_to_modules(tmp_path):
    _tree(tmp_path, {"p/__init__.py": "", "p/low/__init__.py": "", "p/low/c.py": "",
                     "p/high/__init__.py": "", "p/high/b.py": "",
                     "p/high/d.py": """\
                         from typing import TYPE_CHECKING
                         import torch
                         from . import b
                         from ..low import c
                         if TYPE_CHECKING:
                             import p.low.c
                         from p.high.b import Name
                         """})
    assert graph(tmp_path, ("p",))["p.high.d"] == {"p", "p.high", "p.high.b", "p.low", "p.low.c"}
