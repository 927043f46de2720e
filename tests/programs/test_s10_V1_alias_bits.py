"""The PyTorch names torchvision and timm need at import time that deltagrad lacked (V1), and
``interpolate(antialias=True)`` (tensor ``Resize``'s default), each against the real torch
where it has an answer: a compiled library that cannot load raises OSError (torchvision catches
it) and its operators' Python registrations still import; calling one raises
NotImplementedError naming it."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad
from deltagrad import library, ops

torch = pytest.importorskip("torch")


def test_load_library_is_an_oserror_and_its_ops_raise_when_called():
    with pytest.raises(OSError, match="cannot load"):
        ops.load_library("/some/where/v1lib/_C.so")
    with pytest.raises(NotImplementedError):  # (still one, for earlier callers)
        ops.load_library("/some/where/v1lib/_C.so")
    fake = library.register_fake("v1lib::box_op", lambda x: x)  # torchvision's meta step
    assert callable(fake)
    library.register_autograd("v1lib::box_op", lambda ctx, g: g)
    with pytest.raises(NotImplementedError, match=r"torch\.ops\.v1lib\.box_op.*_C\.so"):
        ops.v1lib.box_op(deltagrad.ones(2))
    # a namespace no library failed to load for stays PyTorch's error
    with pytest.raises(RuntimeError, match="no custom op"):
        library.register_fake("v1_never_loaded::op", lambda x: x)


def test_dispatch_key_sets_and_disable_torch_function():
    keys = deltagrad._C.DispatchKey
    both = (deltagrad._C.DispatchKeySet(keys.AutocastCPU)
            | deltagrad._C.DispatchKeySet(keys.AutocastCUDA))
    assert both.has(keys.AutocastCPU) and not both.has(keys.CPU)
    real = (torch._C.DispatchKeySet(torch._C.DispatchKey.AutocastCPU)
            | torch._C.DispatchKeySet(torch._C.DispatchKey.AutocastCUDA))
    assert real.has(torch._C.DispatchKey.AutocastCPU) and not real.has(torch._C.DispatchKey.CPU)
    with deltagrad._C.DisableTorchFunctionSubclass():
        assert deltagrad.ones(2).sum().item() == 2.0


def test_onnx_registration_jit_dynamo_backends_hub():
    import deltagrad.onnx
    from deltagrad.jit.annotations import BroadcastingList2
    from deltagrad.onnx.symbolic_helper import parse_args
    from deltagrad.utils.model_zoo import tqdm

    def symbolic(g, x):
        return x

    assert parse_args("v")(symbolic) is symbolic
    deltagrad.onnx.register_custom_op_symbolic("v1ns::op", symbolic, 11)
    for module in (deltagrad, torch):
        with pytest.raises(RuntimeError, match="domain::name"):
            module.onnx.register_custom_op_symbolic("noname", symbolic, 11)
    assert BroadcastingList2[int] is None
    assert deltagrad.jit._script_if_tracing(symbolic) is symbolic
    from deltagrad._dynamo.utils import is_compile_supported
    assert is_compile_supported("cpu") is False  # no compiler: torchvision takes its op path
    assert deltagrad.backends.cpu.get_cpu_capability() == "DEFAULT"
    assert torch.backends.cpu.get_cpu_capability() in ("DEFAULT", "AVX2", "AVX512", "NO AVX",
                                                       "ZVECTOR", "VSX")
    assert tqdm is torch.hub.tqdm
    from deltagrad._custom_ops import get_ctx
    with pytest.raises(RuntimeError, match="fake kernel"):
        get_ctx()


CASES = [((2, 3, 24, 20), dict(size=(10, 13)), "bilinear"),
         ((1, 2, 17, 31), dict(size=(7, 5)), "bicubic"),
         ((1, 1, 8, 9), dict(size=(20, 4)), "bilinear"),  # up one way, down the other
         ((1, 1, 8, 9), dict(size=(20, 30)), "bicubic"),  # upsampling: no widening
         ((1, 3, 10, 10), dict(scale_factor=0.37), "bilinear"),
         ((1, 3, 10, 10), dict(scale_factor=(0.5, 0.3), recompute_scale_factor=True), "bicubic"),
         ((2, 1, 5, 6), dict(size=(5, 6)), "bilinear")]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape, kwargs, mode", CASES)
def test_interpolate_antialias_matches_torch(shape, kwargs, mode, dtype):
    rng = np.random.default_rng(sum(shape))
    array = rng.standard_normal(shape).astype(dtype)
    outs, grads = [], []
    for module in (deltagrad, torch):
        x = module.tensor(array, requires_grad=True)
        out = module.nn.functional.interpolate(x, mode=mode, antialias=True, **kwargs)
        weights = module.tensor(np.arange(out.numel(), dtype=dtype).reshape(tuple(out.shape)))
        (out * weights).sum().backward()
        outs.append(out.detach().numpy())
        grads.append(x.grad.numpy())
        assert str(out.dtype).endswith(dtype)
    tolerance = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(outs[0], outs[1], **tolerance)
    np.testing.assert_allclose(grads[0], grads[1], rtol=tolerance["rtol"],
                               atol=tolerance["atol"] * 100)


def test_interpolate_antialias_refusals():
    x = deltagrad.ones(1, 1, 6, 6)
    with pytest.raises(ValueError, match="Anti-alias"):
        deltagrad.nn.functional.interpolate(x, size=3, mode="nearest", antialias=True)
    with pytest.raises(NotImplementedError, match="align_corners"):
        deltagrad.nn.functional.interpolate(x, size=3, mode="bilinear", antialias=True,
                                            align_corners=True)
    with pytest.raises(NotImplementedError, match="uint8"):
        deltagrad.nn.functional.interpolate(x.to(deltagrad.uint8), size=3, mode="bilinear",
                                            antialias=True)
