"""An uploaded SB3 PPO zip read without torch (and without unpickling anything foreign).

The zip's `policy.pth` is a torch checkpoint: itself a zip holding a pickle of the state
dict (`<archive>/data.pkl`) whose tensors point at raw storages (`<archive>/data/<key>`).
The pickle is read by an unpickler that knows exactly the few globals such a file uses
(an OrderedDict, torch's tensor rebuild function, storage types) and refuses any other,
so a hostile file cannot run code; the storages become numpy arrays. The network is
SB3's `MlpPolicy` (`mlp_extractor.policy_net`/`value_net`, `action_net`, `value_net`);
its activation is read from the pickled class name in `policy_kwargs` (never unpickled),
SB3's default Tanh when the kwargs are empty, or as given.
"""

from __future__ import annotations

import base64
import collections
import io
import json
import pickle
import re
import zipfile
from typing import Any

import numpy as np

from game.policy_net import Layer, PolicyNet

_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "BoolStorage": np.bool_,
}
_MAX_BYTES = 50_000_000


class PolicyFileError(ValueError):
    """The file is not a policy this service can run (the message says why)."""


class _Storage:
    def __init__(self, dtype: type) -> None:
        self.dtype = dtype


def _rebuild_tensor(storage: np.ndarray, offset: int, size: tuple, stride: tuple, *_: Any) -> Any:
    if not size:
        return storage[offset]
    itemsize = storage.dtype.itemsize
    return np.lib.stride_tricks.as_strided(
        storage[offset:], shape=tuple(size), strides=tuple(s * itemsize for s in stride)
    ).copy()


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str) -> None:
        super().__init__(io.BytesIO(data))
        self._archive, self._prefix = archive, prefix

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name in _DTYPES:
            return _Storage(_DTYPES[name])
        raise PolicyFileError(f"policy.pth uses {module}.{name}, which a state dict does not")

    def persistent_load(self, pid: Any) -> np.ndarray:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise PolicyFileError("policy.pth has an unknown storage reference")
        kind, key = pid[1], str(pid[2])
        if not isinstance(kind, _Storage):
            raise PolicyFileError("policy.pth has an unsupported storage type")
        try:
            raw = self._archive.read(f"{self._prefix}data/{key}")
        except KeyError:
            raise PolicyFileError(f"policy.pth lacks storage {key!r}") from None
        return np.frombuffer(raw, dtype=kind.dtype)


def _state_dict(pth: bytes) -> dict[str, np.ndarray]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(pth))
    except zipfile.BadZipFile:
        raise PolicyFileError("policy.pth is not a torch zip checkpoint") from None
    pickles = [n for n in archive.namelist() if n.endswith("data.pkl")]
    if len(pickles) != 1:
        raise PolicyFileError("policy.pth has no data.pkl")
    prefix = pickles[0][: -len("data.pkl")]
    try:
        state = _Unpickler(archive.read(pickles[0]), archive, prefix).load()
    except PolicyFileError:
        raise
    except Exception as exc:
        raise PolicyFileError(f"policy.pth cannot be read: {exc}") from None
    if not isinstance(state, dict):
        raise PolicyFileError("policy.pth is not a state dict")
    return {str(k): np.asarray(v) for k, v in state.items()}


def _activation(data: dict[str, Any], given: str | None) -> str:
    kwargs = data.get("policy_kwargs") or {}
    serialized = kwargs.get(":serialized:") if isinstance(kwargs, dict) else None
    if serialized:
        text = base64.b64decode(serialized)
        found = {a for a in (b"Tanh", b"ReLU") if re.search(rb"\b" + a + rb"\b", text)}
        others = re.findall(rb"torch\.nn\.modules\.activation\x94\x8c.(\w+)", text)
        if others and not found:
            raise PolicyFileError(f"unsupported activation {others[0].decode()}: Tanh or ReLU")
        if len(found) == 1:
            return found.pop().decode().lower()
    return given or "tanh"


def _layers(state: dict[str, np.ndarray], prefix: str) -> tuple[Layer, ...]:
    indices = sorted(
        {int(m.group(1)) for k in state if (m := re.fullmatch(rf"{prefix}\.(\d+)\.weight", k))}
    )
    return tuple(
        (
            state[f"{prefix}.{i}.weight"].astype(np.float32),
            state[f"{prefix}.{i}.bias"].astype(np.float32),
        )
        for i in indices
    )


def read_sb3_zip(data: bytes, *, activation: str | None = None) -> PolicyNet:
    """The `PolicyNet` of an SB3 PPO zip with an `MlpPolicy` and discrete actions."""
    if len(data) > _MAX_BYTES:
        raise PolicyFileError(f"the file is over {_MAX_BYTES // 1_000_000} MB")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        if "policy.pth" not in names:
            raise PolicyFileError("not an SB3 zip: no policy.pth")
        meta = json.loads(archive.read("data")) if "data" in names else {}
        pth = archive.read("policy.pth")
    except zipfile.BadZipFile:
        raise PolicyFileError("not a zip file") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise PolicyFileError("the zip's data file is not JSON") from None
    state = _state_dict(pth)
    if any(k.startswith("mlp_extractor.shared_net.") and k.endswith("weight") for k in state):
        raise PolicyFileError("shared policy/value layers are not supported")
    for key in ("action_net.weight", "action_net.bias", "value_net.weight", "value_net.bias"):
        if key not in state:
            raise PolicyFileError(f"not an actor-critic MlpPolicy: no {key}")
    net = PolicyNet(
        policy_layers=_layers(state, "mlp_extractor.policy_net"),
        action_head=(
            state["action_net.weight"].astype(np.float32),
            state["action_net.bias"].astype(np.float32),
        ),
        value_layers=_layers(state, "mlp_extractor.value_net"),
        value_head=(
            state["value_net.weight"].astype(np.float32),
            state["value_net.bias"].astype(np.float32),
        ),
        activation=_activation(meta, activation),
    )
    _check_shapes(net)
    return net


def _check_shapes(net: PolicyNet) -> None:
    width = net.obs_dim
    for weight, bias in (*net.policy_layers, net.action_head):
        if weight.ndim != 2 or weight.shape[1] != width or bias.shape != (weight.shape[0],):
            raise PolicyFileError("the policy layers do not chain")
        width = weight.shape[0]


def read_policy_file(data: bytes, fmt: str, *, activation: str | None = None) -> PolicyNet:
    """An uploaded policy: an SB3 zip or a `vectra-policy-net/1` npz export."""
    if fmt == "npz":
        try:
            net = PolicyNet.from_bytes(data)
        except Exception as exc:
            raise PolicyFileError(f"not a policy network export: {exc}") from None
        _check_shapes(net)
        return net
    return read_sb3_zip(data, activation=activation)
