"""How numbers are written in chat answers (the same figures the evidence holds)."""

from __future__ import annotations

from typing import Any


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def sol(x: float | None) -> str:
    return "n/a" if x is None else f"{x + 0.0:.4g} SOL"


def num(x: Any) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def compact(value: Any, max_items: int = 12, max_text: int = 400) -> Any:
    """An evidence value small enough to return and store: long lists and texts cut."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): compact(v, max_items, max_text) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [compact(v, max_items, max_text) for v in list(value)[:max_items]]
    if isinstance(value, str) and len(value) > max_text:
        return value[:max_text] + "..."
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)
