"""Differences the session-20 fuzzer families (``s20_SL5_families.py``) found, fixed: each test
runs the same code on deltagrad and PyTorch and compares values (bit for bit in half
precision), dtypes, shapes, gradients and exception classes."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402


def _np(t):
    t = t.detach()
    return (t.float() if str(t.dtype).endswith("bfloat16") else t).numpy()


def _same(ref, got, exact=True):
    assert str(got.dtype).rsplit(".", 1)[-1] == str(ref.dtype).rsplit(".", 1)[-1]
    assert tuple(got.shape) == tuple(ref.shape)
    if exact:
        np.testing.assert_array_equal(_np(got), _np(ref))
    else:
        np.testing.assert_allclose(_np(got), _np(ref), rtol=2e-6, atol=1e-6)


def _both(fn):
    return fn(torch), fn(dg)


# -- writes through z.real / z.imag of a tensor in the graph reach its graph -----------------

@pytest.mark.parametrize("write", [
    "z.imag.mul_(2)", "z.real.mul_(2)", "z.imag[1:].add_(5)", "z.real.copy_(w.real * 3)",
    "z.imag.copy_(w.real * w.imag)", "z.real[::2].zero_()",
])
def test_part_writes_of_a_graph_tensor_keep_their_gradient(write):
    def run(lib):
        w = lib.tensor([1 + 2j, 3 - 1j, -0.5 + 0.25j], dtype=lib.complex128, requires_grad=True)
        z = w * 1
        exec(write, {"z": z, "w": w})
        (z.abs() * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)).sum().backward()
        return z, w.grad
    (rz, rg), (gz, gg) = _both(run)
    _same(rz, gz, exact=False)
    _same(rg, gg, exact=False)


def test_a_part_taken_before_its_base_changes_follows_it():
    def run(lib):
        w = lib.tensor([1 + 2j, 3 - 1j], requires_grad=True)
        z = w * 1
        r = z.real
        z.mul_(1j)
        (r.sum() + z.abs().sum()).backward()
        return r, w.grad, r._base is z
    (rr, rg, rb), (gr, gg, gb) = _both(run)
    _same(rr, gr, exact=False)
    _same(rg, gg, exact=False)
    assert rb and gb


def test_part_write_into_a_leaf_that_requires_grad_raises():
    for lib in (torch, dg):
        z = lib.tensor([1 + 2j], requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable"):
            z.real.mul_(2)


# -- embedding_bag with include_last_offset: the last bag ends at the last offset ------------

_IDS, _PSW = [0, 2, 3, 1, 5], [1.5, -2.0, 0.5, 3.0, 0.25]


def _bag(lib, offsets, weighted):
    weight = lib.tensor(np.arange(12.0).reshape(6, 2) - 5.5, dtype=lib.float32,
                        requires_grad=True)
    psw = lib.tensor(_PSW, requires_grad=True) if weighted else None
    out = lib.nn.functional.embedding_bag(lib.tensor(_IDS), weight, lib.tensor(offsets),
                                          mode="sum", include_last_offset=True,
                                          per_sample_weights=psw)
    (out * lib.arange(1.0, out.numel() + 1).reshape(out.shape)).sum().backward()
    return out, weight.grad, psw.grad if weighted else weight.grad


@pytest.mark.parametrize("offsets", [[0, 1], [0, 2, 3], [0, 0, 1], [0, 1, 1], [0, 2, 5]])
@pytest.mark.parametrize("weighted", [False, True])
def test_embedding_bag_sum_stops_at_the_last_offset(offsets, weighted):
    # Bag i is ids[offsets[i]:offsets[i + 1]]; ids past the last offset take no part (PyTorch's
    # float32 sum agrees; its other kernels read past it, and its backward fills those rows
    # from uninitialised memory, so PyTorch is compared on the documented form alone, the
    # input's length last).
    out, wgrad, pgrad = _bag(dg, offsets, weighted)
    table = np.arange(12.0).reshape(6, 2) - 5.5
    scale = np.array(_PSW) if weighted else np.ones(5)
    want = [sum((table[_IDS[k]] * scale[k] for k in range(a, b)), np.zeros(2))
            for a, b in zip(offsets, offsets[1:])]
    np.testing.assert_allclose(out.detach().numpy(), np.array(want, np.float32), rtol=1e-6)
    if weighted:
        assert not pgrad.numpy()[offsets[-1]:].any()
    if offsets[-1] == len(_IDS):
        for ref, got in zip(_bag(torch, offsets, weighted), (out, wgrad, pgrad)):
            _same(ref, got)


def test_embedding_bag_last_offset_past_the_input_raises():
    for lib in (torch, dg):
        with pytest.raises(RuntimeError, match="offsets\\[-1\\]"):
            lib.nn.functional.embedding_bag(lib.tensor([0, 1]), lib.ones(3, 2),
                                            lib.tensor([0, 3]), include_last_offset=True)


# -- logsumexp(dim=()) -------------------------------------------------------------------------

def test_logsumexp_empty_dims():
    def run(lib):
        x = lib.tensor([[-0.5, 0.25, 2.0], [1.0, -1.5, 0.75]], requires_grad=True)
        y = lib.logsumexp(x, dim=(), keepdim=True)
        y.sum().backward()
        return y, x.grad
    for ref, got in zip(*_both(run)):
        _same(ref, got, exact=False)
    for lib in (torch, dg):
        with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
            lib.logsumexp(lib.ones(2, 3), dim=())


# -- half precision: PyTorch's roundings, bit for bit ------------------------------------------

def _half_inputs(seed, count=40):
    rng = np.random.default_rng(seed)
    for i in range(count):
        shape = [(int(rng.integers(1, 7)), int(rng.integers(1, 9))), (int(rng.integers(1, 9)),),
                 (int(rng.integers(1, 5)), 1, 3), (int(rng.integers(2, 6)), 1)][i % 4]
        yield (rng.standard_normal(shape) * rng.choice([0.01, 1.0, 8.0])).astype(np.float32)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp", "prod", "prod_all",
                                  "logit", "logit_eps"])
def test_half_precision_results_are_pytorchs(name, dtype):
    def call(lib, x, d):
        if name == "prod_all":
            return x.prod()
        if name == "logit":
            return x.sigmoid().logit()
        if name == "logit_eps":
            return x.sigmoid().logit(eps=0.2)
        return getattr(lib, name)(x, d)
    for values in _half_inputs(sum(map(ord, name))):
        for d in range(-values.ndim, values.ndim):
            ref = call(torch, torch.tensor(values).to(getattr(torch, dtype)), d)
            got = call(dg, dg.tensor(values).to(getattr(dg, dtype)), d)
            _same(ref, got)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_softmax_gradient_still_flows(dtype):
    def run(lib):
        x = lib.tensor([[0.5, -1.25], [2.0, 0.75], [0.0, 1.0]]).to(getattr(lib, dtype))
        x.requires_grad_()
        y = lib.softmax(x, 0)
        (y * lib.tensor([[1.0, 2.0], [3.0, -1.0], [0.5, 0.25]]).to(y.dtype)).sum().backward()
        return y, x.grad
    for ref, got in zip(*_both(run)):
        _same(ref, got)


def test_bfloat16_logcumsumexp_and_random_():
    def run(lib):
        x = lib.tensor([0.1, 0.5, 2.0, -1.0]).bfloat16().requires_grad_()
        y = lib.logcumsumexp(x, 0)
        y.sum().backward()
        lib.manual_seed(7)
        r = lib.empty(6, dtype=lib.bfloat16).random_()
        g = lib.Generator().manual_seed(3)
        s = lib.empty(5, dtype=lib.bfloat16).random_(generator=g)
        return y, x.grad, r, s
    for ref, got in zip(*_both(run)):
        _same(ref, got)


# -- sgn of complex tensors that require grad --------------------------------------------------

@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_complex_sgn_gradient(dtype):
    def run(lib):
        z = lib.tensor([1 + 2j, 0j, -3 + 0.5j, 0.2 - 1j], dtype=getattr(lib, dtype),
                       requires_grad=True)
        s = lib.sgn(z)
        w = lib.tensor([0.3 + 1j, 2 - 1j, -1 + 0.5j, 1 + 1j], dtype=getattr(lib, dtype))
        ((s * w).real.sum() + (s.imag ** 2).sum()).backward()
        return s, z.grad
    for ref, got in zip(*_both(run)):
        _same(ref, got, exact=False)


# -- conv_transpose with a 1-wide kernel and output_padding: its backward raised ---------------

@pytest.mark.parametrize("kind, kw, shape", [
    ("ConvTranspose1d", dict(dilation=2, output_padding=1, groups=2, bias=False), (2, 2, 4)),
    ("ConvTranspose2d", dict(dilation=2, output_padding=1, bias=False), (1, 2, 3, 2)),
    ("ConvTranspose2d", dict(dilation=(1, 3), output_padding=(0, 2)), (2, 2, 2, 3)),
])
def test_conv_transpose_one_wide_kernel_with_output_padding(kind, kw, shape):
    def run(lib):
        lib.manual_seed(416)
        m = getattr(lib.nn, kind)(2, 2, 1, **kw, dtype=lib.float64)
        x = lib.tensor(np.arange(float(np.prod(shape))).reshape(shape) / 7 - 1,
                       dtype=lib.float64, requires_grad=True)
        y = m(x)
        (y * lib.arange(float(y.numel()), dtype=lib.float64).reshape(y.shape)).sum().backward()
        return y, x.grad, m.weight.grad
    for ref, got in zip(*_both(run)):
        _same(ref, got, exact=False)


# -- logsumexp of complex tensors that require grad (raised NotImplementedError) --------------

@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_complex_logsumexp_gradient(dtype, keepdim):
    z = [[0.3 + 1j, -0.5 + 0.2j, 1.2 - 0.7j], [0.1 - 0.3j, 2.0 + 0.5j, -1 + 1j]]

    def run(lib):
        t = lib.tensor(z, dtype=getattr(lib, dtype), requires_grad=True)
        y = lib.logsumexp(t, 1, keepdim=keepdim)
        (y.abs().sum() + y.real.sum()).backward()
        return y, t.grad
    for ref, got in zip(*_both(run)):
        _same(ref, got, exact=False)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_prod_of_one_element_is_a_writable_tensor(dtype):
    def run(lib):
        y = (lib.tensor([-0.21]) * 0.01).to(getattr(lib, dtype)).prod(0)
        y.clamp_(3.0, None)
        return y, (lib.tensor([[1.5], [2.0]]).to(getattr(lib, dtype))).prod(1, keepdim=True)
    for ref, got in zip(*_both(run)):
        _same(ref, got)
