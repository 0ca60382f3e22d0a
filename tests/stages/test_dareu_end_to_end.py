"""End-to-end regression: DareU with the real (default) classifier attributor on a small corpus
lowers the forget mass of the target's answers, and the answers stay fluent (bounded NLL under
the reference, no empty answers) — the reward is not won by gibberish."""

from __future__ import annotations

import pytest
import torch
from conftest import prepare_run

from dareu.config import load_config
from dareu.eval.answers import greedy_answers
from dareu.scoring import score_responses
from dareu.models import load_causal_lm, load_trained
from dareu.pipeline import Run
from dareu.rl import fluency_penalty, fluency_threshold
from dareu.stages.objects import reward as run_reward
from dareu.stages.unlearn import unlearn

# a target that memorises its answers (as in the evaluation tests), the default attributor
RUN = ["data.num_owners=6", "data.qa_per_owner=4", "data.num_holdout_owners=1",
       "data.num_test_questions=4", "model.n_layer=1", "model.n_embd=64", "model.n_head=2",
       "model.vocab_size=512", "model.max_length=64", "finetune.epochs=40", "finetune.batch_size=4",
       "finetune.lr=0.01", "trainer.accelerator=cpu", "trainer.devices=1",
       "trainer.enable_progress_bar=false", "eval.metrics=[]", "run.threads=1",
       "unlearn.methods=[dareu]", "unlearn.steps=20", "unlearn.lr=1e-3", "unlearn.sampling.prompts_per_step=4",
       "unlearn.sampling.group_size=4", "unlearn.sampling.max_new_tokens=16", "unlearn.retain.batch_size=4"]


def _answers_and_mass(run: Run, model, reward) -> tuple[list[str], torch.Tensor]:
    forget = run.corpus.forget
    answers = greedy_answers(model, run.tokenizer, [run.prompt_text(r.prompt) for r in forget], 16, 32)
    return answers, reward.forget_mass([r.prompt for r in forget], answers)


@pytest.mark.slow
def test_dareu_lowers_forget_mass_with_fluent_answers(tmp_path):
    out = prepare_run(tmp_path / "run", RUN)
    run = Run(load_config(None, RUN + [f"run.output_dir={out}"]))
    unlearn(run)
    reward = run_reward(run)
    target = load_causal_lm(run.target_dir, run.cfg.model, mode="full", trainable=False)
    dareu = load_trained(run.method_dir("dareu"), run.cfg.model, base_path=run.target_dir)
    _, before = _answers_and_mass(run, target, reward)
    answers, after = _answers_and_mass(run, dareu, reward)
    assert before.mean() > 0.5, before  # the attributor recognises the memorised answers
    assert after.mean() < 0.5 * before.mean(), (before.mean(), after.mean(), answers)

    # fluency under the reference, judged like the guard: against the target's own answers
    prompts = [run.prompt_text(r.prompt) for r in run.corpus.forget]
    torch.manual_seed(0)
    own = greedy_answers(target, run.tokenizer, prompts, 16, 32)
    ml = run.cfg.model.max_length
    tau = fluency_threshold(score_responses(target, run.tokenizer, prompts, own, ml, 32).avg_nll.float(),
                            run.cfg.unlearn.reward.fluency.margin)
    s = score_responses(target, run.tokenizer, prompts, answers, ml, 32)
    penalty = fluency_penalty(s.avg_nll.float(), s.num_tokens, tau)
    assert all(a.strip() for a in answers), answers
    assert penalty.mean() < 0.5, (penalty, answers)
