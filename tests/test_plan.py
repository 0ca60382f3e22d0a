"""`dareu plan` prints every stage with what it trains and its estimates, and writes nothing."""

from __future__ import annotations

import re
from pathlib import Path

from dareu.cli import main
from dareu.config import load_config
from dareu.plan import Cost, data_size, model_shape

RECIPES = Path(__file__).parents[1] / "recipes"


def test_plan_of_the_qlora_recipe_names_every_stage_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    assert main(["plan", str(RECIPES / "tofu_qlora_1gpu.yaml"), f"run.output_dir={out}",
                 "--tflops", "100", "--gbps", "2000"]) == 0
    text = capsys.readouterr().out
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert "skipped: model.path = locuslab/tofu_ft_llama2-7b" in text
    oracle = next(line for line in text.splitlines() if line.startswith("prepare: oracle"))
    assert re.search(r"qlora finetune of (6\.7|7\.0)B .* on 3,600 QA × 5 epochs .*lr 0\.0001", oracle)
    assert re.search(r"≈ \d+ (s|min|h)\s+≈ \d+\.\d GiB", oracle)  # a time and a peak memory
    for stage in ("fit-attributor: classifier", "unlearn: dareu", "unlearn: npo", "evaluate", "report"):
        assert any(line.startswith(stage) for line in text.splitlines()), stage
    assert re.search(r"DareU grpo, qlora (6\.7|7\.0)B: 200 steps × 8 prompts × 4 responses", text)
    assert "lr 0.001" in text and "4-bit" in text and re.search(r"total ≈ .*peak ≈ \d", text)


def test_estimates_follow_the_settings():
    """More epochs cost more time; 4-bit weights take about a quarter of bf16's memory."""
    cfg = load_config(RECIPES / "quickstart.yaml")
    shape = model_shape(cfg, None)
    assert 1e6 < shape.params < 3e6 and shape.layers == 3 and shape.source == "from scratch"
    cost = Cost(shape, cfg, 1e11, 1e10, "cpu")
    assert cost.train_seconds("full", 2e6) == 2 * cost.train_seconds("full", 1e6)
    assert cost.train_seconds("qlora", 1e6) < cost.train_seconds("full", 1e6)
    big = load_config(RECIPES / "tofu_qlora_1gpu.yaml", ["model.dtype=bfloat16"])
    big_cost = Cost(model_shape(big, "org/model-7b"), big, 1e14, 1e12, "cuda")
    assert 0.2 < big_cost.weights("qlora") / big_cost.weights("lora") < 0.35
    data = data_size(load_config(None, ["data.num_owners=6", "data.num_forget_owners=2",
                                        "data.qa_per_owner=4"]))
    assert (data.forget, data.retain) == (8, 16)


def test_sharded_strategies_split_the_trained_model_over_ranks():
    cfg = load_config(RECIPES / "tofu_fsdp_baselines.yaml")
    shape = model_shape(cfg, "org/model-7b")
    one = Cost(shape, cfg, 1e14, 1e12, "cuda", world=1)
    eight = Cost(shape, cfg, 1e14, 1e12, "cuda", world=8)
    assert eight.trained_model("full") == one.trained_model("full") / 8
    ddp = load_config(RECIPES / "tofu_ddp_multigpu.yaml")
    assert Cost(shape, ddp, 1e14, 1e12, "cuda", world=4).shards == 1  # DDP: a full copy per rank
