"""Capabilities: one module per capability, built on tools and game models."""
