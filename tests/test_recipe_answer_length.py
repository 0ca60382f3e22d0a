"""The real-model TOFU recipes generate answers as long as open-unlearning's (200 new tokens, its
configs/generation/default.yaml), so their ROUGE compares with its numbers; the tiny recipes keep
their short answers."""

from pathlib import Path

import pytest

from dareu.config import load_config

RECIPES = Path(__file__).parents[1] / "recipes"


@pytest.mark.parametrize("name", ["tofu_qlora_1gpu.yaml", "tofu_llama32_1b.yaml",
                                  "tofu_ddp_multigpu.yaml", "tofu_fsdp_baselines.yaml"])
def test_real_model_recipes_answer_up_to_200_tokens(name):
    assert load_config(RECIPES / name).eval.max_new_tokens == 200


@pytest.mark.parametrize("name", ["tofu_forget01_tiny.yaml", "tofu_forget05_tiny.yaml"])
def test_tiny_recipes_keep_their_length(name):
    assert load_config(RECIPES / name).eval.max_new_tokens == 64
