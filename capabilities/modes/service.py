"""Every mode the service serves, with where it was declared."""

from __future__ import annotations

from capabilities.modes.models import ModeInfo, ModeList
from game.rules import ModeEntry, declared_modes, packaged_mode_entries

_ORDER = {"packaged": 0, "dir": 1, "db": 2}


def mode_info(entry: ModeEntry) -> ModeInfo:
    return ModeInfo(
        name=entry.name,
        source=entry.source,
        base=entry.base,
        origin=entry.origin,
        description=entry.rules.description,
        rules=entry.rules.model_dump(mode="json"),
    )


def list_modes(stored: list[ModeEntry]) -> ModeList:
    """Packaged modes, this process's directory modes, then `stored` (the database's),
    each name once, by source then name."""
    seen: dict[str, ModeEntry] = {}
    for entry in (*packaged_mode_entries(), *declared_modes(), *stored):
        seen.setdefault(entry.name, entry)
    entries = sorted(seen.values(), key=lambda e: (_ORDER[e.source], e.name))
    return ModeList(modes=[mode_info(e) for e in entries])
