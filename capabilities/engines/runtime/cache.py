"""The answer cache in PostgreSQL, keyed by capability, the canonical hash of the
normalized request, and the capability's data version; entries expire after a TTL."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from psycopg.types.json import Jsonb
from pydantic import BaseModel

from tools.postgres import Database


def input_hash(request: BaseModel) -> str:
    """SHA-256 of the request as canonical JSON (defaults applied, keys sorted, compact),
    so requests differing only in key order, whitespace or omitted defaults share it."""
    canonical = json.dumps(
        request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class AnswerCache:
    def __init__(self, database: Database) -> None:
        self._db = database

    def get(self, capability: str, key: str, data_version: str) -> dict[str, Any] | None:
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT response FROM answer_cache WHERE capability = %s AND input_hash = %s"
                " AND data_version = %s AND expires_at > now()",
                (capability, key, data_version),
            ).fetchone()
        return row[0] if row else None

    def put(
        self, capability: str, key: str, data_version: str, response: dict[str, Any], ttl_s: int
    ) -> None:
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO answer_cache (capability, input_hash, data_version, response,"
                " expires_at) VALUES (%s, %s, %s, %s, now() + make_interval(secs => %s))"
                " ON CONFLICT (capability, input_hash, data_version) DO UPDATE SET"
                " response = EXCLUDED.response, created_at = now(),"
                " expires_at = EXCLUDED.expires_at",
                (capability, key, data_version, Jsonb(response), ttl_s),
            )
            conn.execute(
                "DELETE FROM answer_cache WHERE capability = %s AND expires_at < now()",
                (capability,),
            )
