"""Owner attributors: how much of a text is attributable to each data owner.

Built-ins register themselves by name; third-party packages add theirs through the
`dareu.attributors` entry-point group (see CONTRIBUTING.md). The interface a new attributor
implements is `Attributor` (`fit(corpus)`, `score(prompts, responses) -> Tensor[N, n_owners]`);
`AttributorContext` carries what a built-in may need from a run (tokenizer, target model, device).
"""

from attributors.base import (Attributor, AttributorContext, AttributorError, TargetSampling,
                              available_attributors, build_attributor, get_attributor_class,
                              load_attributor, register_attributor)
from attributors.masking import AliasMasker, mask_corpus

__all__ = ["Attributor", "AttributorContext", "AttributorError", "AliasMasker",
           "available_attributors", "build_attributor", "get_attributor_class", "load_attributor",
           "mask_corpus", "register_attributor", "TargetSampling"]
