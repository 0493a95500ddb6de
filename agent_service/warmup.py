"""Start-up warm-up: load what first requests need before `/ready` says 200.

A restarted worker answers `/health` at once, but its first coach request would fit the
mode's models, open the knowledge base and build its index, and its first hybrid
decisions would use the documented rules until a background fit finished. The warm-up
does that work in a background thread as soon as the worker is up, and `/ready` carries
a required `warmup` component that is down ("warming up: ...") until it is done. Every
step is best effort: a backend that is down is reported by its own readiness check, and
the warm-up never holds readiness back for it.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

from agent_service.readiness import Check, Readiness
from agent_service.wiring import Backends
from game.rules import available_modes, declared_modes
from tools.errors import BackendUnavailable

log = logging.getLogger(__name__)


class WarmUp:
    def __init__(
        self, backends: Backends, modes: list[str] | None = None, *, freeze_gc: bool = False
    ) -> None:
        self._backends = backends
        self._modes = modes
        self._freeze_gc = freeze_gc
        self._step = "starting"
        self._took: float | None = None
        self._thread = threading.Thread(target=self._run, name="warm-up", daemon=True)

    def start(self, readiness: Readiness) -> WarmUp:
        readiness.add("warmup", Check("in-process", True, self.probe))
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return self._took is not None

    def probe(self) -> str:
        """The readiness probe: raises while warming up."""
        if self._took is None:
            raise RuntimeError(f"warming up: {self._step}")
        return f"warmed up in {self._took:.2f} s"

    def _run(self) -> None:
        started = time.perf_counter()
        steps = [("embedding model", self._embedder), ("knowledge base", self._knowledge),
                 ("chat intents", lambda: self._backends.chat_router().load()),
                 ("curriculum grid", self._curriculum),
                 ("reward review", self._reward)]  # fmt: skip
        modes = self._modes if self._modes is not None else self._every_mode()
        steps += [(f"models of {mode}", lambda m=mode: self._models(m)) for mode in modes]
        for name, step in steps:
            self._step = name
            try:
                step()
            except Exception as exc:  # reported by the backend's own readiness check
                log.warning("warm-up step failed", extra={"step": name, "error": str(exc)})
        if self._freeze_gc:
            # what start-up loaded (modules, models, indexes: ~265,000 objects) leaves the
            # collector's reach: a full collection over it paused a request ~150 ms about
            # once per 1,000 predict requests. A worker process only (serve): in a
            # process that keeps building apps, frozen cycles would never be freed.
            gc.collect()
            gc.freeze()
        self._took = time.perf_counter() - started
        log.info("warmed up", extra={"seconds": round(self._took, 2)})

    def _every_mode(self) -> list[str]:
        """Packaged, AGENT_MODES_DIR's and the stored modes (those have rounds to fit)."""
        names = [*available_modes(), *(e.name for e in declared_modes())]
        try:
            names += [e.name for e in self._backends.modes.all()]
        except BackendUnavailable as exc:  # its own readiness check reports the outage
            log.warning("warm-up without the stored modes", extra={"error": exc.detail})
        return list(dict.fromkeys(names))

    def _embedder(self) -> None:
        load = getattr(self._backends.embedder(), "load", None)
        if load is not None:  # the local model; a remote endpoint has nothing to load
            load()

    def _curriculum(self) -> None:
        # the default grid's oracle values (seconds, then cached): the chat asks for them
        from capabilities.curriculum.models import CurriculumRequest
        from capabilities.curriculum.service import next_scenarios

        next_scenarios(CurriculumRequest(count=1))

    def _reward(self) -> None:
        # the bot's own reward solved exactly in classic (about 1 s, then cached): the
        # chat's default answer to "is my reward right?"
        from capabilities.rewards.models import ReviewRequest
        from capabilities.rewards.service import review

        review(ReviewRequest())

    def _knowledge(self) -> None:
        # opens the store and, in local mode, builds the in-memory index a search ranks
        self._backends.knowledge().search("warm-up", top_k=1)

    def _models(self, mode: str) -> None:
        models = self._backends.models.get(mode)  # fits from the stored rounds
        _ = models.stopping  # the hybrid's waiting values, computed once per model set
