"""Session 27 SP37: the op table's tail (issue 18). The public functions whose argument
handling was cut (vector_norm's common call, F.pad's fill conversion, complex / polar's
broadcast check, torch.special's dtype check, F.prelu's checks, fft's dtype check, the add*
functions' input-shape check, the half-precision RNN test) must give what PyTorch gives:
values, dtypes, gradients and exception classes, on the paths they now take and on the
general paths beside them."""

import math
import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _pair(shape, dtype="float32", seed=0, low=-2.0, high=2.0):
    data = np.random.default_rng(seed).uniform(low, high, shape).astype(dtype)
    return (dg.tensor(data, requires_grad=data.dtype.kind == "f"),
            torch.tensor(data, requires_grad=data.dtype.kind == "f"))


def _same(got, want, rtol=1e-5, atol=1e-6):
    got_np, want_np = got.detach().numpy(), want.detach().numpy()
    assert got_np.shape == want_np.shape
    assert got_np.dtype == want_np.dtype
    np.testing.assert_allclose(got_np, want_np, rtol=rtol, atol=atol)


def _raises_like(call_dg, call_torch):
    with pytest.raises(Exception) as want:
        call_torch()
    base = next(k for k in type(want.value).__mro__ if k.__module__ == "builtins")
    with pytest.raises(base):
        call_dg()


# ------------------------------------------------------------------------------ vector_norm

NORM_CASES = [
    (2, None, False), (2.0, 1, False), (1, (0, 1), True), (0, -1, False), (0.5, (1,), False),
    (3.0, (0, 2), False), (math.inf, 0, True), (-math.inf, None, False), (-1, 1, False),
    (2, (), False), (2, [0, 1], False), (2, -3, False),
]


@pytest.mark.parametrize("ord_, dim, keepdim", NORM_CASES,
                         ids=[f"{o}-{d}-{k}" for o, d, k in NORM_CASES])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_vector_norm_matches(ord_, dim, keepdim, dtype):
    x, xt = _pair((2, 3, 2), dtype, seed=1)
    got = dg.linalg.vector_norm(x, ord_, dim, keepdim)
    want = torch.linalg.vector_norm(xt, ord_, dim, keepdim)
    _same(got, want)
    if ord_ != 0:
        got.sum().backward()
        want.sum().backward()
        _same(x.grad, xt.grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("ord_", [-1, math.inf, 2])
def test_vector_norm_empty(ord_):
    x, xt = dg.zeros(2, 0), torch.zeros(2, 0)
    if ord_ == 2:
        _same(dg.linalg.vector_norm(x, ord_, 1), torch.linalg.vector_norm(xt, ord_, 1))
    else:
        _raises_like(lambda: dg.linalg.vector_norm(x, ord_, 1),
                     lambda: torch.linalg.vector_norm(xt, ord_, 1))


@pytest.mark.parametrize("kwargs", [{"keepdim": 1}, {"dim": (0, 0)}, {"dim": 3},
                                    {"ord": "fro"}, {"dim": 1.5}],
                         ids=["keepdim-int", "dim-repeated", "dim-range", "ord-str", "dim-float"])
def test_vector_norm_errors(kwargs):
    x, xt = _pair((2, 3))
    _raises_like(lambda: dg.linalg.vector_norm(x, **kwargs),
                 lambda: torch.linalg.vector_norm(xt, **kwargs))


def test_vector_norm_integer_input_and_dtype():
    xi = dg.tensor([[3, 4]])
    _raises_like(lambda: dg.linalg.vector_norm(xi), lambda: torch.linalg.vector_norm(
        torch.tensor([[3, 4]])))
    x, xt = _pair((4,))
    _same(dg.linalg.vector_norm(x, dtype=dg.float64),
          torch.linalg.vector_norm(xt, dtype=torch.float64))


# -------------------------------------------------------------------------------------- pad

@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "float16"])
@pytest.mark.parametrize("value", [0.5, 0.1, 3, -0.0, None, True, 1e10],
                         ids=["half", "tenth", "int3", "negzero", "none", "true", "big"])
def test_pad_constant_fill(dtype, value):
    x, xt = _pair((2, 3), dtype, seed=2, low=-3, high=3)
    kwargs = {} if value is None else {"value": value}
    for _ in range(2):  # (the second call reads the cached conversion)
        try:
            want = torch.nn.functional.pad(xt, (1, 2), **kwargs)
        except RuntimeError:  # (1e10 into float16: out of its range)
            _raises_like(lambda: dg.nn.functional.pad(x, (1, 2), **kwargs),
                         lambda: torch.nn.functional.pad(xt, (1, 2), **kwargs))
            continue
        got = dg.nn.functional.pad(x, (1, 2), **kwargs)
        got_np, want_np = got.detach().numpy(), want.detach().numpy()
        assert got_np.dtype == want_np.dtype and got_np.shape == want_np.shape
        np.testing.assert_array_equal(got_np, want_np)
        # (the sign of a zero fill too)
        np.testing.assert_array_equal(np.signbit(got_np), np.signbit(want_np))


FILLS = [("int8", 300), ("uint8", -1), ("uint8", 255), ("int8", -128), ("int32", 2 ** 40),
         ("int64", 2 ** 70), ("int64", float("inf")), ("int64", float("nan")), ("int64", 0.5),
         ("float32", 1e300), ("float32", float("inf")), ("float16", 70000.0), ("bool", 2),
         ("bfloat16", 1e300), ("float64", 1e300)]


@pytest.mark.parametrize("dtype, value", FILLS, ids=[f"{d}-{v}" for d, v in FILLS])
def test_pad_fill_out_of_range(dtype, value):
    # PyTorch's checked conversion of the fill: out of the dtype's range is its RuntimeError
    # (the cast gave 44 for 300 into int8, 255 for -1 into uint8, inf with a warning).
    x, xt = dg.zeros(2, dtype=getattr(dg, dtype)), torch.zeros(2, dtype=getattr(torch, dtype))
    for _ in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                want = torch.nn.functional.pad(xt, (1, 0), value=value)
            except RuntimeError:
                _raises_like(lambda: dg.nn.functional.pad(x, (1, 0), value=value),
                             lambda: torch.nn.functional.pad(xt, (1, 0), value=value))
                continue
            got = dg.nn.functional.pad(x, (1, 0), value=value)
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
        np.testing.assert_array_equal(got.float().numpy(), want.float().numpy())


def test_pad_crop_and_gradient():
    x, xt = _pair((2, 4))
    for widths in [(-1, -1), (0, 0), (), (2, -1, 1, 0)]:
        got = dg.nn.functional.pad(x, widths, value=0.25)
        want = torch.nn.functional.pad(xt, widths, value=0.25)
        _same(got, want)
        x.grad, xt.grad = None, None
        (got * got).sum().backward()
        (want * want).sum().backward()
        _same(x.grad, xt.grad)


def test_pad_nan_fill():
    x, xt = _pair((3,))
    for _ in range(2):
        got = dg.nn.functional.pad(x, (1, 0), value=float("nan")).detach().numpy()
        want = torch.nn.functional.pad(xt, (1, 0), value=float("nan")).detach().numpy()
        np.testing.assert_array_equal(got, want)


# --------------------------------------------------------------------------- complex, polar

SHAPES = [((3, 1), (1, 4)), ((4,), (4,)), ((2, 3), (3,)), ((), (2,)), ((0,), (1,)),
          ((3,), (4,)), ((0,), (2,)), ((2, 3), (2, 1, 3))]


@pytest.mark.parametrize("name", ["complex", "polar"])
@pytest.mark.parametrize("shapes", SHAPES, ids=[f"{a}-{b}" for a, b in SHAPES])
def test_complex_polar_broadcast(name, shapes):
    (a, at), (b, bt) = _pair(shapes[0], seed=3), _pair(shapes[1], seed=4, low=0.1)
    call_dg = lambda: getattr(dg, name)(a, b)  # noqa: E731
    call_torch = lambda: getattr(torch, name)(at, bt)  # noqa: E731
    try:
        want = call_torch()
    except RuntimeError:
        _raises_like(call_dg, call_torch)
        return
    got = call_dg()
    _same(got, want)
    if want.numel():
        torch.view_as_real(want).sum().backward()
        dg.view_as_real(got).sum().backward()
        _same(a.grad, at.grad, rtol=1e-4, atol=1e-5)
        _same(b.grad, bt.grad, rtol=1e-4, atol=1e-5)


def test_polar_gradient_at_zero_and_negative_abs():
    # PyTorch's d/d abs is sgn(result): 0 where abs is 0, negated where abs < 0 (the rule gave
    # e^{i angle}'s part); double backward through the recorded rule too, for abs >= 0
    # (below 0, outside polar's domain, PyTorch's second derivative also differentiates sgn).
    data_t = np.array([0.3, 0.4, -0.5, 2.0])
    for data_r, second in ((np.array([0.0, 1.0, 2.0, 0.5]), True),
                           (np.array([0.0, -1.0, 2.0, -0.5]), False)):
        grads = []
        for lib in (dg, torch):
            r = lib.tensor(data_r, requires_grad=True)
            t = lib.tensor(data_t, requires_grad=True)
            out = lib.view_as_real(lib.polar(r, t))
            g_r, g_t = lib.autograd.grad((out * out * out).sum(), (r, t), create_graph=second)
            found = [g_r, g_t]
            if second:
                (g_r.sum() + (g_t * g_t).sum()).backward()
                found += [r.grad, t.grad]
            grads.append([v.detach().numpy() for v in found])
        for got, want in zip(*grads):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_complex_dtype_errors():
    a, at = _pair((2,), "float32")
    b, bt = _pair((2,), "float64")
    _raises_like(lambda: dg.complex(a, b), lambda: torch.complex(at, bt))
    i, it = dg.tensor([1, 2]), torch.tensor([1, 2])
    _raises_like(lambda: dg.polar(i, i), lambda: torch.polar(it, it))


# --------------------------------------------------------------------------- torch.special

@pytest.mark.parametrize("name", ["log_ndtr", "i0e", "i1", "erfcx", "ndtri", "entr"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_special_unary(name, dtype):
    data = np.random.default_rng(5).uniform(0.05, 0.95, (5,))
    x = dg.tensor(data).to(getattr(dg, dtype))
    xt = torch.tensor(data).to(getattr(torch, dtype))
    try:
        want = getattr(torch.special, name)(xt)
    except (NotImplementedError, RuntimeError):
        _raises_like(lambda: getattr(dg.special, name)(x),
                     lambda: getattr(torch.special, name)(xt))
        return
    got = getattr(dg.special, name)(x)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    tol = 1e-2 if dtype in ("float16", "bfloat16") else 1e-5
    np.testing.assert_allclose(got.float().numpy(), want.float().numpy(), rtol=tol, atol=tol)


def test_special_complex_and_zeta():
    z = dg.tensor([1 + 1j])
    _raises_like(lambda: dg.special.log_ndtr(z), lambda: torch.special.log_ndtr(
        torch.tensor([1 + 1j])))
    (s, st), (q, qt) = _pair((4,), "float64", 6, 2.0, 4.0), _pair((4,), "float64", 7, 0.5, 2.0)
    s, st = s.detach(), st.detach()  # (no derivative in s, in either library)
    got, want = dg.special.zeta(s, q), torch.special.zeta(st, qt)
    _same(got, want, rtol=1e-10)
    got.sum().backward()
    want.sum().backward()
    _same(q.grad, qt.grad, rtol=1e-8)
    h = dg.tensor([2.0, 3.0]).half()
    _raises_like(lambda: dg.special.zeta(h, h), lambda: torch.special.zeta(
        torch.tensor([2.0, 3.0]).half(), torch.tensor([2.0, 3.0]).half()))


# ------------------------------------------------------------------------------------ prelu

PRELU = [((3, 4), (4,)), ((2, 3, 2), (3,)), ((5,), (1,)), ((5,), ()), ((2, 3), (1,)),
         ((2, 3, 2, 2), (3,)), ((2, 1, 3), (1,))]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shapes", PRELU, ids=[f"{a}-{b}" for a, b in PRELU])
def test_prelu(shapes, dtype):
    (x, xt), (w, wt) = _pair(shapes[0], dtype, 8), _pair(shapes[1], dtype, 9, 0.1, 0.5)
    got, want = dg.nn.functional.prelu(x, w), torch.nn.functional.prelu(xt, wt)
    _same(got, want)
    assert type(got.grad_fn).__name__ == type(want.grad_fn).__name__
    (got * got).sum().backward()
    (want * want).sum().backward()
    _same(x.grad, xt.grad, rtol=1e-5)
    _same(w.grad, wt.grad, rtol=1e-5)


@pytest.mark.parametrize("case", ["weight-2d", "count", "dtype", "number", "int-input"])
def test_prelu_errors(case):
    x, xt = _pair((2, 3))
    w, wt = {
        "weight-2d": (dg.ones(3, 1), torch.ones(3, 1)),
        "count": (dg.ones(2), torch.ones(2)),
        "dtype": (dg.ones(3, dtype=dg.float64), torch.ones(3, dtype=torch.float64)),
        "number": (0.25, 0.25),
        "int-input": (dg.ones(3), torch.ones(3)),
    }[case]
    if case == "int-input":
        x, xt = dg.ones(2, 3, dtype=dg.int64), torch.ones(2, 3, dtype=torch.int64)
    _raises_like(lambda: dg.nn.functional.prelu(x, w), lambda: torch.nn.functional.prelu(xt, wt))


# ------------------------------------------------------------------ fft, add*, RNN dtypes

def test_fft_dtypes():
    x, xt = _pair((6,))
    _same(dg.fft.fft(x), torch.fft.fft(xt), rtol=1e-5, atol=1e-5)
    xc, xct = x.to(dg.complex64), xt.to(torch.complex64)
    _same(dg.fft.ifft(xc), torch.fft.ifft(xct), rtol=1e-5, atol=1e-5)
    _raises_like(lambda: dg.fft.fft(x.half()), lambda: torch.fft.fft(xt.detach().half()))


@pytest.mark.parametrize("input_shape", [(2, 3, 5), (3, 5), (1, 5), (2, 4, 5)],
                         ids=["same", "broadcast", "broadcast-rows", "bad"])
def test_baddbmm_input_shapes(input_shape):
    (i, it) = _pair(input_shape, "float64", 10)
    (a, at), (b, bt) = _pair((2, 3, 4), "float64", 11), _pair((2, 4, 5), "float64", 12)
    call_dg = lambda: dg.baddbmm(i, a, b, beta=0.5, alpha=2.0)  # noqa: E731
    call_torch = lambda: torch.baddbmm(it, at, bt, beta=0.5, alpha=2.0)  # noqa: E731
    if input_shape == (2, 4, 5):
        _raises_like(call_dg, call_torch)
        return
    got, want = call_dg(), call_torch()
    _same(got, want, rtol=1e-12)
    got.sum().backward()
    want.sum().backward()
    for g, w in ((i, it), (a, at), (b, bt)):
        _same(g.grad, w.grad, rtol=1e-12)


@pytest.mark.parametrize("mode", ["RNN", "GRU", "LSTM"])
def test_rnn_half_stepping_choice(mode):
    from deltagrad.nn import _rnn_half

    assert not _rnn_half.stepped(np.dtype(np.float32), mode)
    assert not _rnn_half.stepped(np.dtype(np.float64), mode)
    assert _rnn_half.stepped(np.dtype(np.float16), mode)
    bf16 = dg.zeros(1, dtype=dg.bfloat16)._data.dtype
    assert _rnn_half.stepped(bf16, mode) == (mode != "LSTM")


# --------------------------------------------------------------------------------- to(dtype)

@pytest.mark.parametrize("target", ["float64", "float32", "int32", "bool", "complex64",
                                    "float16"])
def test_to_dtype(target):
    x, xt = _pair((2, 3), "float32", 13)
    got, want = x.to(getattr(dg, target)), xt.to(getattr(torch, target))
    assert (got is x) == (want is xt)
    assert got.requires_grad == want.requires_grad
    assert type(got.grad_fn).__name__ == type(want.grad_fn).__name__
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    if want.requires_grad and not want.is_complex():
        got.sum().backward()
        want.sum().backward()
        _same(x.grad, xt.grad)
    meta = dg.zeros(2, device="meta").to(getattr(dg, target))
    assert meta.device.type == "meta" and str(meta.dtype) == str(got.dtype)


# ----------------------------------------------------------------------------------- var, std

@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("data", [[1e30, -1e30, 3e30], [1.0, 2.0, 4.0], [5.0]],
                         ids=["overflow", "plain", "one"])
def test_var_std_float32_silent(name, data):
    # float32 moments in float64, rounded once: an overflowing variance is inf, silently
    # (with warnings as errors too); std stays finite.
    x, xt = dg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (one value: both libraries' degrees-of-freedom note)
        warnings.simplefilter("error", RuntimeWarning)
        got, want = getattr(dg, name)(x), getattr(torch, name)(xt)
        got_dim = getattr(dg, name)(x, dim=0, keepdim=True)
        want_dim = getattr(torch, name)(xt, dim=0, keepdim=True)
    for g, w in ((got, want), (got_dim, want_dim)):
        np.testing.assert_array_equal(g.detach().numpy(), w.detach().numpy())
        assert g.dtype == dg.float32


# ------------------------------------------------------------------------ pow, fmod, logit

@pytest.mark.parametrize("expr", [
    "lib.pow(a, b)", "lib.fmod(a, b)", "lib.logit(a)", "lib.logit(a, eps=0.1)",
    "lib.pow(a, 2.5)", "lib.fmod(a, 0.0)"])
def test_silent_nan_inf(expr):
    # Values outside the domains (0 ** -1, a negative base's fractional power, fmod by 0,
    # logit at 0 and 1): nan / inf as PyTorch's, silently (warnings as errors), gradients too.
    data_a = np.array([0.0, -1.5, 1.0, 0.5, 2.0, 1e30])
    data_b = np.array([-1.0, 0.5, 0.0, 0.0, 3.0, 2.0])
    results = []
    for lib in (dg, torch):
        a = lib.tensor(data_a, requires_grad=True)
        b = lib.tensor(data_b, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = eval(expr, {"lib": lib, "a": a, "b": b})
            out.backward(lib.ones_like(out))
        results.append([out.detach().numpy(), a.grad.numpy(),
                        None if b.grad is None else b.grad.numpy()])
    for got, want in zip(*results):
        if want is None:
            assert got is None
        else:
            np.testing.assert_allclose(got, want, rtol=1e-10, equal_nan=True)


# ------------------------------------------------------------------------- FFT node names

def test_fft_node_names():
    # The primitives' nodes are named by node_names._FIXED (no name_node per call), also the
    # ones a rule records for double backward (their default name was FftC2cBackward0).
    def names(lib):
        x = lib.tensor(np.arange(6.0), requires_grad=True)
        z = x.to(lib.complex128)
        found = {type(f(z if c else x).grad_fn).__name__ for f, c in (
            (lib.fft.fft, True), (lib.fft.rfft, False), (lib.fft.irfft, True),
            (lambda t: lib._fft_c2c(t, [0], 1, False), True))}
        g, = lib.autograd.grad((lib.view_as_real(lib.fft.rfft(x)) ** 2).sum(), x,
                               create_graph=True)
        seen, stack, recorded = set(), [g.grad_fn], set()
        while stack:
            f = stack.pop()
            if f is not None and id(f) not in seen:
                seen.add(id(f))
                recorded.add(type(f).__name__)
                stack.extend(n for n, _ in f.next_functions)
        return found, {n for n in recorded if n.startswith("Fft")}

    (found, recorded), (want_found, want_recorded) = names(dg), names(torch)
    assert found == want_found
    assert recorded and recorded <= want_recorded
