"""all-MiniLM-L6-v2 as a numpy forward pass: the same 384-d sentence vectors as
sentence-transformers (cosine >= 0.9999, tests/tools/test_minilm.py), without torch.

sentence-transformers costs ~425 MB per process (torch); this costs the `tokenizers`
package and the weights. The weights are memory-mapped from the package's
`model.safetensors` (read-only views, no copy): the pages are file-backed, shared by every
process of the host through the page cache, and of the 47 MB word-embedding table only
the rows of tokens actually seen are ever read.

The model: BERT (6 layers, hidden 384, 12 heads, GELU, post-LayerNorm), then the mean of
the token vectors under the attention mask, then unit length (modules.json of the
package: Transformer, Pooling(mean), Normalize). Inputs are truncated to 256 tokens
(sentence_bert_config.json's max_seq_length).
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MAX_TOKENS = 256
_LN_EPS = 1e-12
# One forward pass holds a (batch, heads, length, length) float32 attention tensor: keep
# batch * length^2 under this, so ingesting long chunks does not spike memory.
_CELLS = 1 << 19
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def load_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a .safetensors file as a read-only view into a memory map of it."""
    with path.open("rb") as handle:
        (header_len,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(header_len))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + header_len)
    tensors = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        tensors[name] = data[start:end].view(_DTYPES[meta["dtype"]]).reshape(meta["shape"])
    return tensors


# Abramowitz & Stegun 7.1.26: erfc(z) ~ poly(t) exp(-z^2), t = 1 / (1 + p z), z >= 0,
# absolute error <= 1.5e-7 (float32 resolution); GELU's error stays under 1e-6.
_P = np.float32(0.3275911)
_A = tuple(np.float32(a) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736))
_A1 = np.float32(0.254829592)


def _gelu(x: np.ndarray) -> np.ndarray:
    """x * Phi(x) (BERT's exact GELU), in float32 and mostly in place: it is a fifth of
    the encoder's time."""
    z = np.abs(x) * np.float32(1.0 / math.sqrt(2.0))
    t = z * _P
    t += 1.0
    np.reciprocal(t, out=t)
    y = t * _A[0]
    for a in (*_A[1:], _A1):
        y += a
        y *= t
    z *= z
    np.negative(z, out=z)
    np.exp(z, out=z)
    y *= z  # erfc(|x| / sqrt 2); 1 + erf(x / sqrt 2) is 2 - that for x >= 0
    np.subtract(2.0, y, out=y, where=x >= 0)
    y *= x
    y *= np.float32(0.5)
    return y


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centered = x - mean
    var = np.mean(centered * centered, axis=-1, keepdims=True)
    return centered / np.sqrt(var + _LN_EPS) * weight + bias


class _Layer:
    def __init__(self, w: dict[str, np.ndarray], prefix: str) -> None:
        def get(name: str) -> np.ndarray:
            return w[f"{prefix}.{name}"]

        # transposed views of the mapped weights (BLAS reads them as they are: no copy)
        self.qkv = [
            (get(f"attention.self.{n}.weight").T, get(f"attention.self.{n}.bias"))
            for n in ("query", "key", "value")
        ]
        self.out_w = get("attention.output.dense.weight").T
        self.out_b = get("attention.output.dense.bias")
        self.ln1 = get("attention.output.LayerNorm.weight"), get("attention.output.LayerNorm.bias")
        self.up_w, self.up_b = get("intermediate.dense.weight").T, get("intermediate.dense.bias")
        self.down_w, self.down_b = get("output.dense.weight").T, get("output.dense.bias")
        self.ln2 = get("output.LayerNorm.weight"), get("output.LayerNorm.bias")

    def __call__(self, x: np.ndarray, mask_bias: np.ndarray, heads: int) -> np.ndarray:
        batch, length, hidden = x.shape
        size = hidden // heads
        q, k, v = (
            (x @ w + b).reshape(batch, length, heads, size).transpose(0, 2, 1, 3)
            for w, b in self.qkv
        )
        scores = q @ k.transpose(0, 1, 3, 2) * np.float32(1.0 / math.sqrt(size)) + mask_bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
        x = _layer_norm(x + context @ self.out_w + self.out_b, *self.ln1)
        up = _gelu(x @ self.up_w + self.up_b)
        return _layer_norm(x + up @ self.down_w + self.down_b, *self.ln2)


class MiniLMEncoder:
    """Tokenizer and weights of a sentence-transformers BERT folder, encoded with numpy.

    Thread-safe: the weights are read-only and the tokenizer is used under no lock (the
    `tokenizers` Tokenizer's encode_batch may be called from several threads).
    """

    def __init__(self, model_dir: Path, *, max_tokens: int = MAX_TOKENS) -> None:
        from tokenizers import Tokenizer

        config = json.loads((model_dir / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.dim = int(config["hidden_size"])
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.enable_truncation(max_tokens)
        tokenizer.no_padding()  # batches are padded here, to their longest member
        self._tokenizer = tokenizer
        w = load_safetensors(model_dir / "model.safetensors")
        self._word = w["embeddings.word_embeddings.weight"]  # rows read on demand
        self._position = w["embeddings.position_embeddings.weight"]
        self._type0 = np.array(w["embeddings.token_type_embeddings.weight"][0])
        self._ln = w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"]
        layers = int(config["num_hidden_layers"])
        self._layers = [_Layer(w, f"encoder.layer.{i}") for i in range(layers)]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 sentence vectors, one row per text, in the given order."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = [np.asarray(e.ids, dtype=np.int64) for e in encodings]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # little padding
        start = 0
        while start < len(order):
            end = start + 1  # grow the batch while its attention tensor stays small
            while end < len(order) and (end + 1 - start) * len(ids[order[end]]) ** 2 <= _CELLS:
                end += 1
            chosen = order[start:end]
            out[chosen] = self._forward([ids[i] for i in chosen], len(ids[order[end - 1]]))
            start = end
        return out

    def _forward(self, ids: list[np.ndarray], length: int) -> np.ndarray:
        batch = len(ids)
        tokens = np.zeros((batch, length), dtype=np.int64)
        mask = np.zeros((batch, length), dtype=np.float32)
        for row, seq in enumerate(ids):
            tokens[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        x = self._word[tokens] + self._position[:length] + self._type0
        x = _layer_norm(x.astype(np.float32), *self._ln)
        mask_bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        for layer in self._layers:
            x = layer(x, mask_bias, self.heads)
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)[:, None]
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
