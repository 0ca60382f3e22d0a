"""Layers point down (CONTRIBUTING.md, "Layers"): the run directory belongs to the stages, so
methods, the reward, evaluation and attributors never import `dareu.pipeline` or `dareu.stages`,
and attributors never import the training modules. Every import counts, also those inside
functions or under TYPE_CHECKING."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN_DIRECTORY = ("dareu.pipeline", "dareu.stages", "dareu.cli")
# layer (files under it) -> modules it must not import
FORBIDDEN = {
    "dareu/modules": RUN_DIRECTORY,
    "dareu/eval": RUN_DIRECTORY,
    "dareu/reward.py": RUN_DIRECTORY,
    "dareu/optim.py": RUN_DIRECTORY + ("dareu.modules",),
    "dareu/distributed.py": RUN_DIRECTORY,
    "attributors": RUN_DIRECTORY + ("dareu.modules", "dareu.eval", "dareu.reward"),
}


def imported(path: Path) -> set[str]:
    """Every module `path` imports (absolute names; `from x import y` also counts x.y)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def violations(layer: str, banned: tuple[str, ...], root: Path = ROOT) -> list[str]:
    base = root / layer
    files = [base] if base.is_file() else sorted(base.rglob("*.py"))
    assert files, f"{layer} holds no Python files"
    return [f"{f.relative_to(root)} imports {name}" for f in files for name in sorted(imported(f))
            if any(name == b or name.startswith(b + ".") for b in banned)]


@pytest.mark.parametrize("layer", FORBIDDEN)
def test_layers_point_down(layer):
    assert violations(layer, FORBIDDEN[layer]) == []


def test_the_check_sees_imports_inside_functions(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from dareu.pipeline import Run\n    import dareu.stages.unlearn\n")
    assert imported(f) >= {"dareu.pipeline", "dareu.pipeline.Run", "dareu.stages.unlearn"}
    assert len(violations("m.py", RUN_DIRECTORY, root=tmp_path)) == 3
