"""Token and cost budgets: per request, per UTC day and per UTC month.

Spend is recorded per step (`records.write_step`). Before a request may call a model it
reserves its worst case (the per-request token cap, and that many tokens at the chain's
highest price) under a transaction-scoped advisory lock, checked against what today and
this month already spent plus every live reservation; so concurrent requests cannot
jointly pass a cap. The reservation is released when the request ends and expires on
its own if the process dies. A request stops calling models once its own tokens reach
the per-request cap; the call that crosses it is the only overshoot.
"""

from __future__ import annotations

from dataclasses import dataclass

from capabilities.engines.runtime.metrics import BUDGET_USED
from tools.postgres import Database

_LOCK_KEY = 0x5EC7A_0010


@dataclass(frozen=True)
class BudgetPolicy:
    request_tokens: int = 20000
    daily_tokens: int | None = None
    monthly_tokens: int | None = None
    daily_cost_usd: float | None = None
    monthly_cost_usd: float | None = None

    @property
    def has_period_caps(self) -> bool:
        return any(
            cap is not None
            for cap in (
                self.daily_tokens,
                self.monthly_tokens,
                self.daily_cost_usd,
                self.monthly_cost_usd,
            )
        )


@dataclass(frozen=True)
class Spend:
    tokens: int
    cost_usd: float


@dataclass(frozen=True)
class BudgetUse:
    today: Spend
    month: Spend
    reserved: Spend
    policy: BudgetPolicy


_SPEND_SQL = (
    "SELECT coalesce(sum(input_tokens + output_tokens)"
    "   FILTER (WHERE day = (now() AT TIME ZONE 'UTC')::date), 0),"
    " coalesce(sum(cost_usd) FILTER (WHERE day = (now() AT TIME ZONE 'UTC')::date), 0),"
    " coalesce(sum(input_tokens + output_tokens), 0), coalesce(sum(cost_usd), 0)"
    " FROM llm_spend WHERE day >= date_trunc('month', now() AT TIME ZONE 'UTC')::date"
)
_RESERVED_SQL = (
    "SELECT coalesce(sum(tokens), 0), coalesce(sum(cost_usd), 0) FROM llm_reservations"
    " WHERE expires_at > now()"
)


class Budget:
    def __init__(self, database: Database, policy: BudgetPolicy) -> None:
        self._db = database
        self.policy = policy

    def reserve(self, run_id: str, *, cost_usd: float, ttl_s: float) -> bool:
        """Reserve one request's worst case; False when it would pass a period cap."""
        p = self.policy
        if not p.has_period_caps:
            return True
        tokens = p.request_tokens
        with self._db.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            day_t, day_c, month_t, month_c = conn.execute(_SPEND_SQL).fetchone()  # type: ignore[misc]
            res_t, res_c = conn.execute(_RESERVED_SQL).fetchone()  # type: ignore[misc]
            checks = (
                (p.daily_tokens, day_t + res_t + tokens),
                (p.monthly_tokens, month_t + res_t + tokens),
                (p.daily_cost_usd, day_c + res_c + cost_usd),
                (p.monthly_cost_usd, month_c + res_c + cost_usd),
            )
            _export(p, day_t + res_t, day_c + res_c, month_t + res_t, month_c + res_c)
            if any(cap is not None and wanted > cap for cap, wanted in checks):
                return False
            conn.execute(
                "INSERT INTO llm_reservations (run_id, tokens, cost_usd, expires_at)"
                " VALUES (%s, %s, %s, now() + make_interval(secs => %s))",
                (run_id, tokens, cost_usd, ttl_s),
            )
            conn.execute("DELETE FROM llm_reservations WHERE expires_at < now()")
        return True

    def release(self, run_id: str) -> None:
        if self.policy.has_period_caps:
            with self._db.connection() as conn:
                conn.execute("DELETE FROM llm_reservations WHERE run_id = %s", (run_id,))

    def use(self) -> BudgetUse:
        with self._db.connection() as conn:
            day_t, day_c, month_t, month_c = conn.execute(_SPEND_SQL).fetchone()  # type: ignore[misc]
            res_t, res_c = conn.execute(_RESERVED_SQL).fetchone()  # type: ignore[misc]
        _export(self.policy, day_t + res_t, day_c + res_c, month_t + res_t, month_c + res_c)
        return BudgetUse(
            today=Spend(int(day_t), float(day_c)),
            month=Spend(int(month_t), float(month_c)),
            reserved=Spend(int(res_t), float(res_c)),
            policy=self.policy,
        )


def _export(p: BudgetPolicy, day_t: float, day_c: float, month_t: float, month_c: float) -> None:
    """Spend over each configured cap, for the "budget near cap" alert."""
    for period, unit, cap, used in (
        ("day", "tokens", p.daily_tokens, day_t),
        ("month", "tokens", p.monthly_tokens, month_t),
        ("day", "usd", p.daily_cost_usd, day_c),
        ("month", "usd", p.monthly_cost_usd, month_c),
    ):
        if cap:
            BUDGET_USED.labels(period=period, unit=unit).set(float(used) / float(cap))
