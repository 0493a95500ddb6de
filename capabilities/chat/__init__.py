"""Natural Language Interface (capability 8): `POST /v1/chat` (docs/chat.md).

Intents routed by the service's own sentence model, slots read by parsers, the
capabilities called for their numbers; with a language model, an agent over every
capability's tools. Conversations live in PostgreSQL (migration 0091)."""
