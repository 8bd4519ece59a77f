"""The build's choices of engine, as enums: no module passes them around as loose strings.

Their values are what users type (``--reasoner owlrl``, ``EMK_REASONER=owlrl``) and, for
:class:`Inference`, what pySHACL's ``inference`` argument takes.
"""

from __future__ import annotations

from enum import StrEnum


class Reasoner(StrEnum):
    """The engine computing the OWL 2 RL closure (``Settings.reasoner``, ``build --reasoner``)."""

    RULES = "rules"  # compiled rules, run semi-naively: the default
    OWLRL = "owlrl"  # the owlrl library: the slow reference the rules engine is tested against


class Inference(StrEnum):
    """What pySHACL infers into the data graph before validating (the build uses ``NONE``)."""

    NONE = "none"
    RDFS = "rdfs"
    OWLRL = "owlrl"
    BOTH = "both"
