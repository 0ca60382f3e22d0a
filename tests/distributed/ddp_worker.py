"""`python ddp_worker.py RECIPE OVERRIDES...`: `dareu unlearn` with two test-only patches.

1. Rollouts sampled per prompt with a seed from (prompt text, step): the responses to a prompt
   are the same whichever rank draws it and however many prompts share its batch, so a 2-rank
   run and a 1-process run with the same global batch see identical rollouts.
2. Plain SGD instead of AdamW: the update is linear in the gradient, so weights after the step
   compare the (DDP-averaged) gradients directly; Adam's first step is ≈ lr·sign(g), which turns
   1e-9 float noise in a near-zero gradient entry into a ±lr difference.

Lightning's DDP launcher re-runs this script (sys.argv) for rank 1, so the patches apply there too.
"""

import sys
import zlib

import torch

from dareu.cli import main
from dareu.modules.dareu import DareUModule
from dareu.sharding import gathered


def _sample(self, enc, per_prompt, step, stream):
    with gathered(self.policy.model):  # as DareUModule._sample: FSDP2 gathers once for the decode
        rows = _per_prompt(self, enc, per_prompt, step, stream)
    longest = max(r.shape[0] for _, r in rows)
    pad = self.tokenizer.pad_token_id
    return torch.stack([torch.cat([ids, r, r.new_full((longest - r.shape[0],), pad)]) for ids, r in rows])


def _per_prompt(self, enc, per_prompt, step, stream):
    tok, u = self.tokenizer, self.cfg.unlearn
    rows = []
    for ids, att in zip(enc["input_ids"], enc["attention_mask"]):
        prompt = ids[att.bool()][None]  # (1, L) without padding
        seed = zlib.crc32(prompt.cpu().numpy().tobytes()) * 1000 + step * 10 + stream
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(seed)
            out = self.policy.model.generate(
                input_ids=prompt, attention_mask=torch.ones_like(prompt), do_sample=True,
                temperature=u.sampling.temperature, top_k=0, max_new_tokens=u.sampling.max_new_tokens,
                num_return_sequences=per_prompt, pad_token_id=tok.pad_token_id,
                eos_token_id=tok.eos_token_id)
        rows += [(ids, r) for r in out[:, prompt.shape[1]:]]
    return rows


DareUModule._sample = _sample
DareUModule.configure_optimizers = lambda self: torch.optim.SGD(self.policy.trainable_parameters(),
                                                                lr=self.cfg.unlearn.lr)

if __name__ == "__main__":
    sys.exit(main(["unlearn", *sys.argv[1:]]))
