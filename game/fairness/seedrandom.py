"""seedrandom's default generator (`Math.seedrandom(text)`, the ARC4 one), in pure Python.

This is the reference implementation: the fast bulk path (`game.fairness.fast`) is
tested against it. Written from the algorithm's public description:
- the key: the seed text's UTF-16 code units folded into at most 256 bytes, each byte
  `(smear ^= key[j] * 19) + unit` (mod 256), `smear` carrying over between units;
- RC4 key scheduling over that key, then the first 256 output bytes dropped;
- a double: six bytes as a 48-bit numerator over 2^48, extended one byte at a time while
  it has fewer than 52 significant bits, then cut to 53 significant bits (no rounding up).
Every step is exact integer arithmetic, so the doubles are bit-identical to JavaScript's.
"""

from __future__ import annotations

_SIGNIFICANCE = 1 << 52  # the numerator needs at least this many significant bits
_OVERFLOW = 1 << 53  # ... and fewer than this


def mix_key(text: str) -> list[int]:
    """The ARC4 key seedrandom derives from `text` (at most 256 bytes; empty text: [0])."""
    units = text.encode("utf-16-le")
    key: list[int] = []
    smear = 0
    for j in range(len(units) // 2):
        unit = units[2 * j] | units[2 * j + 1] << 8
        slot = j & 255
        smear ^= (key[slot] if slot < len(key) else 0) * 19
        byte = (smear + unit) & 255
        if slot < len(key):
            key[slot] = byte
        else:
            key.append(byte)
    return key or [0]


class SeedRandom:
    """`Math.seedrandom(text)`: call it for the next double in [0, 1)."""

    __slots__ = ("_i", "_j", "_s")

    def __init__(self, text: str) -> None:
        key = mix_key(text)
        s = list(range(256))
        j = 0
        for i in range(256):
            t = s[i]
            j = (j + key[i % len(key)] + t) & 255
            s[i] = s[j]
            s[j] = t
        self._s, self._i, self._j = s, 0, 0
        self.bytes(256)  # RC4-drop[256]

    def bytes(self, count: int) -> int:
        """The next `count` output bytes as one big-endian integer."""
        s, i, j = self._s, self._i, self._j
        r = 0
        for _ in range(count):
            i = (i + 1) & 255
            t = s[i]
            j = (j + t) & 255
            s[i] = s[j]
            s[j] = t
            r = (r << 8) | s[(s[i] + t) & 255]
        self._i, self._j = i, j
        return r

    def __call__(self) -> float:
        n = self.bytes(6)
        exponent = 48  # the value is n / 2**exponent (+ x / 2**exponent, see below)
        x = 0
        while n < _SIGNIFICANCE:
            n = (n + x) << 8
            exponent += 8
            x = self.bytes(1)
        while n >= _OVERFLOW:
            n >>= 1
            exponent -= 1
            x >>= 1
        return (n + x) / (1 << exponent)  # n + x < 2**53 and a power-of-two divisor: exact
