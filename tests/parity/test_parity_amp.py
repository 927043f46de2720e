"""Mixed precision against PyTorch: GradScaler("cpu") scales, unscales, skips and adapts as
PyTorch's; CPU autocast to float16 casts as PyTorch's."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402


def _scaler_run(lib, growth_interval=2):
    lib.manual_seed(0)
    model = lib.nn.Linear(3, 2)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scaler = lib.amp.GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=growth_interval)
    x = lib.randn(4, 3)
    trace = []
    for step in range(6):
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        scaled = scaler.scale(loss)
        if step == 3:  # an overflowing step: skipped, scale backed off
            scaled = scaled * float("inf")
        scaled.backward()
        scaler.unscale_(optimizer)
        norm = lib.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        returned = scaler.step(optimizer)
        scaler.update()
        trace.append([scaled.item(), str(scaled.dtype).split(".")[-1], norm.item(),
                      scaler.get_scale(), returned, scaler.state_dict()])
    return trace, model.weight.detach().numpy().copy()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's, on the inf gradients
def test_grad_scaler_cpu_matches_pytorch():
    ours, theirs = _scaler_run(dg), _scaler_run(torch)
    for a, b in zip(ours[0], theirs[0]):
        np.testing.assert_allclose(a[0], b[0], rtol=1e-6)
        assert a[1:2] == b[1:2] and a[3:] == b[3:]
        if np.isfinite(b[2]):
            np.testing.assert_allclose(a[2], b[2], rtol=1e-6)
        else:
            assert not np.isfinite(a[2])
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6)


@pytest.mark.parametrize("misuse", ["unscale twice", "unscale after step", "step twice",
                                    "closure", "empty state", "update before scale"])
def test_grad_scaler_misuse_raises_as_pytorch(misuse):
    errors = []
    for lib in (torch, dg):
        w = lib.ones(2, requires_grad=True)
        optimizer = lib.optim.SGD([w], lr=0.1)
        scaler = lib.amp.GradScaler("cpu")
        try:
            if misuse == "update before scale":
                scaler.update()
            scaler.scale(w.sum()).backward()
            if misuse == "unscale twice":
                scaler.unscale_(optimizer)
                scaler.unscale_(optimizer)
            elif misuse == "unscale after step":
                scaler.step(optimizer)
                scaler.unscale_(optimizer)
            elif misuse == "step twice":
                scaler.step(optimizer)
                scaler.step(optimizer)
            elif misuse == "closure":
                scaler.step(optimizer, closure=lambda: None)
            else:
                scaler.load_state_dict({})
            errors.append(None)
        except (RuntimeError, AssertionError) as error:
            errors.append((type(error), str(error)[:40]))
    assert errors[0] is not None
    assert errors[1] == errors[0]


def test_grad_scaler_state_dict_round_trip_and_disabled_forms():
    for lib in (torch, dg):
        scaler = lib.amp.GradScaler("cpu", init_scale=8.0)
        restored = lib.amp.GradScaler("cpu")
        restored.load_state_dict(scaler.state_dict())
        assert restored.get_scale() == 8.0
        off = lib.amp.GradScaler("cpu", enabled=False)
        assert off.state_dict() == {} and off.get_scale() == 1.0 and not off.is_enabled()
        loss = lib.ones(())
        assert off.scale(loss) is loss


def test_cpu_autocast_float16_casts_as_pytorch():
    # (it refused before session 19; tests/parity/test_s19_AC_autocast.py sweeps the ops)
    results = []
    for lib in (torch, dg):
        @lib.autocast("cpu", dtype=lib.float16)
        def forward(x, w, lib=lib):
            return lib.nn.functional.linear(x, w)

        x = lib.tensor(np.linspace(-1, 1, 8).reshape(2, 4), dtype=lib.float32)
        w = lib.tensor(np.linspace(0.3, -2, 12).reshape(3, 4), dtype=lib.float32)
        out = forward(x, w)
        results.append((str(out.dtype).split(".")[-1], out.float().numpy().tolist()))
    assert results[0] == results[1] and results[0][0] == "float16"


def test_autocast_forms_that_pytorch_disables_run_unchanged():
    for lib in (torch, dg):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with lib.autocast("cuda"):
                cuda = lib.ones(2) @ lib.ones(2)
            with lib.autocast("cpu", dtype=lib.float32):
                other = lib.ones(2) @ lib.ones(2)
        with lib.autocast("cpu", enabled=False):
            off = lib.ones(2) @ lib.ones(2)
        assert [cuda.dtype, other.dtype, off.dtype] == [lib.float32] * 3
        messages = [str(w.message) for w in caught]
        assert any("CUDA is not available" in m for m in messages)
        assert any("target dtype is not supported" in m for m in messages)
