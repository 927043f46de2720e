"""Regression tests for what PG2's session-19 programs found (each differential against PyTorch).
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _nested_autocast_dtypes(lib):
    """The output dtypes of a Linear in nested CPU autocast contexts, and the state queries."""
    layer = lib.nn.Linear(2, 2)
    x = lib.randn(1, 2)
    seen = []
    with lib.autocast("cpu", dtype=lib.bfloat16):
        with lib.autocast(device_type="cpu", enabled=False):
            seen += [layer(x).dtype, lib.is_autocast_enabled("cpu")]
            with lib.autocast("cpu"):
                seen += [layer(x).dtype, lib.is_autocast_enabled("cpu")]
            seen.append(layer(x).dtype)
        seen += [layer(x).dtype, lib.is_autocast_enabled("cpu")]

        @lib.autocast("cpu", enabled=False)
        def uncast():
            return layer(x).dtype

        seen.append(uncast())
    seen += [layer(x).dtype, lib.is_autocast_enabled("cpu")]
    return [str(v).rsplit(".", 1)[-1] for v in seen]


def test_disabled_autocast_inside_enabled_one_runs_uncast():
    # `with autocast("cpu", enabled=False)` inside a bfloat16 autocast (the recipe for a
    # numerically sensitive block) left the outer casting on: bfloat16 where PyTorch gives
    # float32, and is_autocast_enabled said True.
    expected = _nested_autocast_dtypes(torch)
    assert expected == ["float32", "False", "bfloat16", "True", "float32", "bfloat16", "True",
                        "float32", "float32", "False"]
    assert _nested_autocast_dtypes(dg) == expected


def test_autocast_with_unsupported_dtype_disables_the_outer_one():
    # PyTorch warns and disables a CPU autocast asked for float32, for its whole body
    def run(lib):
        layer = lib.nn.Linear(2, 2)
        with lib.autocast("cpu"), pytest.warns(UserWarning):
            with lib.autocast("cpu", dtype=lib.float32):
                return str(layer(lib.randn(1, 2)).dtype).rsplit(".", 1)[-1]

    assert run(dg) == run(torch) == "float32"


ARANGE_CASES = [(0, 0.05, 1 / 8000), (-5, 5, 0.1), (0, 1, 0.01), (0.3, 40.0, 0.37),
                (1, -3, -0.7), (-1.25, 1.0, 2.5e-4), (7, 7.5, 1 / 3), (0, 2, 0.125)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", ARANGE_CASES, ids=str)
def test_float_arange_rounds_as_pytorch(case, dtype):
    # PyTorch's vectorized arange rounds a base per 8-lane (float32) / 4-lane (float64) vector
    # and steps from it; one rounding of start + i * step in double differed from it by one
    # ulp in 95 of arange(0, 0.05, 1 / 8000)'s 400 float32 values, and sin(2 pi 1200 t) of
    # them by 1.5e-5 (an audio tutorial's signal and spectrogram).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # (with 3+ threads PyTorch splits ranges over 2048: not followed)
    try:
        expected = torch.arange(*case, dtype=getattr(torch, dtype)).numpy()
    finally:
        torch.set_num_threads(threads)
    ours = dg.arange(*case, dtype=getattr(dg, dtype)).numpy()
    assert ours.dtype == expected.dtype and ours.shape == expected.shape
    assert (ours == expected).all(), np.flatnonzero(ours != expected)[:10]


def test_float_arange_default_dtype_and_exact_ranges():
    for args in [(10.0,), (0.0, 6.0, 0.5), (2, 9.0), (-3.0, 3.0, 2.0)]:
        expected = torch.arange(*args)
        ours = dg.arange(*args)
        assert str(ours.dtype).rsplit(".", 1)[-1] == str(expected.dtype).rsplit(".", 1)[-1]
        assert ours.tolist() == expected.tolist()


def test_fake_quantize_at_top_level():
    # torch.fake_quantize_per_tensor_affine / _per_channel_affine (quantization-aware training
    # written by hand) were only under deltagrad.ao.quantization.fake_quantize
    def run(lib):
        x = lib.linspace(-2, 2, 9, requires_grad=True)
        q = lib.fake_quantize_per_tensor_affine(x, 0.3, 2, -5, 5)
        q.sum().backward()
        per_channel = lib.fake_quantize_per_channel_affine(
            lib.linspace(-1, 1, 12).reshape(3, 4), lib.tensor([0.1, 0.2, 0.05]),
            lib.tensor([0, 1, -1], dtype=lib.int32), 0, -8, 7)
        return q.tolist(), x.grad.tolist(), per_channel.tolist()

    for ours, expected in zip(run(dg), run(torch)):
        assert np.allclose(ours, expected, rtol=0, atol=1e-7)
    for lib in (dg, torch):  # an int64 zero point is refused, as PyTorch's
        with pytest.raises(RuntimeError, match="Zero-point must be Int32"):
            lib.fake_quantize_per_channel_affine(lib.ones(2, 2), lib.ones(2),
                                                 lib.zeros(2, dtype=lib.long), 0, 0, 255)


@pytest.mark.parametrize("name", ["hann_window", "hamming_window", "blackman_window",
                                  "bartlett_window"])
def test_windows_round_op_by_op_as_pytorch(name):
    # The windows were one rounding of a float64 formula: 65% of float32 hann_window values
    # one ulp off PyTorch's. Op by op in the dtype, as PyTorch, Bartlett's agree exactly and
    # the cosine windows in all but a few values (PyTorch's vectorized cos is not correctly
    # rounded; one ulp of the cosine there at most).
    mismatched = total = 0
    for dtype in ("float32", "float64"):
        for length in (0, 1, 2, 5, 64, 400, 1024):
            for periodic in (True, False):
                expected = getattr(torch, name)(length, periodic=periodic,
                                                dtype=getattr(torch, dtype)).numpy()
                ours = getattr(dg, name)(length, periodic=periodic,
                                         dtype=getattr(dg, dtype)).numpy()
                assert ours.dtype == expected.dtype and ours.shape == expected.shape
                # (one ulp of the cosine terms, whose scale is 1)
                ulp = np.finfo(expected.dtype).eps
                assert (np.abs(ours - expected) <= ulp).all(), (dtype, length, periodic)
                mismatched += int((ours != expected).sum())
                total += length
    assert mismatched <= (0 if name == "bartlett_window" else 0.05 * total), mismatched
