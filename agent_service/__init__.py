"""VECTRA Agent Service: strategic intelligence for the VECTRA-PLAYER bot."""

__version__ = "0.1.0"
