"""The rugs.fun game: rules, simulator, personas, bots and the A/B harness.

Depends on nothing else in the project."""
