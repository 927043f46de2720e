"""PyTorch names transformers reads that deltagrad now has: torch.library custom ops (with their
registered autograd), 8-bit float dtypes and finfo of dtypes NumPy lacks, CUDA object types on a
CPU-only machine, and ``with torch.device("cpu")``."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.library as library

torch = pytest.importorskip("torch")


def _define(module, lib, namespace):
    def scaled_sin(x, w):
        return (x * w).sin()

    # (PyTorch infers the schema from real annotations; this module's are strings)
    scaled_sin.__annotations__ = {"x": module.Tensor, "w": module.Tensor, "return": module.Tensor}

    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)

    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        inner = (x * w).cos() * grad
        return inner * w * 2, inner * x  # (x's gradient doubled: the registered one is used)

    op = lib.custom_op(f"{namespace}::scaled_sin", scaled_sin, mutates_args=())
    lib.register_fake(f"{namespace}::scaled_sin", lambda x, w: module.empty_like(x))
    lib.register_autograd(f"{namespace}::scaled_sin", backward, setup_context=setup_context)
    return op


def test_custom_op_with_registered_autograd_matches_torch():
    values = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    weights = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
    results = {}
    for module, lib, namespace in ((torch, torch.library, "s8t7_torch"),
                                   (dg, library, "s8t7_dg")):
        op = _define(module, lib, namespace)
        x = module.tensor(values, requires_grad=True)
        w = module.tensor(weights, requires_grad=True)
        y = getattr(module.ops, namespace).scaled_sin(x, w)
        assert op(x, w).shape == y.shape
        y.sum().backward()
        results[module.__name__] = (y.detach().numpy(), x.grad.numpy(), w.grad.numpy())
    for ours, theirs in zip(results["deltagrad"], results["torch"]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_custom_op_without_autograd_and_errors():
    @library.custom_op("s8t7_plain::double", mutates_args=())
    def double(x: dg.Tensor) -> dg.Tensor:
        return x * 2

    assert dg.ops.s8t7_plain.double(dg.ones(2)).tolist() == [2.0, 2.0]
    assert repr(double) == "<CustomOpDef(s8t7_plain::double)>"
    with pytest.raises(RuntimeError, match="already registered"):
        library.custom_op("s8t7_plain::double", lambda x: x, mutates_args=())
    with pytest.raises(ValueError, match="namespace::name"):
        library.custom_op("nonamespace", lambda x: x, mutates_args=())
    with pytest.raises(RuntimeError, match="no custom op"):
        library.register_fake("s8t7_plain::missing", lambda x: x)
    with pytest.raises(NotImplementedError, match="Library"):
        library.Library("aten", "IMPL")  # (s30 BR24: other namespaces' Library works)


@pytest.mark.parametrize("name", ["bfloat16", "float8_e4m3fn", "float8_e5m2", "float8_e8m0fnu"])
def test_finfo_of_dtypes_numpy_lacks(name):
    ours, theirs = dg.finfo(getattr(dg, name)), torch.finfo(getattr(torch, name))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert getattr(dg, name).itemsize == getattr(torch, name).itemsize
    assert getattr(dg, name).is_floating_point
    if name == "bfloat16":  # (ml_dtypes' dtype: tests/engine/test_s9_B1_bfloat16.py)
        assert dg.zeros(2, dtype=dg.bfloat16).dtype == dg.bfloat16
        return
    with pytest.raises(TypeError, match=f"{name} is not supported"):
        dg.zeros(2, dtype=getattr(dg, name))


def test_cuda_object_types_and_device_context():
    assert dg.cuda.default_generators == torch.cuda.default_generators == ()
    assert dg.cuda.memory_allocated() == torch.cuda.memory_allocated() == 0
    for name in ("CUDAGraph", "Stream", "Event"):
        with pytest.raises(RuntimeError):
            getattr(torch.cuda, name)()
        with pytest.raises(RuntimeError, match="CPU only"):
            getattr(dg.cuda, name)()
    assert not isinstance(dg.ones(1), dg.cuda.Stream)
    with dg.device("cpu") as device:
        assert device == dg.device("cpu") and dg.ones(1).device == device
    with dg.device("meta"):  # (meta tensors: tests/engine/test_s9_M1_meta.py)
        assert dg.ones(1).is_meta
    with pytest.raises(RuntimeError, match="'cuda' is not available"):
        with dg.device("cuda"):
            pass
