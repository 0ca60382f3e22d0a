"""DareU's de-attribution reward as a reward function in TRL's GRPOTrainer.

    pip install "dareu[bench]"                     # TRL 1.16
    python examples/trl_grpo_reward.py [OUT_DIR]   # CPU, about a minute

`DeAttributionReward` has TRL's reward signature, `reward(prompts=..., completions=...) ->
list[float]`. TRL takes any `nn.Module` in `reward_funcs` for a reward model, so pass
`reward.as_reward_func()`: a plain function that TRL logs under `rewards/de_attribution`.
"""

import sys
import tempfile
from pathlib import Path

from datasets import Dataset
from transformers import AutoModelForCausalLM
from trl import GRPOConfig, GRPOTrainer

from _tiny import tiny_world
from attributors import AttributorContext, build_attributor
from dareu import DeAttributionReward, format_prompt, load_tokenizer


def main(out: Path) -> list[dict]:
    corpus, cfg = tiny_world(out / "model")                  # your owner corpus and HF model folder
    tokenizer = load_tokenizer(out / "model", cfg.model)
    options = {"n_layer": 1, "n_embd": 64, "n_head": 2, "epochs": 3, "max_length": 64}
    attributor = build_attributor("classifier", options, AttributorContext(tokenizer=tokenizer))
    reward = DeAttributionReward(attributor.fit(corpus), forget_owners=corpus.forget_owners)

    prompts = [format_prompt(r.prompt, tokenizer, cfg.data.template) for r in corpus.forget]
    args = GRPOConfig(output_dir=str(out / "trl"), max_steps=2, per_device_train_batch_size=4,
                      num_generations=4, max_completion_length=16, learning_rate=1e-4,
                      use_cpu=True, bf16=False, report_to="none", save_strategy="no",
                      logging_steps=1, disable_tqdm=True, seed=0)
    trainer = GRPOTrainer(model=AutoModelForCausalLM.from_pretrained(out / "model"),
                          reward_funcs=[reward.as_reward_func()], args=args, processing_class=tokenizer,
                          train_dataset=Dataset.from_dict({"prompt": prompts}))
    trainer.train()
    logged = [row for row in trainer.state.log_history if "rewards/de_attribution/mean" in row]
    for row in logged:
        print(f"step {row['step']}: de-attribution reward {row['rewards/de_attribution/mean']:.4f}")
    return logged


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="dareu-example-")))
