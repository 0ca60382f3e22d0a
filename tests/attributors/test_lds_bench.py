"""The owner-level LDS arithmetic of bench/attribution_lds.py, and its `dareu bench` entry."""

import importlib.util
from pathlib import Path

import pytest
import torch

from dareu.bench import bench_cli

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "attribution_lds.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("attribution_lds", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lds_is_one_for_an_exact_linear_model_and_minus_one_reversed(bench):
    g = torch.Generator().manual_seed(0)
    raw = torch.randn(5, 6, generator=g)  # 5 responses, 6 owners
    subsets = (torch.rand(16, 6, generator=g) > 0.5).float()  # 16 retrained models
    actual = subsets @ raw.T  # outcomes exactly linear in the owners present
    assert bench.lds(raw, subsets, actual) == pytest.approx(1.0)
    assert bench.lds(-raw, subsets, actual) == pytest.approx(-1.0)


def test_within_group_lds_ignores_the_own_owner(bench):
    g = torch.Generator().manual_seed(1)
    raw = torch.randn(4, 6, generator=g, dtype=torch.float64)
    own = torch.tensor([0, 1, 2, 3])
    subsets = (torch.rand(40, 6, generator=g) > 0.5).double()
    others = raw.clone()
    others[torch.arange(4), own] = 0
    actual = subsets @ raw.T
    # only the owner column known: no information once the subsets are split by it
    one_hot = torch.nn.functional.one_hot(own, 6).float()
    assert bench.lds(one_hot, subsets, actual, own, present=False) == 0.0
    assert bench.lds(others, subsets, actual, own, present=False) == pytest.approx(1.0)


def test_dareu_bench_dispatches_to_the_script():
    with pytest.raises(SystemExit) as e:
        bench_cli("attribution", ["--help"])
    assert e.value.code == 0
