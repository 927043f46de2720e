"""Regression tests for what session 26's invalid-argument fuzzer (``s26_SL12_invalid.py``)
found: calls PyTorch refuses that deltagrad answered (often with a wrong value), and random
fills of complex tensors that drew other values. Each case runs the same expression on
deltagrad and on PyTorch: both raise, deltagrad's exception an instance of the builtin class
PyTorch's derives from, or neither does and values, dtype and shape agree."""

import builtins
import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _base(exc_type):
    for klass in exc_type.__mro__:
        if getattr(builtins, klass.__name__, None) is klass:
            return klass
    return Exception


def _run(lib, setup, expr):
    ns = {"torch": lib, "np": np}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(setup, ns)
        try:
            return None, eval(expr, ns)
        except Exception as exc:  # noqa: BLE001 - the class is what is compared
            return exc, None


def _values(t):
    t = t.detach()
    return (t.float() if str(t.dtype).endswith("bfloat16") else t).numpy()


def check(setup, expr):
    terr, tval = _run(torch, setup, expr)
    derr, dval = _run(dg, setup, expr)
    if terr is not None:
        assert derr is not None, f"{expr}: torch raises {terr!r}, deltagrad returns {dval!r}"
        assert isinstance(derr, _base(type(terr))), (expr, derr, terr)
        return
    assert derr is None, f"{expr}: deltagrad raises {derr!r}, torch returns"
    if isinstance(tval, torch.Tensor):
        assert str(dval.dtype).split(".")[-1] == str(tval.dtype).split(".")[-1], expr
        assert tuple(dval.shape) == tuple(tval.shape), expr
        np.testing.assert_allclose(_values(dval), _values(tval), rtol=1e-6, atol=1e-7,
                                   err_msg=expr)
    else:
        assert dval == tval or str(dval) == str(tval).replace("torch.", "deltagrad."), expr


# (setup, expressions): each expression is one case
CASES = {
    # factories' size argument: a bool, a tensor of dims, a keyword that is not a sequence
    "sizes": ("", [
        "torch.zeros(True)", "torch.zeros((True,))", "torch.zeros(2, True)",
        "torch.zeros(size=3)", "torch.ones(size=-1)", "torch.zeros(size=np.int64(2))",
        "torch.zeros(size=torch.tensor([2]))", "torch.empty(size=torch.tensor(3))",
        "torch.zeros(size=(True,))", "torch.zeros(size=[2, 3])",
        "torch.zeros(size=torch.Size([2, 3]))", "torch.zeros(torch.tensor(2))",
        "torch.zeros(np.int64(2))", "torch.rand(size=True)", "torch.randn(True).shape",
        "torch.full((True,), 1.0)", "torch.full((2,), 1.0)",
        "torch.arange(torch.tensor([4]))", "torch.arange(torch.tensor(4))",
        "torch.round(torch.ones(2), decimals=1.5)", "torch.round(torch.ones(2) / 3, decimals=2)",
    ]),
    # random fills of a dtype the kernel lacks (were cast draws), of an expanded tensor
    "fills": ("torch.manual_seed(0)", [
        "torch.ones(2, dtype=torch.int32).exponential_()",
        "torch.ones(2, dtype=torch.complex64).exponential_()",
        "torch.ones(2, dtype=torch.bool).cauchy_()",
        "torch.ones(2, dtype=torch.int8).log_normal_()",
        "torch.ones(2, dtype=torch.complex64).geometric_(0.5)",
        "torch.ones(2, dtype=torch.int32).geometric_(0.5)",
        "torch.ones(2, dtype=torch.complex64).bernoulli_()",
        "torch.ones(2, dtype=torch.int64).bernoulli_()",
        "torch.ones(2, dtype=torch.complex64).random_()",
        "torch.ones(2, dtype=torch.int32).normal_()", "torch.ones(2, dtype=torch.bool).uniform_()",
        "torch.ones(2, dtype=torch.float16).uniform_()",
        "torch.ones(3).expand(2, 3).random_(0, 3)", "torch.ones(3).expand(2, 3).exponential_()",
        "torch.arange(6, out=torch.ones(3).expand(2, 3))",
        "torch.linspace(0, 1, 6, out=torch.ones(3).expand(2, 3))",
    ]),
    # complex normal_ / uniform_: PyTorch fills the real view (both parts; std / sqrt(2))
    "complex_fills": ("torch.manual_seed(0)", [
        "torch.view_as_real(torch.ones(2, dtype=torch.complex64).normal_())",
        "torch.view_as_real(torch.ones(3, dtype=torch.complex128).normal_(3, 2))",
        "torch.view_as_real(torch.ones(2, dtype=torch.complex64).uniform_())",
        "torch.view_as_real(torch.ones(2, 3, dtype=torch.complex64).t().uniform_(1, 2))",
        "torch.view_as_real(torch.ones(2, 3, dtype=torch.complex64)[:, ::2].normal_())",
    ]),
    "randint_randperm": ("torch.manual_seed(0)", [
        "torch.randint(3.5, (2,))", "torch.randint(0, 5.0, (2,))",
        "torch.randint(0, torch.tensor(5.0), (2,))", "torch.randint(0, torch.tensor(5), (2,))",
        "torch.randint(np.float64(5.0), (2,))", "torch.randint_like(torch.ones(2), 5.0)",
        "torch.randint(0, 5, (2,), dtype=torch.complex64)",
        "torch.randint_like(torch.ones(2, dtype=torch.complex64), 5)",
        "torch.randperm(3.0)", "torch.randperm(True)", "torch.randperm(257, dtype=torch.uint8)",
        "torch.randperm(256, dtype=torch.uint8)", "torch.randperm(129, dtype=torch.int8)",
        "torch.randperm(3000, dtype=torch.float16)", "torch.randperm(2049, dtype=torch.float16)",
        "torch.randperm(258, dtype=torch.bfloat16).shape", "torch.randperm(3, dtype=torch.bool)",
        "torch.randperm(3, dtype=torch.complex64)", "torch.randperm(np.int64(3))",
    ]),
    "fftfreq": ("", [
        "torch.fft.fftfreq(-1)", "torch.fft.rfftfreq(-1)", "torch.fft.rfftfreq(-1, d=0)",
        "torch.fft.rfftfreq(-3)", "torch.fft.rfftfreq(-5)", "torch.fft.fftfreq(2.0)",
        "torch.fft.rfftfreq(2.0)", "torch.fft.fftfreq(torch.tensor(3))",
        "torch.fft.rfftfreq(5, 0.5)", "torch.fft.fftfreq(0)",
    ]),
    # tensor(strings, dtype=...): NumPy read 'a' as True and '1.5' as 1.5
    "strings": ("", [
        "torch.tensor(['a'], dtype=torch.bool)", "torch.tensor(['1.5'], dtype=torch.float32)",
        "torch.tensor('a', dtype=torch.bool)", "torch.as_tensor(['a'], dtype=torch.bool)",
        "torch.tensor([[1.0, 2.0]], dtype=torch.float64)", "torch.tensor([], dtype=torch.int8)",
    ]),
    # tensordot: a repeated dim was contracted twice (a wrong value), mixed dtypes promoted
    "tensordot": ("a = torch.arange(6.).reshape(2, 3); b = torch.arange(12.).reshape(3, 4)", [
        "torch.tensordot(a, a, dims=([0, -2], [0, -2]))", "torch.tensordot(a, a, dims=(0, 1))",
        "torch.tensordot(a, a, dims=([0.0], [0]))", "torch.tensordot(a, b.double(), dims=0)",
        "torch.tensordot(a, b.double(), dims=1)", "torch.tensordot(a, b, dims=([1], [0]))",
        "torch.tensordot(a, a, dims=[[0], [0]])", "torch.tensordot(a, b, dims=([1, 0], [0]))",
        "torch.tensordot(a, b, dims=([5], [0]))", "torch.tensordot(a, a, dims=([], []))",
    ]),
    "int_arguments": ("x = torch.arange(6.).reshape(2, 3)", [
        "torch.select(x, 0, 1.0)", "torch.select(x, 0, True)",
        "torch.select(x, 0, torch.tensor(1))",
        "x.select(1, -1)", "x.unfold(0, 2.0, 1)", "x.unfold(0, 1, 1.0)", "x.unfold(1, 2, 1)",
        "torch.nn.Linear(2.0, 3)", "torch.nn.Linear(2, 3.5)", "torch.nn.Linear(-1, 2)",
        "torch.nn.Linear(np.int64(2), 3).weight.shape", "torch.nn.Embedding(3.0, 2)",
        "torch.nn.Embedding(-3, 2)",
    ]),
    "index_dtypes": ("x = torch.ones(3, 2)", [
        "torch.index_reduce(x, 0, torch.tensor([0, 1], dtype=torch.uint8), x[:2], 'prod')",
        "torch.index_reduce(x, 0, torch.tensor([0, 1], dtype=torch.int16), x[:2], 'prod')",
        "torch.index_reduce(x, 0, torch.tensor([0, 1], dtype=torch.int32), 2 * x[:2], 'prod')",
        "torch.nn.functional.multi_margin_loss(torch.zeros(2, 3), "
        "torch.tensor([0, 1], dtype=torch.int32))",
        "torch.nn.functional.multi_margin_loss(torch.zeros(2, 3), torch.tensor([0.0, 1.0]))",
        "torch.nn.functional.multi_margin_loss(torch.zeros(2, 3), torch.tensor([0, 1]))",
        "torch.nn.functional.multilabel_margin_loss(torch.zeros(2, 3), "
        "torch.tensor([[0, 1, -1], [0, -1, 0]], dtype=torch.int32))",
        "torch.nn.functional.multilabel_margin_loss(torch.zeros(2, 3), "
        "torch.tensor([[0, 1, -1], [0, -1, 0]]))",
    ]),
    # a string or None as a fill value: NumPy read 'a' as True (a bool fill) or raised ValueError
    "fill_values": ("", [
        "torch.full((2,), 'a', dtype=torch.bool)", "torch.full((2,), 'a')",
        "torch.full((2,), None)",
        "torch.ones(2).new_full((2,), 'a')", "torch.ones(2, dtype=torch.bool).fill_('a')",
        "torch.ones(2).index_fill_(0, torch.tensor([0]), 'a')",
        "torch.full_like(torch.ones(2), 'a')", "torch.ones(2, dtype=torch.bool).fill_(2.5)",
        "torch.tensor([True, False]).masked_fill(torch.tensor([True, False]), 1j)",
        "torch.tensor([1, 2]).masked_fill(torch.tensor([True, False]), 1j)",
        "torch.zeros(3).repeat(torch.tensor([2]))", "torch.zeros(3).repeat(2, torch.tensor([2]))",
    ]),
    # NumPy's int32 / int64 + complex64 is complex128; PyTorch's complex64
    "join_promotion": ("", [
        "torch.cat([torch.tensor([1, 2]), torch.ones(2, dtype=torch.complex64)])",
        "torch.stack([torch.ones(2, dtype=torch.int32), torch.ones(2, dtype=torch.complex64)])",
        "torch.hstack([torch.tensor([1, 2]), torch.ones(2, dtype=torch.complex64)])",
        "torch.cat([torch.ones(2, dtype=torch.float64), torch.ones(2, dtype=torch.complex64)])",
        "torch.cat([torch.tensor([1, 2]), torch.ones(2)])",
    ]),
    # a factory's out= of another shape: written where PyTorch writes (a view of a larger
    # tensor resized in its storage; a range of the same count keeps out's shape)
    "factory_out": ("b = torch.zeros(2, 3); o = torch.zeros(2, 3)", [
        "(torch.arange(6, out=o), o)[1]", "(torch.arange(6, out=b[0]), b)[1]",
        "(torch.linspace(0, 1, 6, out=o), o)[1]", "(torch.linspace(0, 1, 6, out=b[0]), b)[1]",
        "(torch.full((2, 3), 1.0, out=b[0]), b)[1]", "(torch.zeros(6, out=o), o)[1]",
        "(torch.ones(3, out=b[:, 0]), b)[1]", "(torch.eye(2, out=b[0]), b)[1]",
        "(torch.logspace(0, 1, 6, out=o), o)[1]", "(torch.arange(2, out=b[1]), b)[1]",
        "(torch.ones(2, 2, out=b.t()), b)[1]",
    ]),
    # complex input to PyTorch's real-only functions (was computed, from NumPy's ordering of
    # complex numbers or from the real parts)
    "complex_refused": ("z = torch.tensor([[0.5, -1.25, 2.0], [1.5, 0.25, -0.75]]).to("
                        "torch.complex64); F = torch.nn.functional; S = torch.special", [
        "F.relu6(z)", "F.elu(z)", "F.selu(z)", "F.celu(z)", "F.hardtanh(z)", "F.hardswish(z)",
        "F.hardsigmoid(z)", "F.hardshrink(z)", "F.softshrink(z)", "F.leaky_relu(z)",
        "F.logsigmoid(z)", "F.softmax(z, 0)", "F.log_softmax(z, 0)", "F.softmin(z, 0)",
        "F.glu(torch.cat([z, z], 1), 1)", "F.rrelu(z)", "F.threshold(z, 0.5, 0.0)",
        "F.prelu(z, torch.ones(1, dtype=torch.complex64))", "F.mish(z)", "F.silu(z)",
        "S.entr(z)", "S.erfcx(z)", "S.i0e(z)", "S.i1(z)", "S.i1e(z)", "S.log_ndtr(z)",
        "S.ndtri(z)", "S.xlog1py(z, z)", "S.multigammaln(z, 2)", "S.bessel_j0(z)",
        "S.airy_ai(z)", "S.chebyshev_polynomial_t(z, z)", "S.hermite_polynomial_h(z, z)",
        "S.sinc(z)", "torch.mvlgamma(z, 1)", "torch.arange(0, 5, 1, dtype=torch.complex64)",
        "torch.arange(3, dtype=torch.bool)", "F.softmax(z, 0, dtype=torch.complex128)",
    ]),
}


@pytest.mark.parametrize("setup, expr", [(setup, e) for setup, exprs in CASES.values()
                                         for e in exprs],
                         ids=[f"{group}-{i}" for group, (_, exprs) in CASES.items()
                              for i in range(len(exprs))])
def test_matches_pytorch(setup, expr):
    check(setup, expr)


def test_complex_normal_fills_both_parts():
    # (was: only the real parts drawn, the imaginary parts left zero)
    dg.manual_seed(0)
    z = dg.zeros(1000, dtype=dg.complex64).normal_()
    assert float(z.imag.abs().mean()) > 0.3
    assert abs(float(z.real.std()) - 0.5 ** 0.5) < 0.05
