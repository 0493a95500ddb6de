"""A request's token and cost meter, apart from the agent code: the runtime meters every
request, but loads smolagents (`capabilities.engines.runtime.agent`) only to call a model."""

from __future__ import annotations

import threading


class RequestMeter:
    """Tokens and cost one request has spent across its attempts, against its cap."""

    def __init__(self, token_cap: int) -> None:
        self.token_cap = token_cap
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost_usd = 0.0
        self._lock = threading.Lock()

    def add(self, input_tokens: int, output_tokens: int, cost_usd: float) -> bool:
        """Count a call; True once the request has reached its cap."""
        with self._lock:
            self.input_tokens += input_tokens
            self.output_tokens += output_tokens
            self.cost_usd += cost_usd
            return self.spent >= self.token_cap

    @property
    def spent(self) -> int:
        return self.input_tokens + self.output_tokens
