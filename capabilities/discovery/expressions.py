"""A small expression language for candidate features, parsed and evaluated by us.

Candidates (built-in or proposed by a language model) are strings such as
`price / lag(price, 5) - 1` or `std(ret, 10)`. They are tokenized and parsed into a tree
by a recursive-descent parser, checked against allow-lists of names and functions, and
evaluated with numpy over [rounds, ticks] arrays. Nothing is ever executed as Python.

Grammar:  expr := term (('+' | '-') term)* ;  term := unary (('*' | '/') unary)* ;
          unary := '-' unary | atom ;  atom := NUMBER | NAME | NAME '(' args ')' | '(' expr ')'
Window functions work along ticks inside each round; their window is an integer literal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

MAX_LENGTH = 200
MAX_NODES = 40
MAX_WINDOW = 200
_TOKEN = re.compile(r"\s*(?:(\d+\.\d*|\.\d+|\d+)|([A-Za-z_][A-Za-z0-9_]*)|(.))")
ELEMENTWISE = {"log": 1, "abs": 1, "sqrt": 1, "sign": 1, "min": 2, "max": 2}
WINDOWED = {"lag", "diff", "pct", "mean", "std", "sum", "wmax", "wmin"}
CUMULATIVE = {"cummax": 1, "since_max": 1}


class ExpressionError(ValueError):
    """An expression that does not parse or uses what is not allowed; says where."""


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Neg:
    operand: Node


Node = Num | Name | Call | BinOp | Neg


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            break
        number, name, other = match.groups()
        start = match.start(match.lastindex or 0)
        if number is not None:
            out.append(("num", number, start))
        elif name is not None:
            out.append(("name", name, start))
        elif other is not None and other.strip():
            if other not in "+-*/(),":
                raise ExpressionError(f"unexpected character {other!r} at position {start}")
            out.append(("op", other, start))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str, names: frozenset[str]) -> None:
        self.text = text
        self.names = names
        self.tokens = _tokens(text)
        self.i = 0
        self.nodes = 0

    def _peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self, value: str | None = None) -> tuple[str, str, int]:
        token = self._peek()
        if token is None:
            raise ExpressionError(
                f"unexpected end of expression{f', expected {value!r}' if value else ''}"
            )
        if value is not None and token[1] != value:
            raise ExpressionError(f"expected {value!r} at position {token[2]}, found {token[1]!r}")
        self.i += 1
        return token

    def _count(self, node: Node) -> Node:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ExpressionError(f"expression too complex (more than {MAX_NODES} parts)")
        return node

    def parse(self) -> Node:
        node = self.expr()
        if self._peek() is not None:
            token = self._take()
            raise ExpressionError(f"unexpected {token[1]!r} at position {token[2]}")
        return node

    def expr(self) -> Node:
        node = self.term()
        while (t := self._peek()) and t[1] in "+-" and t[0] == "op":
            self._take()
            node = self._count(BinOp(t[1], node, self.term()))
        return node

    def term(self) -> Node:
        node = self.unary()
        while (t := self._peek()) and t[1] in "*/" and t[0] == "op":
            self._take()
            node = self._count(BinOp(t[1], node, self.unary()))
        return node

    def unary(self) -> Node:
        token = self._peek()
        if token and token[1] == "-" and token[0] == "op":
            self._take()
            return self._count(Neg(self.unary()))
        return self.atom()

    def atom(self) -> Node:
        kind, value, pos = self._take()
        if kind == "num":
            return self._count(Num(float(value)))
        if kind == "op":
            if value != "(":
                raise ExpressionError(f"unexpected {value!r} at position {pos}")
            node = self.expr()
            self._take(")")
            return node
        following = self._peek()
        if following and following[1] == "(":
            return self._call(value, pos)
        if value not in self.names:
            raise ExpressionError(
                f"unknown name {value!r} at position {pos}; known: {', '.join(sorted(self.names))}"
            )
        return self._count(Name(value))

    def _call(self, func: str, pos: int) -> Node:
        self._take("(")
        args = [self.expr()]
        while (t := self._peek()) and t[1] == ",":
            self._take()
            args.append(self.expr())
        self._take(")")
        if func in WINDOWED:
            if len(args) != 2 or not isinstance(args[1], Num):
                raise ExpressionError(f"{func}(x, k) at position {pos} needs an integer window k")
            k = args[1].value
            if k != int(k) or not 1 <= k <= MAX_WINDOW:
                raise ExpressionError(f"window of {func} at position {pos} must be 1..{MAX_WINDOW}")
        elif func in ELEMENTWISE or func in CUMULATIVE:
            arity = ELEMENTWISE.get(func) or CUMULATIVE[func]
            if len(args) != arity:
                raise ExpressionError(f"{func} at position {pos} takes {arity} argument(s)")
        else:
            known = sorted(WINDOWED | set(ELEMENTWISE) | set(CUMULATIVE))
            raise ExpressionError(
                f"unknown function {func!r} at position {pos}; known: {', '.join(known)}"
            )
        return self._count(Call(func, tuple(args)))


def parse(text: str, names: frozenset[str] | set[str]) -> Node:
    """The tree of `text`, or ExpressionError saying what and where."""
    if not text or not text.strip():
        raise ExpressionError("empty expression")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    return _Parser(text, frozenset(names)).parse()


def _shift(x: np.ndarray, k: int) -> np.ndarray:
    out = np.full_like(x, np.nan)
    out[:, k:] = x[:, :-k]
    return out


def _window_sum(x: np.ndarray, k: int) -> np.ndarray:
    """Sum over the last k ticks (NaN until k ticks exist or if one is missing)."""
    valid = np.isfinite(x)
    c = np.cumsum(np.where(valid, x, 0.0), axis=1)
    n = np.cumsum(valid, axis=1)
    s, m = c.copy(), n.copy()
    s[:, k:] -= c[:, :-k]
    m[:, k:] -= n[:, :-k]
    return np.where(m == k, s, np.nan)


def _extreme(x: np.ndarray, k: int, biggest: bool) -> np.ndarray:
    from scipy.ndimage import maximum_filter1d, minimum_filter1d  # jobs only: off the web path

    fill = -np.inf if biggest else np.inf
    filt = maximum_filter1d if biggest else minimum_filter1d
    out = filt(
        np.where(np.isfinite(x), x, fill), size=k, axis=1, origin=(k - 1) // 2, mode="nearest"
    )
    out = out.astype(np.float64)
    out[:, : k - 1] = np.nan
    out[~np.isfinite(x)] = np.nan
    return out


def _since_max(x: np.ndarray) -> np.ndarray:
    peak = np.fmax.accumulate(np.where(np.isfinite(x), x, -np.inf), axis=1)
    ticks = np.broadcast_to(np.arange(x.shape[1]), x.shape)
    at_peak = np.where(x >= peak, ticks, -1)
    last = np.maximum.accumulate(at_peak, axis=1)
    return np.where(np.isfinite(x), ticks - last, np.nan).astype(np.float64)


def evaluate(node: Node, series: dict[str, np.ndarray]) -> np.ndarray:
    """Evaluate over [rounds, ticks] arrays; invalid values (log of 0, x/0) become NaN."""
    with np.errstate(all="ignore"):
        return _eval(node, series)


def _eval(node: Node, s: dict[str, np.ndarray]) -> np.ndarray:
    if isinstance(node, Num):
        return np.full(next(iter(s.values())).shape, node.value)
    if isinstance(node, Name):
        return s[node.name].astype(np.float64, copy=False)
    if isinstance(node, Neg):
        return -_eval(node.operand, s)
    if isinstance(node, BinOp):
        a, b = _eval(node.left, s), _eval(node.right, s)
        if node.op == "+":
            return a + b
        if node.op == "-":
            return a - b
        if node.op == "*":
            return a * b
        return np.where(b != 0, a / np.where(b != 0, b, 1.0), np.nan)
    x = _eval(node.args[0], s)
    f = node.func
    if f in WINDOWED:
        k = int(node.args[1].value)  # type: ignore[union-attr]
        if f == "lag":
            return _shift(x, k)
        if f == "diff":
            return x - _shift(x, k)
        if f == "pct":
            prev = _shift(x, k)
            return np.where(prev != 0, x / np.where(prev != 0, prev, 1.0) - 1, np.nan)
        if f == "sum":
            return _window_sum(x, k)
        if f == "mean":
            return _window_sum(x, k) / k
        if f == "std":
            mean = _window_sum(x, k) / k
            return np.sqrt(np.maximum(_window_sum(x * x, k) / k - mean * mean, 0.0))
        return _extreme(x, k, biggest=f == "wmax")
    if f == "log":
        return np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), np.nan)
    if f == "sqrt":
        return np.where(x >= 0, np.sqrt(np.abs(x)), np.nan)
    if f == "abs":
        return np.abs(x)
    if f == "sign":
        return np.sign(x)
    if f in ("min", "max"):
        y = _eval(node.args[1], s)
        return np.minimum(x, y) if f == "min" else np.maximum(x, y)
    if f == "cummax":
        out = np.fmax.accumulate(np.where(np.isfinite(x), x, -np.inf), axis=1)
        return np.where(np.isfinite(x), out, np.nan)
    return _since_max(x)
