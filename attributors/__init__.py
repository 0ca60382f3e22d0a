"""Owner attributors: how much of a text is attributable to each data owner.

Built-ins register themselves by name; third-party packages add theirs through the
`dareu.attributors` entry-point group (see CONTRIBUTING.md).
"""

from attributors.base import (Attributor, AttributorError, available_attributors, build_attributor,
                              get_attributor_class, load_attributor, register_attributor)
from attributors.masking import AliasMasker

__all__ = ["Attributor", "AttributorError", "AliasMasker", "available_attributors",
           "build_attributor", "get_attributor_class", "load_attributor", "register_attributor"]
