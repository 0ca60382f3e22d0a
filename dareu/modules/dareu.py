"""DareU: RL on the policy's own generations, rewarded by minus the forget owners' attribution.

One training step is one rollout, then a few optimiser updates on it:

1. P forget-owner prompts → G sampled responses each (one batched `generate`, KV cache)   N = P·G
2. reward r_i = −(attributor's mass on the forget owners for response i)                   (N,)
3. reference log-probs of the sampled tokens in one no-grad pass (old log-probs too, when
   a rollout is used for more than one update)                                              (N, R)
   and with them the degenerate-text guard: r_i −= w · penalty(per-token NLL under the reference)
   (`dareu.modules.fluency_guard`)
4. `unlearn.objective.epochs` updates on the whole rollout, each the algorithm's loss
   (`dareu.modules.objectives`: grpo / rloo group advantages + β·KL(policy ‖ reference); ppo a
   value head, KL-shaped token rewards, GAE) + λ·KL(reference ‖ policy) on teacher-forced
   retain-owner records (the utility guard, `dareu.modules.retain_distill`).

The maths is in `dareu.rl`; this module only moves tensors between those functions.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any, Sequence

import torch
from torch import Tensor, nn

from dareu.config import Config
from dareu.config.unlearn import MAX_GRAD_NORM
from dareu.data.corpus import Record
from dareu.data.name_swap import unknown_people
from dareu.data.streams import BatchStream, SeededCycle
from dareu.errors import DareUError
from dareu.generation import decode_responses, encode_prompts
from dareu.modules.collapse_watch import CollapseWarning, CollapseWatch  # noqa: F401 (re-exported)
from dareu.modules.divergence import check_loss, check_rewards
from dareu.modules.fluency_guard import FluencyGuard
from dareu.modules.floor import Floor
from dareu.modules.lm_forward import LMForward
from dareu.modules.objectives import build_objective
from dareu.modules.registry import UnlearnMethod, register_method
from dareu.modules.retain_distill import RetainDistill
from dareu.modules.reward_calls import Reward, costs, eval_mode, score
from dareu.modules.rollout import DistillBatch, Rollout
from dareu.modules.rollout_sampling import greedy_answers, rollout_seed, seeded_sample
from dareu.modules.step_metrics import logged_metrics
from dareu.lm_split import LMSplit
from dareu.rl import aggregate, masked_mean, response_mask
from dareu.sharding import configure_fsdp2

log = logging.getLogger("dareu")


@register_method("dareu")
class DareUModule(UnlearnMethod):
    """The DareU RL loop with manual optimisation (several updates per rollout, like a GAN step)."""

    uses_attributor = True

    def __init__(self, policy, reward: Reward, forget_prompts: Sequence[str | Record],
                 retain: Sequence[Record], cfg: Config, holdout: Sequence[Record] = ()) -> None:
        """`policy`: a `dareu.Policy`; `reward`: a `DeAttributionReward` or look-alike;
        `forget_prompts`: the forget owners' prompts (strings or records); `retain`: retain-owner
        records for the distillation guard; `cfg`: a `dareu.Config` (its `unlearn` section);
        `holdout`: records of owners nobody was trained on (with name-swapped retain questions,
        what the floor is measured on)."""
        super().__init__(policy, forget_prompts, retain, cfg)
        self.automatic_optimization = False
        self.strict_loading = False  # checkpoints hold only trainable weights (on_save_checkpoint)
        self.reward = reward
        u, tok = self.cfg.unlearn, policy.tokenizer
        self.tokenizer = tok
        prompts = [p if isinstance(p, str) else p.prompt for p in self.forget]
        self.forget_prompts = [(p, self.prompt_text(p)) for p in prompts]
        probe = unknown_people(self.retain, holdout, u.seed)
        self.floor = Floor(u.floor, [(r.prompt, self.prompt_text(r.prompt)) for r in probe])
        hidden = policy.model.config.get_text_config().hidden_size
        self.objective = build_objective(self.cfg, hidden, self.floor)
        for name, net in self.objective.networks().items():  # ppo's value_head, as checkpoints name it
            self.add_module(name, net)
        _disable_dropout(policy)  # the ratio π/π_old must be 1 before the first update
        self.lm = LMForward(policy.model, u.sampling.temperature, share_prompt_prefix=True)
        self.rollouts_done = 0
        self.collapse_watch = CollapseWatch(u.on_collapse, lambda: self._checkpoint_dir)
        self.fluency_guard = FluencyGuard(self.cfg, policy, [t for _, t in self.forget_prompts],
                                          [r.response for r in self.retain])
        self.retain_distill = RetainDistill(self.cfg, policy, [self.encode(r) for r in self.retain],
                                            self.lm)
        self.step_metrics: dict[str, float] = {}  # the last rollout's logged metrics

    @classmethod
    def build(cls, policy, forget, retain, cfg, reward=None, holdout=()) -> "DareUModule":
        if reward is None:
            raise DareUError("DareU needs a reward: pass a DeAttributionReward (or any object with "
                             "`rewards` and `forget_mass`) as `reward`.")
        return cls(policy, reward, forget, retain, cfg, holdout)

    @property
    def optimizer_steps_per_batch(self) -> int:
        return self.cfg.unlearn.objective.epochs

    @property
    def fluency_threshold(self) -> float | None:
        """τ of the fluency guard, set on the first rollout (None before it)."""
        return self.fluency_guard.threshold

    def set_fluency_judge(self, judge: nn.Module) -> None:
        """Judge fluency under `judge` (unlearn.reward.fluency.judge=base) instead of the reference. Held
        by the guard, not as a submodule: it is never trained, saved or checkpointed."""
        self.fluency_guard.set_judge(judge)

    # -- data ------------------------------------------------------------------------------------
    def train_dataloader(self) -> BatchStream:
        """Endless seeded batches of (prompt, formatted prompt) of the forget owners."""
        u, world = self.cfg.unlearn, self.trainer.world_size
        self.retain_distill.start(self.global_rank, world)
        self.floor.start(len(self.forget_prompts), u.sampling.prompts_per_step, world)
        prompts = SeededCycle(self.forget_prompts, u.sampling.prompts_per_step, self.cfg.unlearn.seed,
                              self.global_rank, world)
        return BatchStream(prompts, start=self.rollouts_done)  # resumes at the restored step

    # -- one step --------------------------------------------------------------------------------
    def training_step(self, batch: list[tuple[str, str]], batch_idx: int) -> None:
        step = self.rollouts_done
        if self.floor.level is None:  # before the first rollout: what the target invents
            self._measure_floor()
        rollout = self._rollout(batch, step)
        distill = (self.retain_distill.batches(step, self.device)
                   if self.retain_distill.active else [])
        stats = self._optimise(rollout, distill, step)
        self.rollouts_done += 1
        self._log_step(rollout, stats)
        if self.floor.done:
            log.info("DareU step %d: the answers of the last pass over the forget prompts are at "
                     "the floor (%.4f); stopping", self.rollouts_done, self.floor.level)
            self.trainer.should_stop = True

    def _measure_floor(self) -> None:
        if getattr(self.reward, "owner_shares", None) is None:  # a look-alike reward: push to 0
            self.floor.level = 0.0
            return
        reward = eval_mode(self.reward)
        with self.policy.reference() as ref:
            self.floor.measure(ref, self.tokenizer, reward, self.cfg.unlearn.sampling.max_new_tokens,
                               self._rank_mean)

    @torch.no_grad()
    def _rollout(self, batch: list[tuple[str, str]], step: int) -> Rollout:
        tok, G = self.tokenizer, self.cfg.unlearn.sampling.group_size
        prompts, texts = [p for p, _ in batch], [t for _, t in batch]
        enc = encode_prompts(tok, texts, self.device)  # (P, Tp) left-padded
        sequences = self._sample(enc, G, step, stream=0)  # (N, Tp + R), G rows per prompt
        responses = sequences[:, enc["input_ids"].shape[1]:]  # (N, R)
        mask = response_mask(responses, tok.eos_token_id, tok.pad_token_id)  # (N, R)
        attention = torch.cat([enc["attention_mask"].repeat_interleave(G, 0), mask.long()], 1)
        rewards, mass = self._score([p for p in prompts for _ in range(G)],
                                    decode_responses(tok, responses), step)
        ro = Rollout(sequences, attention, mask, rewards, mass, ref_logp=None, group_size=G)
        answers = greedy_answers(self.policy.model, tok, texts, self.cfg.unlearn.sampling.max_new_tokens)
        ro.greedy_cost = costs(self.reward, prompts, answers, self.device)  # (P,) what the stop reads
        with self.policy.reference() as ref:
            ro.ref_logp = self.lm.logp(ref, self.lm.response_features(ref, ro)[0], responses)
        self.fluency_guard.penalise(ro, self.lm.features, self._rank_mean)
        if self.optimizer_steps_per_batch > 1:  # the policy moves between updates: fix π_old now
            feats, hidden = self.lm.response_features(self.policy.model, ro,
                                                      hidden=self.objective.uses_values)
            ro.old_logp = self.lm.logp(self.policy.model, feats, responses)
            ro.old_values = self.objective.values(hidden)
        if ro.old_logp is not None or not self.objective.needs_old_logp:
            self.objective.advantages(ro)
        return ro

    def _optimise(self, ro: Rollout, distill: list[DistillBatch], step: int) -> dict[str, Tensor]:
        opt = self.optimizers()
        history: dict[str, list[Tensor]] = defaultdict(list)
        for _ in range(self.cfg.unlearn.objective.epochs):  # each a pass over the whole rollout
            for k, v in self._update(opt, ro, distill, first=not history).items():
                history[k].append(v)
        return {k: torch.stack(v).mean() for k, v in history.items()}  # mean over the updates

    def _update(self, opt, ro: Rollout, distill: list[DistillBatch],
                first: bool) -> dict[str, Tensor]:
        """One optimiser update on (part of) a rollout; returns detached statistics."""
        feats, hidden = self.lm.response_features(self.policy.model, ro,
                                                  hidden=self.objective.uses_values)
        logp, entropy = self.lm.logp(self.policy.model, feats, ro.responses, entropy=True)  # (n, R)
        values = self.objective.values(hidden)  # (n, R), None without a critic
        if ro.old_logp is None:  # a single update per rollout: nothing moved since sampling
            ro.old_logp = logp.detach()
            ro.old_values = values.detach() if values is not None else None
            self.objective.advantages(ro)
        loss, stats = self.objective.loss(logp, values, ro, self._aggregate)
        if distill:
            stats["retain_kl"] = torch.stack([self.retain_distill.kl(d, self._rank_mean)
                                              for d in distill]).mean()
            loss = loss + self.cfg.unlearn.retain.weight * stats["retain_kl"]
        check_loss(loss, self.rollouts_done, self.cfg.unlearn.lr, lambda: self._checkpoint_dir)
        opt.zero_grad()
        self.manual_backward(loss)
        if MAX_GRAD_NORM > 0:
            self.clip_gradients(opt, gradient_clip_val=MAX_GRAD_NORM,
                                gradient_clip_algorithm="norm")
        opt.step()
        stats["loss"] = loss
        if first:  # the policy as sampled (on the first minibatch)
            stats["entropy"] = masked_mean(entropy, ro.mask)
        return {k: v.detach() for k, v in stats.items()}

    def _aggregate(self, per_token: Tensor, mask: Tensor) -> Tensor:
        # the token mean over the rollout (DAPO): divided by the active tokens of the global batch;
        # DDP averages gradients over ranks, so each rank divides by the mean token count of the ranks
        n_tokens = self.trainer.strategy.reduce(mask.sum().float(), reduce_op="mean")
        return aggregate(per_token, mask, "dapo", num_active_tokens=n_tokens.clamp(min=1))

    # -- model plumbing --------------------------------------------------------------------------
    def _sample(self, enc: dict[str, Tensor], per_prompt: int, step: int, stream: int) -> Tensor:
        """Sampled continuations (B·per_prompt, Tp + R), seeded by (seed, step, rank, stream)."""
        u = self.cfg.unlearn
        return seeded_sample(self.policy.model, self.tokenizer, enc, per_prompt, u.sampling,
                             rollout_seed(u.seed, step, stream, self.global_rank), self.device)

    def _score(self, prompts: list[str], responses: list[str], step: int) -> tuple[Tensor, Tensor]:
        """Rewards and forget-owner mass of each response, (N,) each, no grad."""
        rewards, mass = score(self.reward, prompts, responses, self.device)
        check_rewards(rewards, prompts, responses, step, lambda: self._checkpoint_dir)
        return rewards, mass

    def _rank_mean(self, t: Tensor) -> Tensor:
        """`t` averaged over the data-parallel ranks (itself on one)."""
        return self.trainer.strategy.reduce(t, reduce_op="mean") if self.trainer.world_size > 1 else t

    @property
    def _checkpoint_dir(self) -> str:
        callback = self.trainer.checkpoint_callback if self._trainer is not None else None
        return str(getattr(callback, "dirpath", None) or "the trainer's checkpoint folder")

    # -- logging and guards ----------------------------------------------------------------------
    def _log_step(self, ro: Rollout, stats: dict[str, Tensor]) -> None:
        """Step metrics, mean over ranks, into `self.step_metrics` and one logger row per rollout.

        One stacked all-reduce and one host copy for all of them: `self.log` per key costs about a
        millisecond each in Lightning's result bookkeeping, a large share of a small model's step.
        Only the two progress-bar numbers go through `self.log`, when there is a progress bar."""
        at_floor = self.floor.observe(ro.rewards, self.cfg.unlearn.sampling.group_size,
                                      ro.greedy_cost, ro.penalty, self._rank_mean)  # the stop reads the pass
        metrics = logged_metrics(ro, stats, at_floor, self.floor.level or 0.0)
        values = self._rank_mean(torch.stack([v.float() for v in metrics.values()]))
        self.step_metrics = dict(zip(metrics, values.tolist()))
        if self.trainer.progress_bar_callback is not None:
            self.log_dict({k: values[i] for i, k in enumerate(metrics) if k in ("reward_mean", "kl")},
                          prog_bar=True, logger=False, batch_size=ro.sequences.shape[0])
        if self.logger is not None:
            # one row per rollout, numbered like Lightning numbers logged batches (0, 1, ...)
            self.logger.log_metrics({**self.step_metrics, "epoch": self.current_epoch},
                                    step=self.rollouts_done - 1)
        m = self.step_metrics
        self.collapse_watch.observe(self.rollouts_done, m["response_len"], m["entropy"], m["degenerate"])

    # -- optimisation and checkpoints ------------------------------------------------------------
    def configure_model(self) -> None:
        """Under FSDP2 (`trainer.strategy: fsdp2`): shard the policy, its frozen reference and the
        objective's networks over the data-parallel ranks (`dareu.sharding`); sampling gathers them."""
        if not configure_fsdp2(self, "policy", self.policy.model, self.policy.frozen_reference):
            return
        from torch.distributed.fsdp import fully_shard

        for net in self.objective.networks().values():  # trainable: gradients reduced like the rest
            fully_shard(net, mesh=self.device_mesh["data_parallel"])
        # every forward must enter through the sharded root (it gathers the embeddings and head)
        self.lm.split = LMSplit(exact=False)

    def configure_optimizers(self):
        groups = [{"params": self.policy.trainable_parameters()}, *self.objective.param_groups()]
        return torch.optim.AdamW(groups, lr=self.cfg.unlearn.lr, weight_decay=0.0)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # only what training changes: frozen base / reference / reward weights reload from disk
        trainable = {name for name, p in self.named_parameters() if p.requires_grad
                     and not name.startswith("reward.")}
        state = checkpoint["state_dict"]
        checkpoint["state_dict"] = {k: v for k, v in state.items() if k in trainable}
        checkpoint["dareu"] = {"rollouts_done": self.rollouts_done,
                               **self.collapse_watch.state_dict(),
                               **self.fluency_guard.state_dict(), **self.floor.state_dict()}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("dareu", {})
        self.rollouts_done = int(state.get("rollouts_done", 0))
        self.collapse_watch.load_state_dict(state)
        self.fluency_guard.load_state_dict(state)
        self.floor.load_state_dict(state)


def _disable_dropout(policy: nn.Module) -> None:
    for m in policy.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
