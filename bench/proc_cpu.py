"""CPU seconds of local processes from /proc: the benches' view of PostgreSQL backends and
worker processes, which the benchmark's own process time leaves out."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process on this host; None when not readable (gone,
    or not local)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
