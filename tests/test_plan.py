"""`dareu plan` prints every stage with what it trains and its estimates, and writes nothing."""

from __future__ import annotations

import re
from pathlib import Path

from dareu.cli import main
from dareu.config import load_config
from dareu.plan import Cost, data_size, model_shape

RECIPES = Path(__file__).parents[1] / "recipes"


def test_plan_of_the_qlora_recipe_names_every_stage_and_writes_nothing(tmp_path, capsys, monkeypatch):
    """The recipe with its oracle finetuned from the target's base, as for a target of the user's
    own without a retain-only model, so the plan has a finetune to estimate."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    own_oracle = ["model.oracle_path=null", "model.base_path=meta-llama/Llama-2-7b-chat-hf"]
    assert main(["plan", str(RECIPES / "tofu_qlora_1gpu.yaml"), *own_oracle, f"run.output_dir={out}",
                 "--tflops", "100", "--gbps", "2000"]) == 0
    text = capsys.readouterr().out
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert "skipped: model.path = open-unlearning/tofu_Llama-2-7b-chat-hf_full" in text
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


def _plan_line(text: str, stage: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(stage))


def test_evaluate_counts_the_items_evaluation_scores(tmp_path, capsys, monkeypatch):
    """TOFU's retain split is scored on retain_perturbed (400 of 3,600), each test set apart, and
    eval.max_items caps every split (dareu.eval.sets); prepare's ROUGE check reads all retain QA."""
    monkeypatch.chdir(tmp_path)
    recipe = str(RECIPES / "tofu_qlora_1gpu.yaml")
    assert main(["plan", recipe, "--tflops", "100", "--gbps", "2000"]) == 0
    text = capsys.readouterr().out
    assert ("1,017 greedy answers each (400 forget, 400 retain, 100 real_authors, 117 world_facts)"
            in _plan_line(text, "evaluate"))
    rouge = _plan_line(text, "prepare: ROUGE")
    assert "4,217 questions (400 forget, 3,600 retain, 217 test)" in rouge
    assert main(["plan", recipe, "eval.max_items=50", "--tflops", "100", "--gbps", "2000"]) == 0
    assert "200 greedy answers each (50 forget, 50 retain, 50 real_authors, 50 world_facts)" in \
        _plan_line(capsys.readouterr().out, "evaluate")


def test_the_model_size_is_read_from_any_cached_config_or_said_to_be_a_guess(monkeypatch):
    from transformers import LlamaConfig

    import dareu.plan.sizes as sizes
    from dareu.plan import target_shape

    base = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                       num_attention_heads=4, vocab_size=100)

    def cached(path, trust_remote_code):  # only the base's config.json is in the HF cache
        if path != "org/base-7b":
            raise OSError(f"{path}: not in the cache")
        return base

    monkeypatch.setattr(sizes, "_config_json", cached)
    recipe, overrides = RECIPES / "tofu_qlora_1gpu.yaml", ["model.path=org/target-7b"]
    shape = target_shape(load_config(recipe, [*overrides, "model.base_path=org/base-7b"]))
    assert shape.layers == 2 and not shape.guessed
    assert shape.source == "config.json of model.base_path org/base-7b"
    guess = target_shape(load_config(recipe, [*overrides, "model.base_path=org/other"]))
    assert guess.guessed and guess.params == 7e9
    assert "a guess from the name 'org/target-7b'" in guess.source
    assert "model.path or model.base_path" in guess.source
