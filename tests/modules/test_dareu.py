"""DareU's RL loop on a tiny GPT-2 and a toy reward whose optimum is known.

The toy reward is the fraction of vowels among the letters of a response: a random policy scores
about 0.37, and each algorithm must push its sampled responses towards vowel-heavy tokens.
"""

from __future__ import annotations

import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from dareu.config import load_config
from dareu.data.streams import SeededCycle
from dareu.errors import ConfigError, PolicyCollapsed, TrainingDiverged
from dareu.generation import encode_prompts
from dareu.models import build_tiny_model
from dareu.modules.dareu import CollapseWarning, DareUModule
from dareu.modules.rollout import Rollout
from dareu.modules.registry import get_method
from dareu.rl import response_mask, token_logprobs
from tests.modules.dareu_harness import TINY, TOY, VowelReward, base, fit, make  # noqa: F401 (base: fixture)


def test_dareu_is_registered():
    assert get_method("dareu") is DareUModule


@pytest.mark.parametrize("algorithm", ["grpo", "rloo", "ppo"])
def test_reward_increases_on_a_toy_problem(base, algorithm):
    rows = fit(make(base, TOY + [f"unlearn.objective.algorithm={algorithm}"]), steps=20)
    rewards = [r["reward_mean"] for r in rows]
    windows = [sum(rewards[i:i + 4]) / 4 for i in range(len(rewards) - 3)]  # 4-step means
    # a 4-step mean of 16 responses has a standard error of about 0.02: +0.1 is a real rise
    # (measured over corpus seeds 0-3: grpo and rloo gain ≥ 0.58 by the last steps). ppo at the
    # toy's lr 5e-2 rises, then drifts back; where it ends depends on the CPU's float kernels
    # (last 4 steps: ≥ +0.14 with AVX-512, +0.09 on an AVX2-only EPYC, whose peak is +0.16), so
    # for ppo the best window after the first must show the rise
    reached = windows[-1] if algorithm != "ppo" else max(windows[1:])
    assert reached > windows[0] + 0.1, rewards
    assert rows[0]["kl"] == pytest.approx(0.0, abs=1e-6)  # the first rollout is the reference's
    for key in ("reward_std", "forget_mass", "entropy", "response_len", "clip_frac", "loss"):
        assert key in rows[-1]
    assert ("value_loss" in rows[-1]) == (algorithm == "ppo")


def _frozen_state(module: DareUModule) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.policy.model.state_dict().items() if "lora_" not in k}


@pytest.mark.parametrize("mode", ["lora", "qlora"])
def test_adapter_modes_train_only_the_adapters(base, mode):
    # the whole loss: β·KL, retain distillation, 2 epochs (old log-probs from their own pass),
    # PPO's value head
    module = make(base, ["unlearn.objective.algorithm=ppo", "unlearn.objective.epochs=2",
                         "unlearn.lr=1e-2"], mode=mode)
    frozen = _frozen_state(module)
    lora = {k: v.clone() for k, v in module.policy.model.state_dict().items() if "lora_" in k}
    assert lora, "no adapter weights"
    rows = fit(module, steps=2, name=mode)
    for key in ("loss", "retain_kl", "value_loss", "kl", "reward_mean"):
        assert torch.isfinite(torch.tensor(rows[-1][key])), (key, rows[-1])
    after = module.policy.model.state_dict()
    assert all(torch.equal(frozen[k], after[k]) for k in frozen), "a frozen weight changed"
    assert any(not torch.equal(lora[k], after[k]) for k in lora), "no adapter weight changed"
    if mode == "qlora":
        assert getattr(module.policy.model.get_base_model(), "is_loaded_in_4bit", False)
    assert len(module.retain_distill.batches(0, module.device)) == 1  # the retain records


def test_grpo_full_loss_runs(base):
    module = make(base, ["unlearn.objective.algorithm=grpo", "unlearn.objective.epochs=2", "unlearn.floor=0"])
    rows = fit(module, steps=2)
    assert len(rows) == 2 and rows[-1]["retain_kl"] > 0 and rows[-1]["kl"] > 0
    assert module.trainer.global_step == 2 * 2  # steps × epochs updates


def test_nan_reward_stops_with_a_clear_error_and_keeps_the_checkpoint(base, tmp_path):
    # each step reads the reward twice: its sampled answers, then its greedy ones (the stop's)
    module = make(base, TOY, reward=VowelReward(nan_after=4))
    ckpt = ModelCheckpoint(dirpath=tmp_path, every_n_train_steps=1, save_last=True)
    with pytest.raises(TrainingDiverged, match=r"step 2: the reward is NaN/inf for 1 of 16 responses"):
        fit(module, steps=5, callbacks=[ckpt])
    assert torch.load(tmp_path / "last.ckpt", weights_only=False)["dareu"]["rollouts_done"] == 2


def test_collapse_warns_loudly(base):
    # one-token answers: the length guard trips on every step
    module = make(base, TOY + ["unlearn.sampling.max_new_tokens=1"])
    with pytest.warns(CollapseWarning, match="collapsed for 3 steps in a row"):
        fit(module, steps=3)


def test_collapse_stops_the_run_by_default(base):
    module = make(base, [o for o in TOY if o != "unlearn.on_collapse=warn"] + ["unlearn.sampling.max_new_tokens=1"])
    with pytest.raises(PolicyCollapsed, match="on_collapse=warn") as e:
        fit(module, steps=5)
    assert e.value.exit_code == 5 and module.rollouts_done == 3


class ZeroMass(VowelReward):
    """An attributor that sees nothing: every response has mass 0 (gibberish included)."""

    def forget_mass(self, prompts, responses):
        return torch.zeros(len(responses))


def test_fluency_guard_prices_degenerate_answers_and_gibberish_stops_the_run(base):
    # margin -100: every answer is far less fluent than the threshold -> penalty 1 for all
    module = make(base, ["unlearn.reward.fluency.margin=-100", "unlearn.objective.epochs=1"], reward=ZeroMass())
    with pytest.raises(PolicyCollapsed, match="100% of the answers degenerate"):
        fit(module, steps=4)
    assert module.step_metrics["reward_mean"] == pytest.approx(-1.0)  # −0 mass − 1 · penalty 1
    # a generous margin: the policy's own answers are fluent, nothing is charged
    module = make(base, ["unlearn.reward.fluency.margin=100", "unlearn.objective.epochs=1"], reward=ZeroMass())
    rows = fit(module, steps=2)
    assert all(r["fluency_penalty"] == 0 and r["reward_mean"] == 0 for r in rows)
    assert module.fluency_threshold is not None


def test_the_default_foreign_anchor_measures_the_threshold_on_retain_answers_after_forget_prompts(base):
    from dareu.scoring import score_responses
    from dareu.rl import foreign_answers

    module = make(base, ["unlearn.reward.fluency.margin=1.5", "unlearn.objective.epochs=1"], reward=ZeroMass())
    fit(module, steps=1)
    texts = [t for _, t in module.forget_prompts]
    answers = foreign_answers([r.response for r in module.retain], len(texts), module.cfg.unlearn.seed)
    with module.policy.reference() as ref:
        nll = score_responses(ref, module.tokenizer, texts, answers, module.cfg.model.max_length, 4).avg_nll
    assert module.fluency_threshold == pytest.approx(float(nll.float().median()) + 1.5, abs=1e-6)


def test_a_fluency_judge_replaces_the_reference_in_the_guard(base):
    from dareu.models import build_tiny_model

    run0, tok, _ = base
    judge = build_tiny_model(run0.cfg.model, tok, seed=7)  # another network: another NLL scale
    module = make(base, ["unlearn.reward.fluency.margin=0", "unlearn.objective.epochs=1"], reward=ZeroMass())
    module.set_fluency_judge(judge)
    assert all(m is not judge for m in module.modules())  # never trained, saved or checkpointed
    fit(module, steps=1)
    plain = make(base, ["unlearn.reward.fluency.margin=0", "unlearn.objective.epochs=1"], reward=ZeroMass())
    fit(plain, steps=1)
    assert module.fluency_threshold != pytest.approx(plain.fluency_threshold, abs=1e-3)
    assert all(not p.requires_grad for p in judge.parameters())


def test_unlearn_seed_changes_the_rollouts_not_the_rest_of_the_run(base):
    a, b = (load_config(None, TINY + [f"unlearn.seed={s}"]) for s in ("null", 7))
    assert a.unlearn.seed == a.run.seed == 0 and b.unlearn.seed == 7 and b.run.seed == 0
    runs = {s: fit(make(base, TOY + [f"unlearn.seed={s}"]), steps=1) for s in (0, 7)}
    assert runs[0][0]["reward_mean"] != runs[7][0]["reward_mean"]  # other samples drawn


def test_resume_equals_an_uninterrupted_run(base, tmp_path):
    overrides = ["unlearn.objective.algorithm=grpo", "unlearn.objective.epochs=2", "unlearn.lr=1e-2"]
    straight = make(base, overrides)
    fit(straight, steps=4)
    first = make(base, overrides)
    fit(first, steps=2, callbacks=[ModelCheckpoint(dirpath=tmp_path, every_n_train_steps=4, save_last=True)])
    resumed = make(base, overrides)
    fit(resumed, steps=4, ckpt_path=tmp_path / "last.ckpt")
    assert resumed.rollouts_done == 4
    # the fluency guard's τ comes back from the checkpoint (same key as ever), not measured again
    saved = torch.load(tmp_path / "last.ckpt", weights_only=False)["dareu"]["fluency_threshold"]
    assert saved is not None and resumed.fluency_threshold == saved == first.fluency_threshold
    a, b = straight.policy.model.state_dict(), resumed.policy.model.state_dict()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_checkpoint_holds_only_trainable_weights(base, tmp_path):
    module = make(base, TOY + ["unlearn.objective.algorithm=ppo"])
    fit(module, steps=1, callbacks=[ModelCheckpoint(dirpath=tmp_path, every_n_train_steps=1, save_last=True)])
    assert [g["lr"] for g in module.optimizers().optimizer.param_groups] == [5e-2, 5e-2]
    state = torch.load(tmp_path / "last.ckpt", weights_only=False)["state_dict"]
    assert "value_head.weight" in state
    assert not any("frozen_reference" in k for k in state)


def test_training_logprobs_match_what_generate_sampled(base):
    """Left-padded prompts: GPT-2's positions must be counted as generate() counted them."""
    module = make(base, TOY)
    tok = module.tokenizer
    enc = encode_prompts(tok, ["Question: Who?\nAnswer:", "Question: Where was the author born?\nAnswer:"])
    out = module.policy.model.generate(**enc, do_sample=True, top_k=0, max_new_tokens=5,
                                       output_logits=True, return_dict_in_generate=True,
                                       pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    R = out.sequences.shape[1] - enc["input_ids"].shape[1]
    att = torch.cat([enc["attention_mask"], torch.ones(2, R, dtype=torch.long)], 1)
    with torch.no_grad():
        logits, _ = module.lm.features(module.policy.model, out.sequences, att, R)
    assert torch.allclose(logits, torch.stack(out.logits, 1), atol=1e-4)


@pytest.mark.parametrize("mode", ["full", "lora"])
def test_head_applied_in_chunks_gives_the_plain_logprobs(base, mode):
    """The body's hidden states + the chunked head = log-softmax of the whole model's logits."""
    module = make(base, TOY, mode=mode)
    assert module.lm.split.exact
    module.lm.chunk = 3  # several chunks, with a remainder
    tok, model = module.tokenizer, module.policy.model
    enc = encode_prompts(tok, ["Question: Who?\nAnswer:", "Question: Where was the author born?\nAnswer:"])
    seq = module._sample(enc, 2, step=0, stream=0)
    resp = seq[:, enc["input_ids"].shape[1]:]
    mask = response_mask(resp, tok.eos_token_id, tok.pad_token_id)
    att = torch.cat([enc["attention_mask"].repeat_interleave(2, 0), mask.long()], 1)
    ro = Rollout(seq, att, mask, torch.zeros(4), torch.zeros(4), ref_logp=None, group_size=2)
    plain = token_logprobs(module.lm.features(model, seq, att, resp.shape[1])[0], resp)
    chunked = module.lm.logp(model, module.lm.response_features(model, ro)[0], resp)
    torch.testing.assert_close(chunked[mask], plain[mask], rtol=1e-4, atol=1e-5)


def test_seeded_cycle_covers_every_item_once_per_pass_and_splits_ranks():
    items = list(range(10))
    c = SeededCycle(items, batch_size=5, seed=3)
    assert sorted(c.batch(0) + c.batch(1)) == items and c.batch(0) != [0, 1, 2, 3, 4]
    assert c.batch(7) == SeededCycle(items, 5, seed=3).batch(7)  # a pure function of the index
    r0, r1 = SeededCycle(items, 5, 3, rank=0, world_size=2), SeededCycle(items, 5, 3, rank=1, world_size=2)
    assert sorted(r0.batch(0) + r1.batch(0)) == items


@pytest.mark.parametrize("override, key", [("unlearn.sampling.group_size=1", "unlearn.sampling.group_size"),
                                           ("unlearn.reward.fluency.judge=oracle", "unlearn.reward.fluency.judge"),
                                           # no pretrained base to judge under
                                           ("unlearn.reward.fluency.judge=base", "unlearn.reward.fluency.judge"),
                                           ("unlearn.sampling.decode=fast", "unlearn.sampling.decode"),
                                           ("unlearn.floor=auto_", "unlearn.floor")])
def test_bad_rl_settings_name_the_key(override, key):
    with pytest.raises(ConfigError, match=key):
        load_config(None, [override])


@pytest.mark.parametrize("algorithm", ["grpo", "ppo"])
def test_prompt_prefix_sharing_changes_nothing(base, algorithm):
    """Prompts encoded once per group (the default) train the same weights as the plain forward."""
    opts = [f"unlearn.objective.algorithm={algorithm}", "unlearn.objective.epochs=2", "unlearn.lr=1e-3"]
    runs = []
    for share in (True, False):
        module = make(base, opts)
        module.lm.share_prompt_prefix = share
        rows = fit(module, steps=2, name=f"prefix-{share}")
        runs.append((rows, {n: p.detach().clone() for n, p in module.named_parameters()
                            if p.requires_grad}))
    (rows_a, w_a), (rows_b, w_b) = runs
    assert rows_a[-1]["kl"] > 0  # the policy moved, so the second rollout tests the shared path
    for key in ("reward_mean", "kl", "loss"):
        assert rows_a[-1][key] == pytest.approx(rows_b[-1][key], rel=1e-3, abs=1e-5), key
    for n, w in w_a.items():
        torch.testing.assert_close(w, w_b[n], rtol=1e-4, atol=1e-6, msg=n)


def test_unlearn_decode_picks_the_rollout_sampler(base, monkeypatch):
    """unlearn.sampling.decode=static samples through generate's static KV cache; on a CPU `auto` keeps the
    eager sampler (and both draw the same tokens here)."""
    import dareu.sampling

    plans, real = [], dareu.sampling._sample_generate
    monkeypatch.setattr(dareu.sampling, "_sample_generate", lambda *a: plans.append(a[-1]) or real(*a))
    enc = encode_prompts(base[1], ["Question: Who?\nAnswer:", "Question: Where was the author born?\nAnswer:"])
    seqs = [make(base, TOY + [f"unlearn.sampling.decode={d}"])._sample(enc, 2, step=0, stream=0)
            for d in ("auto", "static")]
    assert len(plans) == 1 and plans[0].static and not plans[0].compiled
    assert torch.equal(seqs[0], seqs[1])
