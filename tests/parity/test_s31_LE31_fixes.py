"""Differences from PyTorch that safetensors' and tensorboardX's own tests showed under the
alias in session 31 (LE31, tests/programs/test_s31_LE31_suites.py), each run in both libraries."""

from __future__ import annotations

import importlib

import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


# --------------------------------------------------------------------------------------------
# 1. A byte range of an untyped storage is a storage of its own: a tensor ``set_`` on it sees
# the range's size, not the whole block's (safetensors' test_pt_sf_save_model_overlapping_storage
# tells shared tensors apart by (data_ptr, nbytes) of their storages; here nbytes was the
# block's 40 where PyTorch gives 16). The bytes stay shared both ways.

def _slice_and_set(L, start, stop, size=None):
    m = L.arange(10, dtype=L.float32)
    part = m.untyped_storage()[start:stop]
    n = L.empty([], dtype=m.dtype)
    if size is None:
        n.set_(source=part)
    else:
        n.set_(part, 0, size, (1,))
    m[start // 4] = 99.0  # (written through the block: the slice's tensor sees it)
    n[-1] = -1.0  # (and the other way)
    return (part.nbytes(), len(part), n.untyped_storage().nbytes(), n.storage_offset(),
            n.untyped_storage().data_ptr() - m.untyped_storage().data_ptr(),
            m.untyped_storage().nbytes(), n.tolist(), m.tolist())


@pytest.mark.parametrize("bounds", [(0, 16, None), (8, 40, None), (4, 20, (2,)), (0, 0, None)],
                         ids=["head", "tail", "sized", "empty"])
def test_storage_slice_is_a_storage_of_its_own(bounds):
    start, stop, size = bounds
    if stop == start:  # (an empty range: nothing to write through)
        got = [(L.empty(0).set_(source=L.arange(4.0).untyped_storage()[0:0]).untyped_storage()
                .nbytes()) for L in (dg, torch)]
        assert got[0] == got[1] == 0
        return
    assert _slice_and_set(dg, start, stop, size) == _slice_and_set(torch, start, stop, size)


def test_storage_slice_of_a_read_only_block_stays_read_only():
    # (a tensor over read-only memory: the slice must not make it writable)
    import numpy as np

    block = np.frombuffer(bytes(range(16)), dtype=np.uint8)
    part = dg.UntypedStorage(block)[4:8]
    assert part.nbytes() == 4 and part.tolist() == [4, 5, 6, 7]
    with pytest.raises(ValueError):
        part[0] = 1


# --------------------------------------------------------------------------------------------
# 2. ``torch.utils.tensorboard._pytorch_graph`` (tensorboardX's add_graph imports its ``graph``):
# a ModuleNotFoundError here before; now deltagrad's clear NotImplementedError of add_graph
# (a RuntimeError, as PyTorch's tracer raises for a model it cannot run).

def test_pytorch_graph_module_raises_clearly():
    module = importlib.import_module("deltagrad.utils.tensorboard._pytorch_graph")
    with pytest.raises(NotImplementedError, match="add_graph is not supported"):
        module.graph(dg.nn.Linear(3, 5), (dg.zeros(1, 3),))
    real = importlib.import_module("torch.utils.tensorboard._pytorch_graph")
    with pytest.raises(RuntimeError):  # (PyTorch's tracer: a model that cannot run)
        real.graph(torch.nn.Linear(3, 5), (torch.rand(1, 9),))
    with pytest.raises(RuntimeError):
        module.graph(dg.nn.Linear(3, 5), (dg.rand(1, 9),))


# --------------------------------------------------------------------------------------------
# 3. ``torch._prims_common``'s annotation aliases (torch-pca imports ``DeviceLikeType`` from
# it at import: a ModuleNotFoundError under the alias before, so none of its tests ran).

_VALUES = ["cpu", 0, 1.5, (2, 3), [2], True, 1 + 2j, None]


@pytest.mark.parametrize("alias", ["DeviceLikeType", "DimsType", "DimsSequenceType",
                                   "StrideType", "NumberType", "Number", "IntLike",
                                   "FloatLike", "BoolLike", "Dim"])
def test_prims_common_aliases_accept_what_pytorch_accepts(alias):
    def checks(module):  # (isinstance of a parameterized generic raises TypeError in both)
        found = []
        for value in _VALUES:
            try:
                found.append(isinstance(value, getattr(module, alias)))
            except TypeError as error:
                found.append(type(error).__name__)
        return found

    ours = importlib.import_module("deltagrad._prims_common")
    assert checks(ours) == checks(importlib.import_module("torch._prims_common"))


def test_prims_common_tensor_and_device_aliases():
    ours = importlib.import_module("deltagrad._prims_common")
    assert isinstance(dg.device("cpu"), ours.DeviceLikeType)
    assert isinstance(dg.zeros(2), ours.TensorLikeType)
    assert isinstance(dg.Size([2, 3]), ours.ShapeType)
    assert isinstance(dg.zeros(2), ours.TensorOrNumberLikeType)
    assert not isinstance(dg.zeros(2), ours.DeviceLikeType)
