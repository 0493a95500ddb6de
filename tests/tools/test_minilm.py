"""The numpy MiniLM against sentence-transformers itself: the vectors the bot's Qdrant
collections hold must not change when the service stops loading torch."""

from __future__ import annotations

import random
import string
from pathlib import Path

import numpy as np
import pytest

from tools.embeddings import LocalMiniLM, bundled_model_path
from tools.minilm import load_safetensors

KNOWLEDGE = Path(__file__).resolve().parents[2] / "tools" / "knowledge_base"


def varied_texts(n_random: int = 220) -> list[str]:
    """Starter-base paragraphs, game-state sentences, numbers, unicode, noise, and texts
    past the 256-token limit."""
    rng = random.Random(7)
    paragraphs = [
        p.strip()
        for f in sorted(KNOWLEDGE.rglob("*.md"))
        for p in f.read_text().split("\n\n")
        if p.strip()
    ]
    words = " ".join(paragraphs).split()
    texts = [
        *paragraphs[:80],
        "",
        " ",
        "a",
        "rug",
        "SIDEBET WINDOW 40 TICKS",
        "tick=230 price=1.9x hazard=0.005 p(win)=0.18",
        "Ünïcödé, ελληνικά, русский, 日本語のテキスト, 中文, emoji 🎲🚀",
        "\t\nleading and trailing whitespace\n\t",
        "word " * 600,  # truncated at 256 tokens
        " ".join(words[:2000]),
    ]
    for _ in range(n_random):
        kind = rng.random()
        if kind < 0.5:
            texts.append(" ".join(rng.choices(words, k=rng.randint(1, 40))))
        elif kind < 0.8:
            texts.append(
                f"tick {rng.randint(0, 5000)} price {rng.uniform(0, 50):.4f} "
                f"{rng.choice(['hold', 'sell', 'buy', 'sidebet'])} {rng.random():.3e}"
            )
        else:
            alphabet = string.printable + "éüß中日ё"
            texts.append("".join(rng.choices(alphabet, k=rng.randint(1, 150))))
    return texts


@pytest.mark.slow
def test_numpy_minilm_matches_sentence_transformers(minilm: LocalMiniLM):
    from sentence_transformers import SentenceTransformer

    texts = varied_texts()
    assert len(texts) >= 300 and max(map(len, texts)) > 5000
    reference = SentenceTransformer(str(bundled_model_path()), device="cpu").encode(
        texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True
    )
    ours = minilm.embed(texts)
    cosine = np.sum(ours * reference, axis=1)
    worst = int(np.argmin(cosine))
    assert cosine.min() >= 0.9999, f"cosine {cosine[worst]:.6f} for {texts[worst][:80]!r}"
    # the batch a text is encoded in (and its padding) does not change its vector
    alone = np.stack([minilm.embed([t])[0] for t in texts[::25]])
    assert np.allclose(alone, ours[::25], atol=2e-5)


def test_weights_are_mapped_from_the_package_not_copied():
    tensors = load_safetensors(bundled_model_path() / "model.safetensors")
    word = tensors["embeddings.word_embeddings.weight"]
    assert word.shape == (30522, 384) and word.dtype == np.float32
    assert not word.flags.writeable and not word.flags.owndata
