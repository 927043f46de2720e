"""The ``torch.*`` modules T6 added for PyTorch Geometric's import: ``torch.ops`` (named ATen
overloads that refuse to run), ``torch.futures``, ``torch._tensor_str``, ``torch.utils.dlpack``,
``torch.nn.modules.instancenorm`` and the DataLoader iterator class names,
each beside the real PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad
import deltagrad._tensor_str as tensor_str
import deltagrad.futures as futures
import deltagrad.ops as ops
from deltagrad.nn.modules import instancenorm
from deltagrad.utils import dlpack
from deltagrad.utils.data import dataloader

torch = pytest.importorskip("torch")


def test_ops_names_overloads_and_refuses_to_run():
    for m in (ops, torch.ops):
        add = m.aten.add
        assert add.Tensor.name() == "aten::add.Tensor" and add.default.name() == "aten::add"
        assert m.aten.add.Tensor == add.Tensor and hash(m.aten.add.Tensor) == hash(add.Tensor)
        table = {add.Tensor: 1, m.aten.sub.Tensor: 2}
        assert table[m.aten.add.Tensor] == 1 and add.Tensor != add.Scalar
        assert repr(add.Tensor) == "<OpOverload(op='aten.add', overload='Tensor')>"
        assert repr(add) == "<OpOverloadPacket(op='aten.add')>"
        with pytest.raises(AttributeError, match="'_OpNamespace' 'pyg' object has no attribute"):
            m.pyg.foo  # noqa: B018 - no custom operator is registered
    with pytest.raises(NotImplementedError, match=r"torch\.ops\.aten\.add\.Tensor"):
        ops.aten.add.Tensor(deltagrad.ones(2), deltagrad.ones(2))
    with pytest.raises(NotImplementedError, match=r"aten\.clone\.default"):
        ops.aten.clone(deltagrad.ones(2))


def _future_story(m):
    out = []
    first = m.Future()
    chained = first.then(lambda fut: fut.wait() + 1)
    out.append(chained.done())
    first.set_result(1)
    out += [chained.wait(), chained.done(), first.value()]
    a, b = m.Future(), m.Future()
    both = m.collect_all([a, b])
    a.set_result("x")
    out.append(both.done())
    b.set_result("y")
    out += [[f.value() for f in both.wait()], m.wait_all([a, b])]
    with pytest.raises(RuntimeError, match="completed once"):
        a.set_result(3)
    failing = m.Future()
    failing.set_exception(ValueError("bad"))
    with pytest.raises(ValueError, match="bad"):
        failing.wait()
    broken = m.Future()
    after = broken.then(lambda fut: 1 / 0)
    broken.set_result(0)
    with pytest.raises(RuntimeError, match="ZeroDivisionError: division by zero"):
        after.wait()
    seen = []
    done = m.Future()
    done.set_result(5)
    done.add_done_callback(lambda fut: seen.append(fut.value()))
    return out + seen


def test_futures_like_pytorchs():
    assert _future_story(futures) == _future_story(torch.futures)
    empty = futures.collect_all([])
    assert empty.done() and empty.wait() == []


@pytest.mark.parametrize("values", [
    np.arange(6.0).reshape(2, 3) / 3,
    np.arange(2000, dtype=np.float32).reshape(40, 50) - 7.5,
    np.array([3, -12, 500], dtype=np.int64),
    np.zeros((0, 3), np.float32),
    np.array([True, False]),
])
def test_tensor_str_pieces(values):
    ours, theirs = deltagrad.tensor(values), torch.tensor(values)
    body = tensor_str._tensor_str(ours, 7)
    assert body == torch._tensor_str._tensor_str(theirs, 7)
    suffixes = [f"size={tuple(values.shape)}", "dtype=torch.float64", "grad_fn=<X>"]
    for force in (False, True):
        assert (tensor_str._add_suffixes("tensor(" + body, suffixes, 7, force)
                == torch._tensor_str._add_suffixes("tensor(" + body, suffixes, 7, force))
    assert tensor_str.PRINT_OPTS.threshold == torch._tensor_str.PRINT_OPTS.threshold == 1000


def test_dlpack_shares_memory_both_ways():
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    ours = dlpack.from_dlpack(array)
    array[0, 0] = 42.0  # the same memory
    assert ours.tolist() == array.tolist() and ours.dtype == deltagrad.float32
    theirs = torch.utils.dlpack.from_dlpack(dlpack.to_dlpack(ours))  # PyTorch reads our capsule
    assert theirs.tolist() == array.tolist() and theirs.dtype == torch.float32
    from_torch = dlpack.from_dlpack(torch.arange(4, dtype=torch.int32))
    assert from_torch.tolist() == [0, 1, 2, 3] and from_torch.dtype == deltagrad.int32
    # a bare capsule from PyTorch: read as PyTorch's from_dlpack reads one (s28 DX1: was a
    # TypeError), memory shared
    source = torch.arange(3, dtype=torch.float64)
    shared = dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(source))
    source[1] = 7.0
    assert shared.tolist() == [0.0, 7.0, 2.0] and shared.dtype == deltagrad.float64


def test_instancenorm_and_loader_iterator_names():
    assert issubclass(instancenorm.InstanceNorm2d, instancenorm._InstanceNorm)
    assert instancenorm.InstanceNorm1d is deltagrad.nn.InstanceNorm1d
    loader = deltagrad.utils.data.DataLoader(list(range(4)), batch_size=2, num_workers=2)
    iterator = iter(loader)
    assert isinstance(iterator, dataloader._BaseDataLoaderIter)
    assert not isinstance(iterator, dataloader._MultiProcessingDataLoaderIter)
    assert [batch.tolist() for batch in iterator] == [[0, 1], [2, 3]]
