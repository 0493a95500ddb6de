"""Packaged game modes: one TOML file per mode, read by `game.rules.load_mode`."""
