"""Backends (PostgreSQL, Qdrant, RabbitMQ, LLM) and the smolagents tools over them."""
