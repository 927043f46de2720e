"""float16 / bfloat16 normalization layers against PyTorch, bit for bit where its kernels allow
(s18 NH): PyTorch's CPU kernels compute in float32 but keep some statistics in the input's
dtype (batch_norm's batch mean and 1/std, bfloat16's variance too; layer_norm's and
group_norm's mean and rstd, read by their backward), and update half-precision running
statistics with their own rounding. deltagrad kept them in float32 / float64: batch_norm up to
148 bfloat16 ulps off, layer_norm / group_norm input gradients up to 13.
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ml_dtypes = pytest.importorskip("ml_dtypes")
import deltagrad as dg  # noqa: E402

_NARROW = {"float16": np.float16, "bfloat16": ml_dtypes.bfloat16}


def _ulps(expected, actual, dtype_name) -> int:
    """The most units in the last place of ``dtype_name`` between two float32 arrays."""
    def ordered(v):
        bits = v.astype(_NARROW[dtype_name]).view(np.int16).astype(np.int32)
        return np.where(bits < 0, -(bits & 0x7FFF), bits)

    assert expected.shape == actual.shape
    return int(np.abs(ordered(expected) - ordered(actual)).max()) if expected.size else 0


def _values(rng, shape, scale=3.0, shift=1.0):
    return (rng.standard_normal(shape) * scale + shift).astype(np.float32)


def _run(lib, dtype_name, fn, arrays, grad_of, upstream):
    """fn(lib, *tensors) in ``dtype_name``; returns the output, the gradients of the arrays
    at ``grad_of`` and the tensors themselves (running statistics), all as float32."""
    dtype = getattr(lib, dtype_name)
    tensors = [None if a is None else lib.tensor(a).to(dtype) for a in arrays]
    for k in grad_of:
        tensors[k].requires_grad_()
    out = fn(lib, *tensors)
    out.backward(lib.tensor(upstream).to(dtype))
    assert out.dtype == dtype
    got = [out] + [tensors[k].grad for k in grad_of]
    got += [t for k, t in enumerate(tensors) if t is not None and k not in grad_of]
    return [g.detach().float().numpy() for g in got]


def _compare(fn, arrays, grad_of, upstream, dtype_name, most=0, parts=None):
    expected = _run(torch, dtype_name, fn, arrays, grad_of, upstream)
    actual = _run(dg, dtype_name, fn, arrays, grad_of, upstream)
    apart = [_ulps(e, a, dtype_name) for e, a in zip(expected, actual)]
    apart = apart if parts is None else [apart[k] for k in parts]
    assert max(apart) <= most, apart


@pytest.mark.parametrize("dtype_name", ["float16", "bfloat16"])
@pytest.mark.parametrize("shape", [(5, 5, 5), (6, 4), (4, 3, 6, 6)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training_rounds_statistics_as_pytorch(dtype_name, shape, affine):
    rng = np.random.default_rng(sum(shape) + affine)
    channels = shape[1]
    weight, bias = (_values(rng, channels, 1.0, 0.0) for _ in range(2))
    mean, var = _values(rng, channels, 1.0, 0.0), rng.random(channels).astype(np.float32) + .5

    def fn(lib, x, w, b, m, v):
        return lib.nn.functional.batch_norm(x, m, v, w, b, training=True, momentum=0.3)

    arrays = [_values(rng, shape), weight if affine else None, bias if affine else None,
              mean, var]
    # values, gradients and the running mean / var (updated in the half dtype): bfloat16 is
    # bit for bit; float16 within 1 ulp (PyTorch's float32 sums add in another order)
    _compare(fn, arrays, [0, 1, 2] if affine else [0], _values(rng, shape, 1.0, 0.0),
             dtype_name, most=0 if dtype_name == "bfloat16" else 1)


@pytest.mark.parametrize("dtype_name", ["float16", "bfloat16"])
def test_batch_norm_module_running_stats_cumulative_average(dtype_name):
    # momentum None (1 / num_batches_tracked) over three steps: the running statistics in the
    # half dtype agree with PyTorch's bit for bit
    rng = np.random.default_rng(7)
    batches = [_values(rng, (8, 3, 4)) for _ in range(3)]
    stats = []
    for lib in (torch, dg):
        layer = lib.nn.BatchNorm1d(3, momentum=None).to(getattr(lib, dtype_name))
        for b in batches:
            layer(lib.tensor(b).to(getattr(lib, dtype_name)))
        stats.append([layer.running_mean.float().numpy(), layer.running_var.float().numpy()])
    for e, a in zip(*stats):
        assert _ulps(e, a, dtype_name) == 0


@pytest.mark.parametrize("dtype_name", ["float16", "bfloat16"])
def test_batch_norm_eval_uses_pytorch_linear_terms(dtype_name):
    # eval: y = x alpha + beta with alpha = w / sqrt(var + eps), beta = b - mean alpha (was
    # (x - mean) rstd w + b: 2-3 ulps on op_db's [3, 2, 4] sample)
    rng = np.random.default_rng(3)

    def fn(lib, x, w, b, m, v):
        return lib.nn.functional.batch_norm(x, m, v, w, b, training=False)

    arrays = [_values(rng, (6, 4, 5)), _values(rng, 4, 1.0, 0.0), _values(rng, 4, 1.0, 0.0),
              _values(rng, 4, 1.0, 0.0), rng.random(4).astype(np.float32) + .3]
    _compare(fn, arrays, [0, 1, 2], _values(rng, (6, 4, 5), 1.0, 0.0), dtype_name, most=1)


@pytest.mark.parametrize("dtype_name", ["float16", "bfloat16"])
def test_instance_norm_as_pytorch_batch_norm_of_instances(dtype_name):
    rng = np.random.default_rng(11)

    def fn(lib, x, w, b, m, v):
        return lib.nn.functional.instance_norm(x, m, v, w, b, momentum=0.5, eps=0.6)

    arrays = [_values(rng, (5, 5, 5)), _values(rng, 5, 1.0, 0.0), _values(rng, 5, 1.0, 0.0),
              _values(rng, 5, 1.0, 0.0), rng.random(5).astype(np.float32) + .5]
    _compare(fn, arrays, [0, 1, 2], _values(rng, (5, 5, 5), 1.0, 0.0), dtype_name, most=1)


@pytest.mark.parametrize("dtype_name", ["float16", "bfloat16"])
@pytest.mark.parametrize("shape, groups", [((1, 6, 3), 2), ((3, 6, 4, 4), 3), ((4, 8), 4)])
def test_group_norm_backward_reads_rounded_statistics(dtype_name, shape, groups):
    rng = np.random.default_rng(shape[-1] + groups)
    channels = shape[1]

    def fn(lib, x, w, b):
        return lib.nn.functional.group_norm(x, groups, w, b, eps=0.5)

    arrays = [_values(rng, shape), _values(rng, channels, 1.0, 0.0),
              _values(rng, channels, 1.0, 0.0)]
    _compare(fn, arrays, [0, 1, 2], _values(rng, shape, 1.0, 0.0), dtype_name, most=1)


@pytest.mark.parametrize("dtype_name", ["float16", "bfloat16"])
@pytest.mark.parametrize("shape", [(2, 2, 3), (4, 64), (3, 5, 16)])
def test_layer_norm_backward_reads_rounded_statistics(dtype_name, shape):
    rng = np.random.default_rng(shape[-1])
    n = shape[-1]

    def fn(lib, x, w, b):
        return lib.nn.functional.layer_norm(x, (n,), w, b, eps=1e-5)

    arrays = [_values(rng, shape), _values(rng, n, 1.0, 0.0), _values(rng, n, 1.0, 0.0)]
    # the output and the input's gradient (the weight's and bias's sums over many rows are
    # accumulated in another order by PyTorch's half kernel: not covered here)
    _compare(fn, arrays, [0, 1, 2], _values(rng, shape, 1.0, 0.0), dtype_name, most=1,
             parts=[0, 1])


def test_float32_batch_norm_unchanged_path():
    # float32 keeps its fused kernel (no half rounding): agrees with PyTorch to float32 noise
    rng = np.random.default_rng(1)
    x = _values(rng, (8, 3, 5, 5))
    outs = []
    for lib in (torch, dg):
        t = lib.tensor(x)
        outs.append(lib.nn.functional.batch_norm(t, None, None, training=True).numpy())
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-5, atol=1e-5)
