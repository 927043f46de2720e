"""Plain ``pickle`` of tensors made by real PyTorch, read under ``import deltagrad as torch``.

``pickle.dumps(tensor)`` (not torch.save: datasets, caches, multiprocessing results hold these)
names ``torch._utils._rebuild_tensor_v2`` / ``_v3`` / ``_rebuild_parameter``,
``torch._tensor._rebuild_from_type_v2`` and ``torch.storage._load_from_bytes``. The bytes are
made here by real PyTorch; they are read by an unpickler that maps every ``torch.<path>`` module
to ``deltagrad.<path>`` as the alias's finder does (this process has the real torch imported, so
the alias itself cannot be installed here), and once in a subprocess under the real alias.
"""

from __future__ import annotations

import collections
import importlib
import io
import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

import deltagrad
import deltagrad.nn

torch = pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class _AliasUnpickler(pickle.Unpickler):
    """Resolves ``torch.<path>`` globals in ``deltagrad.<path>``, as torch_alias's finder."""

    def find_class(self, module, name):
        if module == "torch" or module.startswith("torch."):
            target = importlib.import_module("deltagrad" + module[len("torch"):])
            return getattr(target, name)
        return super().find_class(module, name)


def _alias_loads(data: bytes):
    return _AliasUnpickler(io.BytesIO(data)).load()


def _objects() -> dict:
    g = torch.Generator().manual_seed(25)
    x = torch.randn(3, 4, generator=g)
    with_attr = torch.ones(2)
    with_attr.note = "kept"
    param_attr = torch.nn.Parameter(torch.ones(1))
    param_attr.tag = 7
    return {
        "f32": x, "view": x.t()[1:, ::2], "zero_d": torch.tensor(3.5),
        "empty": torch.empty(0, 3), "empty_view": x[:, 2:2],
        "bool": torch.tensor([True, False, True]), "bf16": x.to(torch.bfloat16),
        "c64": torch.complex(x, -x), "c128": torch.complex(x.double(), x.double()),
        "f16": x.half(), "f64": x.double()[1], "i8": torch.arange(-3, 3, dtype=torch.int8),
        "u8": torch.arange(5, dtype=torch.uint8), "i16": torch.arange(4, dtype=torch.int16),
        "i32": torch.arange(4, dtype=torch.int32), "i64": torch.arange(5)[::2],
        "u16": torch.arange(5).to(torch.uint16), "u32": torch.arange(5).to(torch.uint32),
        "u64": torch.arange(5).to(torch.uint64),
        "requires_grad": torch.ones(2, requires_grad=True),
        "param": torch.nn.Parameter(torch.ones(2, 2)),
        "param_frozen": torch.nn.Parameter(torch.zeros(2), requires_grad=False),
        "with_attr": with_attr, "param_attr": param_attr,
        "state_dict": torch.nn.Linear(2, 3).state_dict(),
        "nested": [x[0], {"a": (x[1], torch.Size([2, 3]))}],
        "plain": [torch.float64, torch.bfloat16, torch.bool, torch.device("cpu"),
                  torch.Size([]), torch.Size([4, 1])],
    }


def _name(dtype) -> str:
    return str(dtype).rpartition(".")[2]


def _check_tensor(real, ours, key):
    assert isinstance(ours, deltagrad.Tensor), key
    assert _name(ours.dtype) == _name(real.dtype), key
    assert tuple(ours.shape) == tuple(real.shape), key
    assert ours.stride() == real.stride(), key
    assert ours.storage_offset() == real.storage_offset(), key
    assert ours.untyped_storage().nbytes() == real.untyped_storage().nbytes(), key
    assert ours.requires_grad == real.requires_grad, key
    assert isinstance(ours, deltagrad.nn.Parameter) == isinstance(real, torch.nn.Parameter), key
    assert ours.__dict__.get("note") == real.__dict__.get("note"), key
    assert ours.__dict__.get("tag") == real.__dict__.get("tag"), key
    if real.dtype == torch.bfloat16:  # (NumPy has no bfloat16: compare the exact float32s)
        real_values, ours_values = real.float().numpy(), ours.float().numpy()
    else:
        real_values, ours_values = real.detach().numpy(), ours.detach().numpy()
    assert ours_values.dtype == real_values.dtype, key
    np.testing.assert_array_equal(ours_values, real_values, err_msg=key)


def _check(real, ours, key="root"):
    if isinstance(real, torch.Tensor):
        _check_tensor(real, ours, key)
    elif isinstance(real, dict):
        assert type(ours) is type(real) and list(ours) == list(real), key
        for name in real:
            _check(real[name], ours[name], f"{key}.{name}")
    elif isinstance(real, (list, tuple)) and not isinstance(real, torch.Size):
        assert type(ours) is type(real) and len(ours) == len(real), key
        for i, (a, b) in enumerate(zip(real, ours)):
            _check(a, b, f"{key}[{i}]")
    elif isinstance(real, torch.Size):
        assert type(ours) is deltagrad.Size and tuple(ours) == tuple(real), key
    elif isinstance(real, torch.dtype):
        assert ours is getattr(deltagrad, _name(real)), key
    elif isinstance(real, torch.device):
        assert ours == deltagrad.device(str(real)), key
    else:
        raise AssertionError(f"{key}: unexpected {type(real)}")


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_pytorch_pickles_load_as_deltagrad(protocol):
    real = _objects()
    ours = _alias_loads(pickle.dumps(real, protocol=protocol))
    _check(real, ours)
    assert type(ours["state_dict"]) is collections.OrderedDict


def test_loaded_tensors_are_usable_and_writable():
    real = torch.arange(6.0).reshape(2, 3).t()
    ours = _alias_loads(pickle.dumps([real, torch.nn.Parameter(torch.ones(3))]))
    view, param = ours
    view[0, 1] = 10.0  # (writable memory, as PyTorch's)
    assert view.tolist() == [[0.0, 10.0], [1.0, 4.0], [2.0, 5.0]]
    (param * 2).sum().backward()
    assert param.grad.tolist() == [2.0, 2.0, 2.0]


def test_load_from_bytes_gives_storages():
    with warnings.catch_warnings():  # (PyTorch's TypedStorage deprecation warning)
        warnings.simplefilter("ignore", UserWarning)
        typed = _alias_loads(pickle.dumps(torch.arange(3.0).storage()))
    assert isinstance(typed, deltagrad.TypedStorage) and typed.tolist() == [0.0, 1.0, 2.0]
    assert typed.dtype is deltagrad.float32
    untyped = _alias_loads(pickle.dumps(torch.arange(2, dtype=torch.int16).untyped_storage()))
    assert isinstance(untyped, deltagrad.UntypedStorage) and untyped.tolist() == [0, 0, 1, 0]


def test_conjugate_and_negative_views():
    z = torch.complex(torch.tensor([1.0, -2.0]), torch.tensor([3.0, 0.5]))
    real = {"conj": z.conj(), "neg": z.conj().imag, "conj_grad": z.conj().requires_grad_()}
    data = pickle.dumps(real)
    assert b"conj" in data and b"neg" in data  # (PyTorch pickles the bits, not the values)
    ours = _alias_loads(data)
    for key, value in real.items():
        _check_tensor(value.resolve_conj().resolve_neg(), ours[key], key)


def test_bad_input_raises_clear_errors():
    with pytest.raises(TypeError, match="expected a storage"):
        deltagrad._utils._rebuild_tensor_v2([1.0], 0, (1,), (1,), False, None)
    buffer = io.BytesIO()  # (what PyTorch's pickle holds: a legacy torch.save of the storage)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        torch.save(torch.ones(2).storage(), buffer, _use_new_zipfile_serialization=False)
    whole = buffer.getvalue()
    assert deltagrad.storage._load_from_bytes(whole).tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="pickled PyTorch tensor: truncated"):
        deltagrad.storage._load_from_bytes(whole[:-4])


def test_deltagrads_own_pickles_still_load():
    x = deltagrad.arange(12.0).reshape(3, 4)
    p = deltagrad.nn.Parameter(deltagrad.ones(2))
    objs = {"x": x, "view": x.t()[1:], "bf16": x.to(deltagrad.bfloat16), "p": p,
            "sd": deltagrad.nn.Linear(2, 3).state_dict(), "size": deltagrad.Size([2]),
            "dtype": deltagrad.complex64, "device": deltagrad.device("cpu")}
    back = pickle.loads(pickle.dumps(objs))
    assert back["x"].tolist() == x.tolist() and back["view"].tolist() == x.t()[1:].tolist()
    assert back["bf16"].dtype is deltagrad.bfloat16
    assert isinstance(back["p"], deltagrad.nn.Parameter) and back["p"].requires_grad
    assert list(back["sd"]) == ["weight", "bias"]
    assert back["size"] == deltagrad.Size([2]) and back["dtype"] is deltagrad.complex64
    assert back["device"] == deltagrad.device("cpu")


_UNDER_ALIAS = """
import pickle, sys
import deltagrad.torch_alias
deltagrad.torch_alias.install()
import torch
loaded = pickle.loads(sys.stdin.buffer.read())
x, p, sd, extra = loaded
assert type(x) is torch.Tensor and isinstance(p, torch.nn.Parameter), (type(x), type(p))
print(x.dtype, tuple(x.shape), x.stride(), x.storage_offset(), x.tolist())
print(p.requires_grad, p.tolist(), list(sd), extra)
import torch.storage, torch._utils, torch._tensor
print(torch.storage.TypedStorage.__module__, torch._tensor.Tensor is torch.Tensor)
"""


def test_under_the_real_alias(tmp_path):
    x = torch.arange(8.0).reshape(2, 4)[:, 1::2]
    payload = [x, torch.nn.Parameter(torch.full((2,), 0.5)),
               torch.nn.Linear(1, 1).state_dict(), [torch.int32, torch.Size([1])]]
    env = {**os.environ, "PYTHONPATH": os.path.join(ROOT, "src")}
    done = subprocess.run([sys.executable, "-c", _UNDER_ALIAS], input=pickle.dumps(payload),
                          capture_output=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode().splitlines()
    assert lines[0] == "torch.float32 (2, 2) (4, 2) 1 [[1.0, 3.0], [5.0, 7.0]]"
    assert lines[1] == "True [0.5, 0.5] ['weight', 'bias'] [torch.int32, torch.Size([1])]"
    assert lines[2] == "deltagrad._engine.api.storage True"


def test_torch_load_keeps_an_empty_views_offset(tmp_path):
    # (the rebuild torch.load shares: an empty view inside its storage kept offset 0 before)
    x = torch.arange(12.0).reshape(3, 4)
    path = tmp_path / "empty.pt"
    torch.save({"empty": x[:, 2:2], "tail": x.reshape(-1)[12:]}, path)
    ours = deltagrad.load(str(path))
    assert ours["empty"].storage_offset() == 2 and ours["empty"].stride() == (4, 1)
    assert ours["tail"].storage_offset() == 12 and tuple(ours["tail"].shape) == (0,)


def test_storage_and_tensor_modules_are_attributes_of_the_package():
    # `torch.storage.TypedStorage` without `import torch.storage` (attribute access, as
    # libraries write it): in a fresh interpreter, where nothing imported the submodules yet
    import subprocess
    import sys

    code = ("import deltagrad; print(deltagrad.storage.__name__, deltagrad._tensor.__name__, "
            "deltagrad.storage.TypedStorage.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["deltagrad.storage", "deltagrad._tensor", "TypedStorage"]
