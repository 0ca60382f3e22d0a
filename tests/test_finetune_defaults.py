"""Finetune defaults follow the model kind: from scratch, or a pretrained base (LLM settings)."""

from pathlib import Path

from dareu.config import config_hash, load_config

RECIPES = Path(__file__).parents[1] / "recipes"


def test_from_scratch_keeps_the_quickstart_settings():
    ft = load_config(None).finetune
    assert (ft.epochs, ft.lr, ft.batch_size, ft.mode, ft.include_test_sets) == (40, 3e-3, 32, "full", True)


def test_pretrained_base_gets_llm_settings():
    ft = load_config(None, ["model.base_path=some/base"]).finetune
    assert (ft.epochs, ft.lr, ft.batch_size, ft.weight_decay, ft.mode, ft.include_test_sets) == \
        (5, 1e-5, 16, 0.01, "full", False)
    ft = load_config(None, ["model.base_path=some/base", "model.mode=qlora"]).finetune
    assert ft.mode == "qlora" and ft.lr == 1e-4 and ft.epochs == 5  # adapters train at 1e-4


def test_explicit_values_win_and_change_the_hash():
    a = load_config(None, ["model.base_path=b"]).finetune
    b = load_config(None, ["model.base_path=b", "finetune.epochs=2", "finetune.lr=2e-5"]).finetune
    assert (b.epochs, b.lr) == (2, 2e-5) and config_hash(a) != config_hash(b)


def test_gpu_recipes_finetune_oracles_with_llm_settings_and_adapter_lr():
    # tofu_qlora_1gpu.yaml ships open-unlearning's retain model as its oracle; a user's own target
    # without one finetunes it from the target's base
    own_oracle = ["model.oracle_path=null", "model.base_path=meta-llama/Llama-2-7b-chat-hf"]
    for name, overrides in (("tofu_qlora_1gpu.yaml", own_oracle), ("tofu_ddp_multigpu.yaml", [])):
        cfg = load_config(RECIPES / name, overrides)
        assert cfg.model.base_path and cfg.finetune.epochs == 5 and cfg.finetune.lr == 1e-4, name
        assert cfg.unlearn.lr == 1e-3, name  # the lr measured for LoRA / QLoRA adapters
    fsdp = load_config(RECIPES / "tofu_fsdp_baselines.yaml")
    assert fsdp.finetune.lr == 1e-5 and fsdp.finetune.epochs == 5
