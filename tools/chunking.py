"""Splitting Markdown and plain text into overlapping chunks that keep their heading path.

A chunk never spans two sections: each heading starts a new one, and the chunk carries
the path of headings above it ("Sidebets > Payout") so a search hit says where it came
from and the embedding sees the topic. A section longer than the chunk size is cut at
paragraph, then sentence, then word boundaries, each piece repeating the last
`overlap` characters of the one before so a fact cut in two is whole in one of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+")


@dataclass(frozen=True)
class ChunkingConfig:
    """Chunk size and overlap in characters (MiniLM reads about 1,000 characters)."""

    size: int = 1000
    overlap: int = 150

    def __post_init__(self) -> None:
        if self.size < 100:
            raise ValueError(f"chunk size must be at least 100 characters, got {self.size}")
        if not 0 <= self.overlap < self.size // 2:
            raise ValueError(
                f"chunk overlap must be between 0 and half the chunk size ({self.size // 2}),"
                f" got {self.overlap}"
            )


@dataclass(frozen=True)
class TextChunk:
    index: int
    heading: str
    text: str

    def embedding_input(self) -> str:
        """What gets embedded: the heading path gives a short chunk its topic."""
        return f"{self.heading}\n{self.text}" if self.heading else self.text


def markdown_sections(text: str) -> list[tuple[str, str]]:
    """(heading path, body) per section, in order; headings inside code fences ignored."""
    sections: list[tuple[str, str]] = []
    stack: list[tuple[int, str]] = []
    body: list[str] = []
    in_fence = False

    def flush() -> None:
        content = "\n".join(body).strip()
        if content:
            sections.append((" > ".join(title for _, title in stack), content))
        body.clear()

    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match is None:
            body.append(line)
            continue
        flush()
        level = len(match.group(1))
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, match.group(2)))
    flush()
    return sections


def chunk_text(text: str, config: ChunkingConfig, *, markdown: bool = True) -> list[TextChunk]:
    """Chunks of `text` (Markdown sections, or plain paragraphs when `markdown` is False)."""
    sections = markdown_sections(text) if markdown else [("", text.strip())]
    chunks: list[TextChunk] = []
    for heading, body in sections:
        for piece in _split(body, config):
            chunks.append(TextChunk(index=len(chunks), heading=heading, text=piece))
    return chunks


def _split(body: str, config: ChunkingConfig) -> list[str]:
    """Pieces of at most `size` characters plus the overlap carried from the previous."""
    if len(body) <= config.size:
        return [body] if body else []
    pieces: list[str] = []
    current = ""
    for separator, unit in _units(body, config.size):
        if current and len(current) + len(separator) + len(unit) > config.size:
            pieces.append(current)
            tail = _tail(current, config.overlap)
            current = f"{tail} {unit}" if tail else unit
        else:
            current = f"{current}{separator}{unit}" if current else unit
    if current:
        pieces.append(current)
    return pieces


def _units(body: str, size: int) -> list[tuple[str, str]]:
    """(separator before, text): paragraphs, those longer than `size` cut into sentences,
    then words."""
    units: list[tuple[str, str]] = []
    for paragraph in re.split(r"\n\s*\n", body):
        paragraph = paragraph.strip()
        separator = "\n\n"
        for sentence in _SENTENCE_END.split(paragraph) if len(paragraph) > size else [paragraph]:
            while len(sentence) > size:
                cut = sentence.rfind(" ", 0, size)
                cut = cut if cut > size // 2 else size
                units.append((separator, sentence[:cut]))
                separator = " "
                sentence = sentence[cut:].lstrip()
            if sentence:
                units.append((separator, sentence))
                separator = " "
    return units


def _tail(text: str, overlap: int) -> str:
    """The last `overlap` characters of `text`, starting at a word boundary."""
    if overlap <= 0:
        return ""
    tail = text.strip()[-overlap:]
    space = tail.find(" ")
    return tail[space + 1 :] if 0 <= space < len(tail) - 1 else tail
