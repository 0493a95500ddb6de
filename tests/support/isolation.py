"""Run a snippet in a fresh interpreter where some top-level packages cannot be imported:
how the client kit shows that it needs only requests and gymnasium."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SERVER_SIDE = ("flask", "pydantic", "torch", "stable_baselines3", "smolagents", "psycopg",
               "scipy", "sklearn", "game", "capabilities", "tools")  # fmt: skip
"""What the bot's process must not need: the service's own packages and heavy libraries."""

_BLOCK = """
import sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError(f"blocked: {{name}}")
        return None

sys.meta_path.insert(0, Block())
"""


def run_without(
    snippet: str, blocked: tuple[str, ...] = SERVER_SIDE
) -> subprocess.CompletedProcess[str]:
    """Run `snippet` with `blocked` packages unimportable; its stdout and stderr as text."""
    script = _BLOCK.format(blocked=set(blocked)) + textwrap.dedent(snippet)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
