"""Shared engines the capabilities are built on, not capabilities themselves: the agent
runtime (`runtime`), the job queue and workers (`jobs`), the fitted game models
(`game_models`), and the request pieces and charts several capabilities share."""
