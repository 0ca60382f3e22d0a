import doctest
import math

import pytest
import torch

import dareu.reward
from attributors import Attributor, AttributorError
from attributors.base import AttributorContext
from attributors.masking import AliasMasker
from dareu.reward import DeAttributionReward

OWNERS = ["alice", "bob", "carol"]


class Recording(Attributor):
    """Returns fixed rows and records what it was shown."""

    def __init__(self, rows, sees="response"):
        super().__init__(context=AttributorContext(sees=sees))
        self.owners, self.rows, self.seen, self.device = list(OWNERS), torch.tensor(rows), [], "cpu"

    def fit(self, corpus):
        return self

    def score(self, prompts, responses):
        self.seen.append((list(prompts), list(responses)))
        return self.rows[: len(responses)]

    def to(self, device):
        self.device = str(device)
        return self


ROWS = [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]


def test_minus_mass():
    r = DeAttributionReward(Recording(ROWS), ["bob", "carol"])
    mass = r.forget_mass(["q1", "q2"], ["a1", "a2"])
    assert torch.allclose(mass, torch.tensor([0.3, 0.9]))
    assert torch.allclose(r.rewards(["q1", "q2"], ["a1", "a2"]), -mass)


def test_log_mass_and_clip():
    r = DeAttributionReward(Recording(ROWS), ["bob"], transform="log_mass", eps=1e-6)
    assert torch.allclose(r.rewards(["q", "q"], ["a", "b"]),
                          torch.tensor([-math.log(0.2 + 1e-6), -math.log(0.1 + 1e-6)]))
    zero = DeAttributionReward(Recording([[1.0, 0.0, 0.0]]), ["bob"], transform="log_mass",
                               eps=1e-6, clip=(-5.0, 5.0))
    assert zero.rewards(["q"], ["a"]).item() == 5.0             # −log(1e-6) ≈ 13.8, clipped
    clipped = DeAttributionReward(Recording(ROWS), ["carol"], clip=(-0.5, 0.0))
    assert torch.allclose(clipped.rewards(["q", "q"], ["a", "b"]), torch.tensor([-0.1, -0.5]))


def test_unnormalised_scores_become_a_share():
    r = DeAttributionReward(Recording([[2.0, 6.0, 0.0], [0.0, 0.0, 0.0]]), ["bob"])
    assert torch.allclose(r.forget_mass(["q", "q"], ["a", "b"]), torch.tensor([0.75, 0.0]))
    raw = DeAttributionReward(Recording([[2.0, 6.0, 0.0]]), ["bob"], normalize=False)
    assert raw.forget_mass(["q"], ["a"]).item() == 6.0


def test_masks_and_hides_prompt_by_default():
    att = Recording(ROWS)
    r = DeAttributionReward(att, ["bob"], masker=AliasMasker({"bob": ["Bob Stone", "Bob"]}))
    r.forget_mass(["Who is Bob Stone?"], ["Bob's bakery is in Oslo."])
    assert att.seen[-1] == ([""], ["[OWNER] bakery is in Oslo."])


def test_prompt_plus_response():
    att = Recording(ROWS, sees="prompt+response")
    r = DeAttributionReward(att, ["bob"], masker=AliasMasker({"bob": ["Bob"]}))
    assert r.sees == "prompt+response"
    r.forget_mass(["Who is Bob?"], ["A baker."])
    assert att.seen[-1] == (["Who is [OWNER]?"], ["A baker."])
    with pytest.raises(AttributorError, match="fitted on `prompt\\+response`"):
        DeAttributionReward(att, ["bob"], sees="response")


def test_last_batch_scored_once():
    att = Recording(ROWS)
    r = DeAttributionReward(att, ["bob"])
    r.rewards(["q", "q"], ["a", "b"])
    r.forget_mass(["q", "q"], ["a", "b"])
    assert len(att.seen) == 1
    r.forget_mass(["q", "q"], ["a", "c"])
    assert len(att.seen) == 2


@pytest.mark.parametrize("bad, match", [
    (dict(forget_owners=["dave"]), "not owners"),
    (dict(forget_owners=[]), "not owners"),
    (dict(forget_owners=["bob"], transform="mass2"), "transform"),
    (dict(forget_owners=["bob"], clip=(1.0, -1.0)), "clip"),
    (dict(forget_owners=["bob"], name_weight=0.5), "name_weight"),
    (dict(forget_owners=["bob"], forget_names=["Bob Baker"], name_weight=-1.0), "name_weight"),
])
def test_bad_options(bad, match):
    with pytest.raises(AttributorError, match=match):
        DeAttributionReward(Recording(ROWS), **bad)


def test_name_weight_charges_responses_that_name_a_forget_owner():
    """The masked attributor sees "[OWNER]" either way; the name term sees the name, in any case
    and with a possessive, and leaves the mass (what evaluation reads) alone."""
    masker = AliasMasker({"bob": ["Bob Baker", "Baker"], "alice": ["Alice Smith"]})
    r = DeAttributionReward(Recording(ROWS * 2), ["bob"], masker=masker,
                            forget_names=["Bob Baker", "Baker"], name_weight=0.5)
    responses = ["Bob Baker bakes.", "BAKER's bread", "Alice Smith bakes.", "Bakery bread"]
    mass = r.forget_mass(["q"] * 4, responses)
    assert torch.allclose(r.rewards(["q"] * 4, responses), -mass - torch.tensor([0.5, 0.5, 0, 0]))
    off = DeAttributionReward(Recording(ROWS * 2), ["bob"], masker=masker, forget_names=["Baker"])
    assert torch.allclose(off.rewards(["q"] * 4, responses), -mass)


def test_trl_signature_strings():
    r = DeAttributionReward(Recording(ROWS), ["carol"])
    out = r(prompts=["q1", "q2"], completions=["a1", "a2"], completion_ids=[[1], [2]],
            trainer_state=None, owner=["x", "y"])
    assert isinstance(out, list) and len(out) == 2 and all(type(x) is float for x in out)
    assert out == pytest.approx([-0.1, -0.8])
    assert r.__name__ == "de_attribution"


def test_trl_signature_conversational():
    att = Recording(ROWS, sees="prompt+response")
    r = DeAttributionReward(att, ["carol"], name="forget_mass")
    prompts = [[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "q1"}],
               [{"role": "user", "content": [{"type": "text", "text": "q2"}]}]]
    completions = [[{"role": "assistant", "content": "a1"}], [{"role": "assistant", "content": "a2"}]]
    out = r(prompts=prompts, completions=completions)
    assert out == pytest.approx([-0.1, -0.8]) and r.__name__ == "forget_mass"
    assert att.seen[-1] == (["q1", "q2"], ["a1", "a2"])


def test_follows_device_moves():
    att = Recording(ROWS)
    r = DeAttributionReward(att, ["bob"])
    att.device = "nowhere"
    parent = torch.nn.Module()
    parent.reward = r
    parent.to("cpu")
    assert att.device == "cpu" and r.forget_index.device.type == "cpu"
    assert list(r.parameters()) == []          # nothing for an optimiser to train


def test_docstring_example():
    result = doctest.testmod(dareu.reward, verbose=False)
    assert result.attempted >= 5 and result.failed == 0
