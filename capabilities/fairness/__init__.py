"""Provably-fair verification of one round over HTTP (`POST /v1/games/verify`)."""
