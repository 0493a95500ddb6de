"""The router's examples' sentence vectors, stored beside the phrasings.

Embedding the ~1,250 examples with the numpy MiniLM costs about 20 s of CPU, on every
start of the service and of every test process. The vectors are stored here, keyed by
the masked text, for the bundled model: a text not stored (an example added since) is
embedded on start as before, so a stale file is slower, never wrong. Stored as float16
(under 1 MB; cosines move by about 1e-3). After changing examples:

    python -m capabilities.chat.vectors
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from capabilities.chat.slots import mask
from tools.embeddings import MINILM_NAME, Embedder, LocalMiniLM

STORE = Path(__file__).resolve().parent / "intents" / "phrasings" / "vectors.npz"


@functools.cache
def stored() -> dict[str, np.ndarray]:
    """The stored vectors by masked text (empty when the file is missing)."""
    if not STORE.is_file():
        return {}
    with np.load(STORE) as data:
        if str(data["model"]) != MINILM_NAME:
            return {}
        return dict(zip(data["texts"].tolist(), data["vectors"].astype(np.float32), strict=True))


def embed_examples(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Unit-length float32 rows for the masked examples: the stored ones when the
    embedder is the bundled model, the rest embedded now."""
    known = stored() if getattr(embedder, "name", None) == MINILM_NAME else {}
    missing = [t for t in dict.fromkeys(texts) if t not in known]
    found = dict(known)
    if missing:
        found.update(zip(missing, np.asarray(embedder.embed(missing), np.float32), strict=True))
    return np.stack([found[t] for t in texts]).astype(np.float32)


def main() -> None:
    from capabilities.chat.intents import OUTSIDE, REGISTRY  # the handlers': only here

    texts = sorted({mask(e) for e in (*OUTSIDE, *(e for i in REGISTRY for e in i.examples))})
    vectors = LocalMiniLM().embed(texts).astype(np.float16)
    np.savez_compressed(STORE, model=np.array(MINILM_NAME), texts=np.array(texts),
                        vectors=vectors)  # fmt: skip
    print(f"{len(texts)} vectors -> {STORE}")


if __name__ == "__main__":
    main()
