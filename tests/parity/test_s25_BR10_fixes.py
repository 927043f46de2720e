"""Session 25 BR10: small differences from PyTorch 2.13, each checked against it.

- a plain pickle of PyTorch's sparse tensor (COO coalesced or not, hybrid, CSR / CSC / BSR) and
  of a layout loads under the alias (torch.serialization._get_layout,
  torch._utils._rebuild_sparse_tensor);
- ``random_()`` with no bounds on uint16 / uint32 / uint64 is PyTorch's NotImplementedError;
- ``tensor(map / set / generator / dict / None)``: PyTorch's RuntimeError, while an operator's
  argument of that kind stays a TypeError.
"""

from __future__ import annotations

import importlib
import io
import pickle
import warnings

import numpy as np
import pytest

import deltagrad

torch = pytest.importorskip("torch")


class _AliasUnpickler(pickle.Unpickler):
    """Resolves ``torch.<path>`` globals in ``deltagrad.<path>``, as torch_alias's finder."""

    def find_class(self, module, name):
        if module == "torch" or module.startswith("torch."):
            return getattr(importlib.import_module("deltagrad" + module[len("torch"):]), name)
        return super().find_class(module, name)


def _alias_loads(data: bytes):
    return _AliasUnpickler(io.BytesIO(data)).load()


def _sparse_cases() -> dict:
    indices = torch.tensor([[1, 0, 1], [2, 0, 2]])
    values = torch.tensor([3.0, 4.0, 5.0])
    dense = torch.tensor([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (PyTorch's beta / invariant-check notices)
        return {
            "coo": torch.sparse_coo_tensor(indices, values, (2, 3)),
            "coo_coalesced": torch.sparse_coo_tensor(indices, values, (2, 3)).coalesce(),
            "coo_int": torch.sparse_coo_tensor(indices, torch.tensor([1, 2, 3]), (2, 3)),
            "coo_hybrid": torch.sparse_coo_tensor(indices[:, :2], torch.ones(2, 4), (2, 3, 4)),
            "csr": dense.to_sparse_csr(), "csc": dense.double().to_sparse_csc(),
            "bsr": torch.eye(4).to_sparse_bsr((2, 2)),
        }


@pytest.mark.parametrize("key", sorted(_sparse_cases()))
def test_plain_pickle_of_pytorch_sparse_tensors(key):
    real = _sparse_cases()[key]
    ours = _alias_loads(pickle.dumps(real))
    assert str(ours.layout).rpartition(".")[2] == str(real.layout).rpartition(".")[2]
    assert tuple(ours.shape) == tuple(real.shape)
    assert str(ours.dtype).rpartition(".")[2] == str(real.dtype).rpartition(".")[2]
    np.testing.assert_array_equal(ours.to_dense().numpy(), real.to_dense().numpy())
    if real.layout == torch.sparse_coo:
        assert ours.is_coalesced() == real.is_coalesced()
        np.testing.assert_array_equal(ours._indices().numpy(), real._indices().numpy())
        np.testing.assert_array_equal(ours._values().numpy(), real._values().numpy())


def test_plain_pickle_of_layouts_and_bad_layouts():
    for layout in (torch.strided, torch.sparse_coo, torch.sparse_csr, torch.sparse_csc):
        ours = _alias_loads(pickle.dumps(layout))
        assert ours is getattr(deltagrad, str(layout).rpartition(".")[2])
    with pytest.raises(KeyError):  # (PyTorch's: a dict lookup)
        deltagrad.serialization._get_layout("torch.no_such_layout")
    with pytest.raises(KeyError):
        torch.serialization._get_layout("torch.no_such_layout")
    # A pickle whose indices break the invariants is refused, not built.
    bad = pickle.dumps(torch.sparse_coo_tensor(torch.tensor([[5]]), torch.tensor([1.0]), (3,),
                                               check_invariants=False))
    with pytest.raises(RuntimeError):
        _alias_loads(bad)


@pytest.mark.parametrize("name", ["uint16", "uint32", "uint64", "int64", "int32", "uint8",
                                  "bool", "float32"])
def test_random_without_bounds_on_unsigned_types(name):
    outcomes = []
    for lib in (torch, deltagrad):
        try:
            x = lib.empty(3, dtype=getattr(lib, name)).random_()
            outcomes.append(("ok", str(x.dtype).rpartition(".")[2]))
        except Exception as error:  # noqa: BLE001 (the type and text are the comparison)
            outcomes.append((type(error).__name__, str(error)))
    assert outcomes[0] == outcomes[1]
    # Bounds given: drawn on every integer dtype, as PyTorch.
    draws = deltagrad.empty(50, dtype=getattr(deltagrad, name)).random_(0, 2)
    assert set(draws.tolist()) <= {0, 1}  # (bools compare equal to 0 and 1)


def _no_sequences():
    return [map(int, [1, 2]), {1, 2}, (i for i in range(2)), {1: 2}, {1: 2}.keys(),
            iter([1, 2]), frozenset([1]), None, object()]


@pytest.mark.parametrize("index", range(9))
def test_tensor_of_objects_that_are_no_sequences(index):
    for make in (lambda lib, d: lib.tensor(d), lambda lib, d: lib.as_tensor(d)):
        found = []
        for lib in (torch, deltagrad):
            try:
                make(lib, _no_sequences()[index])
                found.append(None)
            except Exception as error:  # noqa: BLE001
                found.append((type(error), str(error)))
        assert found[0] == found[1]
    # With a dtype: PyTorch's TypeError (None read as nan before).
    for lib in (torch, deltagrad):
        with pytest.raises(TypeError):
            lib.tensor(_no_sequences()[index], dtype=lib.float32)


def test_operator_arguments_stay_type_errors():
    for lib in (torch, deltagrad):
        x = lib.ones(2)
        with pytest.raises(TypeError):
            x.mul_(None)
        with pytest.raises(TypeError):
            x + None


@pytest.mark.parametrize("weights_only", [True, False])
def test_torch_load_of_pytorch_files_with_sparse_tensors(weights_only):
    cases = _sparse_cases()
    buffer = io.BytesIO()
    torch.save(cases, buffer)
    ours = deltagrad.load(io.BytesIO(buffer.getvalue()), weights_only=weights_only)
    for key, real in cases.items():
        assert str(ours[key].layout).rpartition(".")[2] == str(real.layout).rpartition(".")[2]
        np.testing.assert_array_equal(ours[key].to_dense().numpy(), real.to_dense().numpy())
    # The legacy (non-zip) format reads storages after the objects: still refused, clearly.
    legacy = io.BytesIO()
    torch.save(cases["csr"], legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(Exception, match="_rebuild_sparse_tensor"):
        deltagrad.load(io.BytesIO(legacy.getvalue()))
