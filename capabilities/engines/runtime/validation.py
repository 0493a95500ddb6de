"""Answer validation: an agent's final answer must parse into the capability's narrative
model, still validate as its response model once merged into the computed answer, and
quote only numbers the evidence holds (see `grounding`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from capabilities.engines.runtime.grounding import Grounding, groundedness
from capabilities.engines.runtime.spec import Answer

DELIVER_AT = 0.8
RETRY_AT = 0.6


@dataclass(frozen=True)
class Verdict:
    """`narrative` is set when the answer may be delivered; else `failure` says why."""

    narrative: dict[str, Any] | None
    grounding: Grounding | None
    failure: str | None

    @property
    def worth_another_model(self) -> bool:
        """Prose grounded below 0.6 ends the chain: the deterministic answer beats
        another guess; schema failures and 0.6-0.8 prose try the next model."""
        return not (
            self.failure == "ungrounded"
            and self.grounding is not None
            and self.grounding.score < RETRY_AT
        )


def computed_numbers(answer: Answer) -> dict[str, Any]:
    """The computed answer without the runtime's own fields."""
    return answer.model_dump(mode="json", exclude=set(Answer.model_fields))


def judge(
    *,
    output: Any,
    narrative_model: type[BaseModel],
    response_model: type[Answer],
    answer: Answer,
    evidence: Mapping[str, Any],
) -> Verdict:
    """Validate one agent answer against the schema, then its numbers against
    `evidence` (the gathered items, the agent's tool outputs) and the computed answer."""
    narrative = parse_narrative(narrative_model, output)
    if narrative is None:
        return Verdict(None, None, "invalid_answer")
    try:
        response_model.model_validate({**answer.model_dump(), **narrative})
    except ValidationError:
        return Verdict(None, None, "invalid_answer")
    corpus = {**evidence, "computed answer": computed_numbers(answer)}
    grounding = groundedness(" ".join(_strings(narrative)), corpus)
    if grounding.score >= DELIVER_AT:
        return Verdict(narrative, grounding, None)
    return Verdict(None, grounding, "ungrounded")


def parse_narrative(schema: type[BaseModel], output: Any) -> dict[str, Any] | None:
    """The final answer as the narrative model: a dict, a JSON object text, or plain text
    when the model has exactly one field. None when it does not fit."""
    value = output
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text) if text.startswith("{") else text
        except ValueError:
            value = text
    if isinstance(value, str):
        fields = list(schema.model_fields)
        if len(fields) != 1:
            return None
        value = {fields[0]: value}
    try:
        return schema.model_validate(value).model_dump(mode="json")
    except ValidationError:
        return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
