import torch

from dareu.rl import last_valid_index, response_mask, sequence_logprob

EOS, PAD = 2, 0


def _ref_mask(ids, eos_ids, pad):
    out = torch.zeros_like(ids, dtype=torch.bool)
    for b, row in enumerate(ids.tolist()):
        for t, tok in enumerate(row):
            if tok in eos_ids:
                out[b, t] = True
                break
            out[b, t] = tok != pad
    return out


def test_response_mask_hand():
    ids = torch.tensor(
        [
            [5, 6, EOS, PAD, PAD],  # eos then padding
            [5, 6, 7, 8, 9],  # truncated, no eos
            [EOS, 5, EOS, 6, PAD],  # only the first eos counts
            [5, 6, 7, PAD, PAD],  # stopped without eos, padded
        ]
    )
    expected = torch.tensor(
        [
            [1, 1, 1, 0, 0],
            [1, 1, 1, 1, 1],
            [1, 0, 0, 0, 0],
            [1, 1, 1, 0, 0],
        ],
        dtype=torch.bool,
    )
    got = response_mask(ids, EOS, PAD)
    assert got.dtype == torch.bool
    assert torch.equal(got, expected)


def test_response_mask_pad_equals_eos():
    ids = torch.tensor([[5, 6, 2, 2, 2], [5, 2, 2, 2, 2], [5, 6, 7, 8, 9]])
    expected = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    assert torch.equal(response_mask(ids, eos_token_id=2, pad_token_id=2), expected)


def test_response_mask_random_vs_loop_and_multiple_eos():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 6, (16, 12), generator=g)
    assert torch.equal(response_mask(ids, EOS, PAD), _ref_mask(ids, {EOS}, PAD))
    assert torch.equal(response_mask(ids, [2, 3], PAD), _ref_mask(ids, {2, 3}, PAD))
    assert torch.equal(response_mask(ids, EOS, None), _ref_mask(ids, {EOS}, None))


def test_last_valid_index():
    m = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0], [0, 1, 0, 1]], dtype=torch.bool)
    assert last_valid_index(m).tolist() == [1, 3, -1, 3]


def test_sequence_logprob_and_padding_invariance():
    logps = torch.tensor([[-1.0, -2.0, -3.0], [-0.5, -0.25, -9.0]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]], dtype=torch.bool)
    torch.testing.assert_close(sequence_logprob(logps, mask), torch.tensor([-6.0, -0.75]))
    padded = torch.cat([logps, torch.full((2, 3), float("-inf"))], 1)
    pmask = torch.cat([mask, torch.zeros(2, 3, dtype=torch.bool)], 1)
    torch.testing.assert_close(sequence_logprob(padded, pmask), torch.tensor([-6.0, -0.75]))
