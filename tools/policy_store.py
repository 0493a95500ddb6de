"""Trained policies in PostgreSQL, and the shipped baselines, loaded without torch.

A stored policy keeps the SB3 zip (to resume training: warm starts, meta-learning) and
the numpy export of its network (`game.policy_net`), which is all the analyst, the
hybrid and tournaments need to act: `load_policy(policy_id)` returns a `NetPolicy`
(`act(observations)` batched, `probabilities(observations)`). Ids are UUIDs, or
`baseline:<mode>` for the PPO baselines shipped in `game/baselines/` (no database
needed). Policies never change once stored, so loaded networks are cached per process.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

from psycopg.types.json import Jsonb

from game.policy_net import NetPolicy, PolicyNet
from game.rules import available_modes
from tools.errors import FieldError, InvalidInput, NotFound
from tools.postgres import Database

BUILTIN_PREFIX = "baseline:"
_CACHE_SIZE = 32
_GET_SQL = """
SELECT id, name, env, mode, algorithm, created_at, run_id, facts, scores
FROM policies WHERE id = %s
"""
_LIST_SQL = """
SELECT id, name, env, mode, algorithm, created_at, run_id, facts, scores
FROM policies
WHERE (%(env)s::text IS NULL OR env = %(env)s) AND (%(mode)s::text IS NULL OR mode = %(mode)s)
ORDER BY created_at DESC LIMIT %(limit)s
"""
_BLOB_SQL = {  # the columns a caller may fetch, each with its own literal query
    "network": "SELECT network FROM policies WHERE id = %s",
    "model_zip": "SELECT model_zip FROM policies WHERE id = %s",
}


@dataclass(frozen=True)
class PolicyRecord:
    """What is known of a policy, without its weights."""

    id: str
    name: str
    env: str
    mode: str
    algorithm: str
    created_at: datetime | None = None
    run_id: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, Any] = field(default_factory=dict)
    builtin: bool = False


def parse_policy_id(policy_id: str, field_name: str = "policy_id") -> str:
    """A canonical policy id (a UUID or `baseline:<mode>`); 422 naming the field."""
    text = str(policy_id).strip()
    if text.startswith(BUILTIN_PREFIX):
        if text[len(BUILTIN_PREFIX) :] in available_modes():
            return text
        raise NotFound(f"no built-in policy {text[:60]!r}")
    else:
        try:
            return str(uuid.UUID(text))
        except ValueError:
            pass
    raise InvalidInput(
        "invalid policy id",
        [FieldError(field_name, f"a UUID or {BUILTIN_PREFIX}<mode>, got {text[:60]!r}")],
    )


def _builtin_file(mode: str, suffix: str) -> Any:
    return resources.files("game") / "baselines" / f"{mode}{suffix}"


def builtin_policies() -> list[PolicyRecord]:
    """The shipped PPO baselines that have a network export."""
    import json

    out = []
    for mode in available_modes():
        if not _builtin_file(mode, ".npz").is_file():
            continue
        facts_file = _builtin_file(mode, ".json")
        facts = json.loads(facts_file.read_text()) if facts_file.is_file() else {}
        scores = facts.pop("score", {}) if isinstance(facts.get("score"), dict) else {}
        out.append(
            PolicyRecord(
                id=f"{BUILTIN_PREFIX}{mode}",
                name=f"PPO baseline ({mode})",
                env="sidebet_v1",
                mode=mode,
                algorithm="ppo",
                facts=facts,
                scores=scores,
                builtin=True,
            )
        )
    return out


class PolicyStore:
    """Policies in the `policies` table (migration 0070) plus the built-in baselines."""

    def __init__(self, database: Database | None) -> None:
        self.database = database
        self._nets: OrderedDict[str, PolicyNet] = OrderedDict()
        self._lock = threading.Lock()

    def _db(self) -> Database:
        if self.database is None:
            raise NotFound("no database: only the built-in baselines (baseline:<mode>) exist")
        return self.database

    def save(
        self,
        *,
        name: str,
        env: str,
        mode: str,
        algorithm: str,
        model_zip: bytes,
        network: bytes,
        facts: dict[str, Any] | None = None,
        scores: dict[str, Any] | None = None,
        run_id: uuid.UUID | None = None,
        policy_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """Store a policy (a given id is replaced: a retried job stores its policy once)."""
        PolicyNet.from_bytes(network)  # refuse what could not be loaded back
        policy_id = policy_id or uuid.uuid4()
        with self._db().connection() as conn:
            conn.execute(
                """
                INSERT INTO policies (id, name, env, mode, algorithm, run_id, facts, scores,
                                      model_zip, network)
                VALUES (%(id)s, %(name)s, %(env)s, %(mode)s, %(algorithm)s, %(run)s,
                        %(facts)s, %(scores)s, %(zip)s, %(net)s)
                ON CONFLICT (id) DO UPDATE SET
                    name = EXCLUDED.name, env = EXCLUDED.env, mode = EXCLUDED.mode,
                    algorithm = EXCLUDED.algorithm, run_id = EXCLUDED.run_id,
                    facts = EXCLUDED.facts, scores = EXCLUDED.scores,
                    model_zip = EXCLUDED.model_zip, network = EXCLUDED.network,
                    created_at = now()
                """,
                {
                    "id": policy_id,
                    "name": name,
                    "env": env,
                    "mode": mode,
                    "algorithm": algorithm,
                    "run": run_id,
                    "facts": Jsonb(facts or {}),
                    "scores": Jsonb(scores or {}),
                    "zip": model_zip,
                    "net": network,
                },
            )
        with self._lock:
            self._nets.pop(str(policy_id), None)
        return policy_id

    def get(self, policy_id: str) -> PolicyRecord:
        """The policy's record; NotFound when there is none."""
        pid = parse_policy_id(policy_id)
        if pid.startswith(BUILTIN_PREFIX):
            for record in builtin_policies():
                if record.id == pid:
                    return record
            raise NotFound(f"no built-in policy {pid!r}")
        with self._db().connection() as conn:
            row = conn.execute(_GET_SQL, (pid,)).fetchone()
        if row is None:
            raise NotFound(f"no policy {pid}")
        return _record(row)

    def list(
        self, *, env: str | None = None, mode: str | None = None, limit: int = 100
    ) -> list[PolicyRecord]:
        """Built-in baselines first, then stored policies, newest first."""
        records = [
            r
            for r in builtin_policies()
            if (env is None or r.env == env) and (mode is None or r.mode == mode)
        ]
        if self.database is None:
            return records[:limit]
        with self.database.connection() as conn:
            rows = conn.execute(_LIST_SQL, {"env": env, "mode": mode, "limit": limit}).fetchall()
        return (records + [_record(r) for r in rows])[:limit]

    def network(self, policy_id: str) -> PolicyNet:
        pid = parse_policy_id(policy_id)
        with self._lock:
            if pid in self._nets:
                self._nets.move_to_end(pid)
                return self._nets[pid]
        net = PolicyNet.from_bytes(self._blob(pid, "network"))
        with self._lock:
            self._nets[pid] = net
            while len(self._nets) > _CACHE_SIZE:
                self._nets.popitem(last=False)
        return net

    def model_zip(self, policy_id: str) -> bytes:
        """The SB3 zip (to resume training from the policy)."""
        return self._blob(parse_policy_id(policy_id), "model_zip")

    def load(self, policy_id: str) -> NetPolicy:
        pid = parse_policy_id(policy_id)
        return NetPolicy(self.network(pid), pid)

    def _blob(self, pid: str, column: str) -> bytes:
        if pid.startswith(BUILTIN_PREFIX):
            suffix = ".npz" if column == "network" else ".zip"
            resource = _builtin_file(pid[len(BUILTIN_PREFIX) :], suffix)
            if not resource.is_file():
                raise NotFound(f"no built-in policy {pid!r}")
            return resource.read_bytes()
        with self._db().connection() as conn:
            row = conn.execute(_BLOB_SQL[column], (pid,)).fetchone()
        if row is None:
            raise NotFound(f"no policy {pid}")
        return bytes(row[0])


def _record(row: tuple[Any, ...]) -> PolicyRecord:
    pid, name, env, mode, algorithm, created, run_id, facts, scores = row
    return PolicyRecord(
        id=str(pid),
        name=name,
        env=env,
        mode=mode,
        algorithm=algorithm,
        created_at=created,
        run_id=str(run_id) if run_id else None,
        facts=facts or {},
        scores=scores or {},
    )


_stores: dict[int, PolicyStore] = {}
_stores_lock = threading.Lock()


def policy_store(database: Database | None) -> PolicyStore:
    """The process's store over `database` (one per database: its cache is shared)."""
    with _stores_lock:
        store = _stores.get(id(database))
        if store is None or store.database is not database:
            store = _stores[id(database)] = PolicyStore(database)
        return store


def load_policy(policy_id: str, *, database: Database | None = None) -> NetPolicy:
    """The policy `policy_id` ready to act (numpy only): `act(observations)` batched,
    `probabilities(observations)`; built-in baselines need no database."""
    return policy_store(database).load(policy_id)
