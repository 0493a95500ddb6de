"""Provably-fair replay of rugs.fun rounds: seedrandom's ARC4 generator, the v1/v2/v3
price engines, and the verdict on a recorded round (docs/fairness.md)."""
