"""BatchNorm modules in eval mode take nn/_batch_norm_eval.py's direct path (SP30, session 25):
the same bits as the general ``_batch_norm`` path and as PyTorch, the same node under grad,
and the general path (its errors, casts, parametrizations) wherever the direct one does not
apply."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.nn import _batch_norm_eval as direct
from deltagrad.nn import normalization as N
from deltagrad.nn.utils import parametrize


def _bits(a):
    a = np.ascontiguousarray(a.detach().numpy() if isinstance(a, dg.Tensor) else a)
    return a.view(np.int64 if a.dtype == np.float64 else np.int32)


def _module(cls, channels, dtype, seed, **kw):
    rng = np.random.default_rng(seed)
    m = cls(channels, dtype=dtype, **kw).eval()
    with dg.no_grad():
        for name in ("running_mean", "running_var", "weight", "bias"):
            t = getattr(m, name)
            if t is not None:
                values = rng.standard_normal(channels)
                t.copy_(dg.from_numpy(np.abs(values) if name == "running_var" else values))
    return m


def _general(m, x):
    return N._batch_norm(x, m.running_mean, m.running_var, m.weight, m.bias, False, m.eps,
                         None)


CASES = [
    (dg.nn.BatchNorm1d, (4, 3), {}),
    (dg.nn.BatchNorm1d, (2, 3, 5), {"affine": False}),
    (dg.nn.BatchNorm2d, (2, 3, 4, 5), {}),
    (dg.nn.BatchNorm2d, (1, 3, 4, 4), {"bias": False}),
    (dg.nn.BatchNorm3d, (1, 3, 2, 3, 2), {"eps": 0.0}),
    (dg.nn.SyncBatchNorm, (2, 3, 4), {}),
]


@pytest.mark.parametrize("dtype", [dg.float32, dg.float64])
@pytest.mark.parametrize("cls, shape, kw", CASES)
def test_direct_path_bits_and_node(cls, shape, kw, dtype, monkeypatch):
    m = _module(cls, shape[1], dtype, 0, **kw)
    x = dg.randn(*shape, dtype=dtype)
    x._data.flat[0] = np.nan
    m.running_var._data[1] = np.nan  # (NaN sign bits as the general path's)
    expected = _general(m, x)
    x.requires_grad_(True)
    grads = dg.autograd.grad(_general(m, x).sum(), x)[0]
    # the general path is not reached in eval: the direct one answers
    monkeypatch.setattr(N, "_batch_norm", None)
    with dg.no_grad():
        out = m(x.detach())
    assert out.dtype == dtype and out.shape == x.shape and not out.requires_grad
    assert (_bits(out) == _bits(expected)).all()
    y = m(x)  # grad on: the eval op's node
    assert type(y.grad_fn).__name__ == "NativeBatchNormBackward0"
    assert (_bits(dg.autograd.grad(y.sum(), x)[0]) == _bits(grads)).all()


def test_channels_last_and_fresh_statistics():
    m = _module(dg.nn.BatchNorm2d, 4, dg.float32, 1)
    x = dg.randn(2, 4, 3, 3).to(memory_format=dg.channels_last)
    with dg.no_grad():
        out = m(x)
        assert out.is_contiguous(memory_format=dg.channels_last)
        assert (_bits(out) == _bits(_general(m, x))).all()
        m.running_mean.numpy()[:] = 5.0  # (written through .numpy(): read on each call)
        again = m(x)
    assert (_bits(again) == _bits(_general(m, x))).all()
    assert not np.array_equal(again.numpy(), out.numpy())


def test_against_pytorch():
    torch = pytest.importorskip("torch")
    m = _module(dg.nn.BatchNorm2d, 5, dg.float32, 2)
    ref = torch.nn.BatchNorm2d(5).eval()
    ref.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                         for k, v in m.state_dict().items()})
    x = np.random.default_rng(3).standard_normal((2, 5, 4, 4)).astype(np.float32)
    with dg.no_grad():
        out = m(dg.from_numpy(x)).numpy()
    with torch.no_grad():
        expected = ref(torch.from_numpy(x)).numpy()
    # (a difference PyTorch's eval kernel had before SP30 too: 69% of these values
    # bit-equal, the rest 1 ulp off; the general path's bits are the direct path's)
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)


def test_general_path_where_direct_does_not_apply(monkeypatch):
    calls = []
    general = N._batch_norm

    def spy(*args):
        calls.append(1)
        return general(*args)

    monkeypatch.setattr(N, "_batch_norm", spy)
    x = dg.randn(2, 3, 4, 4)
    half = _module(dg.nn.BatchNorm2d, 3, dg.float16, 4)  # (float16: float32 opmath)
    assert half(x.half()).dtype == dg.float16
    mixed = _module(dg.nn.BatchNorm2d, 3, dg.float64, 4)  # (float32 input, float64 stats)
    with pytest.raises(RuntimeError, match=r"mixed dtype \(CPU\)"):  # (PyTorch's, s29 NF1)
        mixed(x)
    untracked = dg.nn.BatchNorm2d(3, track_running_stats=False).eval()  # batch statistics
    assert abs(float(untracked(x).detach().mean())) < 1e-5
    negative = dg.nn.BatchNorm2d(3, eps=-1.0).eval()
    with pytest.raises(ValueError, match="non-negative"):
        negative(x)
    wrong = dg.nn.BatchNorm2d(3).eval()
    wrong.running_mean = dg.zeros(4)
    with pytest.raises(Exception, match="running_mean of shape"):
        wrong(x)
    assert len(calls) == 5


def test_parametrized_and_property_subclasses():
    m = _module(dg.nn.BatchNorm2d, 3, dg.float32, 5)
    x = dg.randn(1, 3, 2, 2)

    class Double(dg.nn.Module):
        def forward(self, w):
            return w * 2

    with dg.no_grad():
        plain_weight = m.weight.detach().clone()
        parametrize.register_parametrization(m, "weight", Double())
        out = m(x)
        ref = N._batch_norm(x, m.running_mean, m.running_var, plain_weight * 2, m.bias, False,
                            m.eps, None)
    assert (_bits(out) == _bits(ref)).all()

    class Shadowed(dg.nn.BatchNorm1d):  # a class property over a registry's name
        @property
        def running_mean(self):
            return None

    assert direct._plain(dg.nn.BatchNorm2d) and not direct._plain(Shadowed)
    assert direct._PLAIN[Shadowed] is False and direct._PLAIN[type(m)] is False
