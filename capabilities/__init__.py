"""Capabilities: one package per capability, each with its request/answer `models`, its
logic and its job handlers (coach, discovery, analyst, opponents, meta, curriculum,
rewards, chat, tournaments, hybrid), the services beside them (fairness, modes,
training), and the `engines` they share (agent runtime, jobs, game models)."""
