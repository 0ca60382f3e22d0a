"""What a plan sizes: the model (parameters, layers, adapters) and the data (records, tokens)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch

from dareu.config import Config
from dareu.errors import DareUError

TOFU_QA_PER_AUTHOR, TOFU_AUTHORS, TOFU_TEST_QA = 20, 200, 217  # locuslab/TOFU as published
TOFU_FORGET_AUTHORS = {"forget01": 2, "forget05": 10, "forget10": 20}
TOFU_TEST_SETS = {"real_authors": 100, "world_facts": 117}
TOFU_PERTURBED_AUTHORS = 20  # retain_perturbed: the first 20 authors of full, never forget ones


@dataclass
class Shape:
    """What the estimates need to know about a model."""

    params: float
    hidden: int
    layers: int
    vocab: int
    kv_dim: int  # key/value width per layer (GQA models: fewer heads than queries)
    adapter_params: float  # LoRA parameters at the recipe's rank
    embed_params: float  # kept in 16/32 bit under 4-bit quantisation
    source: str
    guessed: bool = False  # from a size in the model's name, not from its config


def target_shape(cfg: Config) -> Shape:
    """The shape of the model the run unlearns: from the first config.json reachable without the
    network among model.path, model.base_path and model.oracle_path (a finetune keeps its base's
    shape), else a guess from a size in their names; from scratch when none is set."""
    m = cfg.model
    given = [(f"model.{k}", getattr(m, k)) for k in ("path", "base_path", "oracle_path")
             if getattr(m, k)]
    if not given:
        return model_shape(cfg, None)
    for key, path in given:
        try:
            shape = _from_config(cfg, _config_json(path, m.trust_remote_code))
        except Exception:  # noqa: BLE001  (not in the HF cache, unknown architecture)
            continue
        shape.source = f"config.json of {key} {path}"
        return shape
    for _, path in given:
        if _size_in_name(path) is not None:
            return _shape_from_name(cfg, path, [k for k, _ in given])
    keys = " or ".join(k for k, _ in given)
    raise DareUError(f"dareu plan: cannot size the model: no config.json of {keys} is in the HF "
                     "cache and no name gives a size (like 7b). `hf download ID config.json` "
                     "fetches the config alone.")


def model_shape(cfg: Config, path: str | None) -> Shape:
    """From config.json (local folder or HF cache / hub, config only), a from-scratch config, or a
    size in the model's name ("7b") when nothing else is reachable."""
    try:
        if path is None:
            shape = _from_config(cfg, _scratch_config(cfg))
            shape.source = "from scratch"
            return shape
        return _from_config(cfg, _config_json(path, cfg.model.trust_remote_code))
    except Exception:  # noqa: BLE001  (unreachable hub, gated repo, unknown architecture)
        return _shape_from_name(cfg, path or "?", ["the model"])


def _from_config(cfg: Config, conf) -> Shape:
    from transformers import AutoModelForCausalLM

    m = cfg.model
    with torch.device("meta"):
        net = AutoModelForCausalLM.from_config(conf)
    params = sum(p.numel() for p in net.parameters())
    linears = [mod for name, mod in net.named_modules()
               if isinstance(mod, torch.nn.Linear) and not name.endswith(("lm_head", "c_proj_head"))]
    adapters = sum(m.lora_r * (x.in_features + x.out_features) for x in linears)
    embed = sum(e.numel() for e in net.get_input_embeddings().parameters())
    hidden = conf.hidden_size if hasattr(conf, "hidden_size") else conf.n_embd
    heads = getattr(conf, "num_attention_heads", None) or conf.n_head
    kv = getattr(conf, "num_key_value_heads", None) or heads
    layers = getattr(conf, "num_hidden_layers", None) or conf.n_layer
    return Shape(params, hidden, layers, conf.vocab_size, hidden * kv // heads, adapters,
                 embed * (1 if getattr(conf, "tie_word_embeddings", True) else 2), "config.json")


def _scratch_config(cfg: Config):
    from transformers import GPT2Config, LlamaConfig

    m = cfg.model
    if m.arch == "gpt2":
        return GPT2Config(n_layer=m.n_layer, n_embd=m.n_embd, n_head=m.n_head,
                          n_positions=m.max_length, vocab_size=m.vocab_size, bos_token_id=0,
                          eos_token_id=1)
    return LlamaConfig(hidden_size=m.n_embd, intermediate_size=m.n_embd * 4 // 3 * 2,
                       num_hidden_layers=m.n_layer, num_attention_heads=m.n_head,
                       num_key_value_heads=m.n_head, vocab_size=m.vocab_size,
                       tie_word_embeddings=True)


def _config_json(path: str, trust_remote_code: bool):
    """A local folder's or the HF cache's config.json; never the network (a plan is instant)."""
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(path, local_files_only=True, trust_remote_code=trust_remote_code)


def _size_in_name(path: str) -> float | None:
    found = re.search(r"(\d+(?:\.\d+)?)\s*[bB](?![a-zA-Z])", path)
    return float(found.group(1)) * 1e9 if found else None


def _shape_from_name(cfg: Config, path: str, keys: list[str]) -> Shape:
    """A Llama-like shape of the size in the name (N ≈ 12·L·h², L ≈ h/128), said to be a guess."""
    params = _size_in_name(path)
    if params is None:
        raise DareUError(f"dareu plan: cannot size the model {path!r}: its config.json is not "
                         "reachable here and its name gives no size (like 7b).")
    hidden = int(round((128 * params / 12) ** (1 / 3) / 128) * 128)
    layers = max(1, round(params / (12 * hidden**2)))
    vocab = 32000
    adapters = cfg.model.lora_r * layers * (4 * 2 * hidden + 3 * (hidden + 8 * hidden // 3))
    return Shape(params, hidden, layers, vocab, hidden, adapters, 2 * vocab * hidden,
                 f"a guess from the name {path!r}, Llama-shaped: no config.json of "
                 f"{' or '.join(keys)} is in the HF cache; `hf download ID config.json` reads the "
                 "real one", guessed=True)


@dataclass
class DataSize:
    records: int
    forget: int
    retain: int
    test: int
    tokens: float  # mean tokens of prompt + response
    source: str
    pretrain: int = 0  # records of the spare owners the base pretrains on (finetune.pretrain_owners)
    scored: dict[str, int] = field(default_factory=dict)
    """The splits the evaluate stage answers, uncapped (dareu.eval.sets): forget, the retain
    records with perturbed answers (TOFU's retain_perturbed) or else all, each test set."""
    holdout: int = 0  # records of the holdout owners (membership inference, teacher-forced only)


def data_size(cfg: Config) -> DataSize:
    """Counts from the corpus when it is local (read, not written), else TOFU's published sizes."""
    from dareu.hub import is_hub_id

    d = cfg.data
    if d.source == "tofu" and (d.path is None or is_hub_id(d.path)):
        forget = TOFU_FORGET_AUTHORS[d.tofu_split] * TOFU_QA_PER_AUTHOR
        retain_authors = TOFU_AUTHORS - TOFU_FORGET_AUTHORS[d.tofu_split]
        kept = min(retain_authors, d.max_retain_owners or retain_authors)
        retain = kept * TOFU_QA_PER_AUTHOR
        perturbed = min(kept, TOFU_PERTURBED_AUTHORS) * TOFU_QA_PER_AUTHOR
        return DataSize(forget + retain, forget, retain, TOFU_TEST_QA,
                        min(cfg.model.max_length, 70), "TOFU's published sizes (hub data not read)",
                        cfg.finetune.pretrain_owners * TOFU_QA_PER_AUTHOR,
                        {"forget": forget, "retain": perturbed, **TOFU_TEST_SETS}, holdout=forget)
    from dareu.data import build_corpus
    from dareu.eval.sets import eval_sets

    corpus = build_corpus(d, cfg.run.seed)
    chars = [len(r.prompt) + len(r.response) for r in corpus.records] or [0]
    tokens = min(cfg.model.max_length, sum(chars) / len(chars) / 4 + 8)  # ~4 characters a token
    pretrain = len(corpus.pretraining(cfg.finetune.pretrain_owners)) if cfg.finetune.pretrain_owners else 0
    sets = eval_sets(corpus, None)  # what evaluation answers; the plan applies eval.max_items
    return DataSize(len(corpus.records), len(corpus.forget), len(corpus.retain), len(corpus.test),
                    tokens, "the corpus", pretrain,
                    {k: len(v) for k, v in sets.generation_splits().items()}, len(sets.holdout))

