"""The autocast API against PyTorch (session 19, AC): the CPU state functions and their
nesting, set_autocast_enabled, cache_enabled, decorators, custom_fwd(cast_inputs) /
custom_bwd, ``torch.cpu.amp`` and a GradScaler("cpu") loop under bfloat16 autocast."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402


def _name(dtype):
    return str(dtype).split(".")[-1]


def _state_trace(L):
    trace = []

    def note(label):
        trace.append((label, L.is_autocast_enabled("cpu"), _name(L.get_autocast_dtype("cpu")),
                      L.is_autocast_cache_enabled(), L.is_autocast_enabled()))

    note("start")
    with L.autocast("cpu", dtype=L.float16, cache_enabled=False):
        note("float16, no cache")
        with L.autocast("cpu", enabled=False, dtype=L.bfloat16):
            note("disabled inside")
            L.set_autocast_enabled("cpu", True)
            note("switched on inside")
            trace.append(_name((L.ones(2, 2) @ L.ones(2, 2)).dtype))
        note("back in float16")
        trace.append(_name((L.ones(2, 2) @ L.ones(2, 2)).dtype))
    note("after")
    L.set_autocast_enabled("cpu", True)
    note("switched on outside")
    trace.append(_name(L.mm(L.ones(2, 2), L.ones(2, 2)).dtype))
    L.set_autocast_enabled("cpu", False)
    note("switched off")
    trace.append(_name(L.mm(L.ones(2, 2), L.ones(2, 2)).dtype))

    @L.autocast("cpu", dtype=L.float16)
    def decorated(x):
        return x @ x, L.is_autocast_enabled("cpu")

    out, on = decorated(L.ones(2, 2))
    trace.append((_name(out.dtype), on, L.is_autocast_enabled("cpu")))
    return trace


def test_state_functions_and_nesting_as_pytorch():
    # set_autocast_enabled was a no-op here (raised for True); get_autocast_dtype did not
    # follow the context; cache_enabled was not reported
    assert _state_trace(dg) == _state_trace(torch)


def test_cpu_amp_forms_warn_and_cast_as_pytorch():
    results = []
    for L in (torch, dg):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with L.cpu.amp.autocast():
                dtype = _name(L.nn.functional.linear(L.ones(1, 2), L.ones(3, 2)).dtype)
            scaler = L.cpu.amp.GradScaler(init_scale=8.0)
        messages = sorted((w.category.__name__, str(w.message)) for w in caught)
        results.append((dtype, scaler.get_scale(), messages))
    assert results[0] == results[1]


def _custom_function(L, cast_inputs):
    seen = []

    class Square(L.autograd.Function):
        @staticmethod
        @L.amp.custom_fwd(device_type="cpu", cast_inputs=cast_inputs)
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            y = x @ w
            seen.append(("forward", _name(x.dtype), _name(w.dtype), _name(y.dtype),
                         L.is_autocast_enabled("cpu")))
            return y

        @staticmethod
        @L.amp.custom_bwd(device_type="cpu")
        def backward(ctx, grad):
            x, w = ctx.saved_tensors
            seen.append(("backward", _name(grad.dtype), L.is_autocast_enabled("cpu")))
            return grad @ w.transpose(0, 1), x.transpose(0, 1) @ grad

    return Square, seen


@pytest.mark.parametrize("cast_inputs", [None, "float32", "bfloat16"])
def test_custom_fwd_cast_inputs_and_custom_bwd_as_pytorch(cast_inputs):
    # custom_fwd / custom_bwd returned the functions unchanged: no cast, autocast left on
    results = []
    for L in (torch, dg):
        function, seen = _custom_function(L, None if cast_inputs is None
                                          else getattr(L, cast_inputs))
        x = L.tensor(np.linspace(-1, 1, 6).reshape(2, 3), dtype=L.bfloat16, requires_grad=True)
        w = L.tensor(np.linspace(0.5, 2, 12).reshape(3, 4), dtype=L.float32,
                     requires_grad=True)
        with L.autocast("cpu", dtype=L.bfloat16):
            y = function.apply(x, w)
        y.float().sum().backward()
        outside = function.apply(x.detach().float(), w.detach())
        results.append(((seen, _name(y.dtype), _name(x.grad.dtype), _name(w.grad.dtype),
                         _name(outside.dtype)),
                        [t.double().detach().numpy() for t in (y, x.grad, w.grad)]))
    assert results[1][0] == results[0][0]
    for ours, theirs in zip(results[1][1], results[0][1]):  # (float32 products: BLAS's ulps)
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_custom_fwd_needs_a_device_type_string():
    for L in (torch, dg):
        with pytest.raises(ValueError):
            L.amp.custom_fwd(device_type=1)


def _scaled_training(L):
    L.manual_seed(0)
    model = L.nn.Sequential(L.nn.Linear(4, 8), L.nn.ReLU(), L.nn.Linear(8, 2))
    optimizer = L.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scaler = L.amp.GradScaler("cpu", init_scale=2.0 ** 12, growth_interval=2)
    x = L.tensor(np.linspace(-2, 2, 24).reshape(6, 4), dtype=L.float32)
    target = L.tensor(np.linspace(0, 1, 12).reshape(6, 2), dtype=L.float32)
    trace = []
    for step in range(5):
        optimizer.zero_grad()
        with L.autocast("cpu", dtype=L.bfloat16):
            out = model(x)
            loss = L.nn.functional.mse_loss(out, target)
        scaled = scaler.scale(loss)
        if step == 2:  # overflow: the step is skipped and the scale backed off
            scaled = scaled * float("inf")
        scaled.backward()
        scaler.step(optimizer)
        scaler.update()
        trace.append((_name(out.dtype), _name(loss.dtype), loss.item(), scaler.get_scale(),
                      scaler.state_dict()))
    weights = [p.detach().double().numpy().copy() for p in model.parameters()]
    return trace, weights, scaler


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # (NumPy's, on the inf gradients)
def test_grad_scaler_with_bfloat16_autocast_as_pytorch():
    (ours, our_weights, scaler), (theirs, their_weights, _) = (_scaled_training(dg),
                                                               _scaled_training(torch))
    for a, b in zip(ours, theirs):
        assert a[:2] == b[:2] and a[3:] == b[3:]
        np.testing.assert_allclose(a[2], b[2], rtol=1e-6)
    for a, b in zip(our_weights, their_weights):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    again = dg.amp.GradScaler("cpu")
    again.load_state_dict(pickle.loads(pickle.dumps(scaler.state_dict())))
    assert again.state_dict() == scaler.state_dict()
