"""The agent runtime: every capability request runs through `Runtime.run`.

    capability = Capability(name=..., response_model=..., gather=..., compute=..., ...)
    response = runtime.run(capability, request)

See docs/runtime.md for the flow, the validation rule, budgets, cache and router.
"""

from __future__ import annotations

from capabilities.engines.runtime.budget import BudgetPolicy, BudgetUse
from capabilities.engines.runtime.engine import Runtime, RuntimePolicy
from capabilities.engines.runtime.evidence import Evidence, ToolCallRecord
from capabilities.engines.runtime.grounding import Grounding, groundedness
from capabilities.engines.runtime.router import Profile
from capabilities.engines.runtime.spec import (
    Answer,
    Capability,
    FallbackReason,
    Narrative,
    NumberSource,
)

__all__ = [
    "Answer",
    "BudgetPolicy",
    "BudgetUse",
    "Capability",
    "Evidence",
    "FallbackReason",
    "Grounding",
    "Narrative",
    "NumberSource",
    "Profile",
    "Runtime",
    "RuntimePolicy",
    "ToolCallRecord",
    "groundedness",
]
