"""torch.testing and torch.autograd's checkers as test suites use them (PR19, session 28):
assert_close's default tolerances per dtype, rtol / atol pairs, equal_nan, check_dtype /
check_stride / check_layout, Python numbers / lists / NumPy arrays / containers against
tensors, the full text of its AssertionError; make_tensor's ranges, dtypes, flags and stream;
gradcheck / gradgradcheck with their failures (GradcheckError's text, raise_exception=False,
nondet_tol, check_undefined_grad, fast_mode); allclose / equal / isclose corners; dtype
parametrization and manual_seed fixtures. Run by prog_s28_PR19_all.py.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put
from prog_s28_PR19_common import expect, text
from torch.autograd import gradcheck, gradgradcheck
from torch.autograd.gradcheck import GradcheckError
from torch.testing import assert_close, make_tensor


def _report(label, actual, expected, **kwargs) -> None:
    try:
        assert_close(actual, expected, **kwargs)
        print(label, "passed")
    except (AssertionError, TypeError, ValueError) as error:
        print(label, type(error).__name__)
        print(text(error))


def section_assert_close_dtypes() -> None:
    with printed("acd.log"):
        base = torch.tensor([1.0, 2.0, 3.0])
        for dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64,
                      torch.complex64):
            x = base.to(dtype)
            for step in (1e-7, 1e-5, 1e-3, 1e-2):
                _report(f"{dtype} +{step}", x, (base + step).to(dtype))
        _report("int", torch.tensor([1, 2]), torch.tensor([1, 4]))
        _report("uint8", torch.tensor([1], dtype=torch.uint8), torch.tensor([3], dtype=torch.uint8))
        _report("bool", torch.tensor([True, False]), torch.tensor([True, True]))
        _report("bf16 vs f32", base.bfloat16(), base + 0.1)
        _report("bf16 vs f32 no dtype", base.bfloat16(), base + 0.1, check_dtype=False)
        _report("f16 vs bf16", base.half(), base.bfloat16(), check_dtype=False)
        _report("f32 vs f64", base, base.double() + 1e-6, check_dtype=False)
        _report("scalar tensor", torch.tensor(2.0), torch.tensor(3.0))
        _report("bf16 scalar", torch.tensor(1.0).bfloat16(), torch.tensor(1.1).bfloat16())
        _report("2d", torch.zeros(2, 3), torch.eye(2, 3))
        _report("big", torch.arange(100.0).reshape(10, 10),
                torch.arange(100.0).reshape(10, 10) * 1.001)
        _report("zero expected", torch.tensor([0.0]), torch.tensor([1e-3]))
        _report("complex", torch.tensor([1 + 1j]), torch.tensor([1 + 2j]))
        _report("inf", torch.tensor([math.inf]), torch.tensor([-math.inf]))
        _report("nan vs 1", torch.tensor([math.nan]), torch.tensor([1.0]))


def section_assert_close_options() -> None:
    with printed("aco.log"):
        a = torch.tensor([1.0, 2.0, 3.0])
        _report("atol only", a, a, atol=1e-3)
        _report("rtol only", a, a, rtol=1e-3)
        _report("tols fail", a, a + 0.01, rtol=0, atol=1e-3)
        _report("tols pass", a, a + 0.01, rtol=0, atol=0.02)
        _report("rtol pass", a, a * 1.001, rtol=2e-3, atol=0)
        _report("nan", torch.tensor([math.nan, 1.0]), torch.tensor([math.nan, 1.0]))
        _report("equal_nan", torch.tensor([math.nan, 1.0]), torch.tensor([math.nan, 1.0]),
                equal_nan=True)
        _report("dtype", a, a.double())
        _report("check_dtype", a, a.double(), check_dtype=False)
        _report("shape", a, a[None])
        _report("numel", a, a[:2])
        _report("stride", torch.ones(2, 3).t(), torch.ones(3, 2), check_stride=True)
        _report("stride off", torch.ones(2, 3).t(), torch.ones(3, 2))
        _report("layout", a.to_sparse(), a)
        _report("layout off", a.to_sparse(), a, check_layout=False)
        _report("device", a, a, check_device=True)
        _report("msg", a, a + 1, msg="custom failure")
        _report("msg fn", a, a + 1, msg=lambda m: "wrapped: " + m.splitlines()[0])
        _report("grad", a.clone().requires_grad_(), a + 1)
        _report("grad ok", a.clone().requires_grad_(), a)
        _report("param", nn.Parameter(a.clone()), a)


def section_assert_close_kinds() -> None:
    with printed("ack.log"):
        a = torch.tensor([1.0, 2.0, 3.0])
        _report("floats", 1.0, 1.1)
        _report("ints", 1, 2)
        _report("int float", 1, 1.0)
        _report("tensor number", torch.tensor(1.0), 1.0)
        _report("lists", [1.0, 2.0], [1.0, 2.5])
        _report("tensor list", a, [1.0, 2.0, 3.0])
        _report("tensor ndarray", a, np.array([1.0, 2.0, 3.0], dtype=np.float32))
        _report("ndarrays", np.array([1.0, 2.0]), np.array([1.0, 2.1]))
        _report("dict", {"a": a, "b": [a, a]}, {"a": a, "b": [a, a + 1]})
        _report("dict keys", {"a": a}, {"b": a})
        _report("lengths", [a], [a, a])
        _report("string", a, "x")
        _report("none", None, None)
        _report("tuple list", (a, 1), [a, 1])
        _report("nested", [[a]], [[a * 2]])
        _report("bools", True, False)
        _report("big ints", 2 ** 40, 2 ** 40 + 1)
        _report("tiny floats", 1e-10, 2e-10)


def section_make_tensor() -> None:
    with printed("mkt.log"):
        torch.manual_seed(28)
        t = make_tensor((2, 3), dtype=torch.float32, device="cpu")
        print("default", t, t.dtype)
        print("low high", make_tensor((4,), dtype=torch.float64, device="cpu", low=-1, high=1))
        print("int", make_tensor((6,), dtype=torch.int64, device="cpu"))
        print("int range", make_tensor((6,), dtype=torch.int64, device="cpu", low=0, high=3))
        print("uint8", make_tensor((6,), dtype=torch.uint8, device="cpu"))
        print("bool", make_tensor((6,), dtype=torch.bool, device="cpu"))
        print("complex", make_tensor((2,), dtype=torch.complex64, device="cpu"))
        nz = make_tensor((8,), dtype=torch.int64, device="cpu", low=-2, high=2, exclude_zero=True)
        print("exclude_zero", nz, bool((nz != 0).all()))
        nc = make_tensor((2, 3), dtype=torch.float32, device="cpu", noncontiguous=True)
        print("noncontiguous", nc.is_contiguous(), tuple(nc.shape))
        rg = make_tensor((2,), dtype=torch.float32, device="cpu", requires_grad=True)
        print("requires_grad", rg.requires_grad, rg.is_leaf)
        print("half", make_tensor((3,), dtype=torch.float16, device="cpu"))
        print("scalar", make_tensor((), dtype=torch.float32, device="cpu").shape)
        print("varargs", make_tensor(2, 3, dtype=torch.float64, device="cpu").shape)
        cl = make_tensor((2, 2, 2, 2), dtype=torch.float32, device="cpu",
                         memory_format=torch.channels_last)
        print("channels_last", cl.stride())
        expect("int grad", ValueError, "`requires_grad=True` is not supported for boolean and "
               "integral dtypes", lambda: make_tensor((2,), dtype=torch.int64, device="cpu",
                                                      requires_grad=True))
        expect("low > high", ValueError, "`low` must be less than `high`",
               lambda: make_tensor((2,), dtype=torch.float32, device="cpu", low=2, high=1))
        expect("nan", ValueError, "`low` and `high` cannot be NaN",
               lambda: make_tensor((2,), dtype=torch.float32, device="cpu", low=math.nan))
        torch.manual_seed(28)
        again = make_tensor((2, 3), dtype=torch.float32, device="cpu")
        print("stream replay", torch.equal(t, again), torch.rand(2))
        put("mkt.t", t)


class _Bad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return grad * 3


class _NoneGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return None


def section_gradcheck() -> None:
    with printed("gck.log", warnings_too=False):  # (torch's forward-AD check warns of its jit)
        torch.manual_seed(29)
        x = torch.randn(3, dtype=torch.float64, requires_grad=True)
        y = torch.randn(3, dtype=torch.float64, requires_grad=True)
        print("sin", gradcheck(torch.sin, (x,)))
        print("two inputs", gradcheck(lambda a, b: (a * b, a + b), (x, y)))
        print("eps", gradcheck(torch.tanh, (x,), eps=1e-6, atol=1e-4, rtol=1e-3))
        print("nondet", gradcheck(torch.sin, (x,), nondet_tol=1e-12))
        print("undefined", gradcheck(torch.exp, (x,), check_undefined_grad=True))
        print("fast", gradcheck(torch.sin, (x,), fast_mode=True))
        print("forward ad", gradcheck(torch.sin, (x,), check_forward_ad=True))
        print("softplus", gradcheck(F.softplus, (x,)))
        print("module", gradcheck(nn.Linear(2, 2).double(),
                                  (torch.randn(1, 2, dtype=torch.float64, requires_grad=True),)))
        print("bad no raise", gradcheck(_Bad.apply, (x,), raise_exception=False))
        try:
            gradcheck(_Bad.apply, (x,))
        except GradcheckError as error:
            print("GradcheckError", isinstance(error, RuntimeError))
            print(text(error, 7))  # (deltagrad adds a summary line after these)
        expect("bad regex", RuntimeError, "Jacobian mismatch for output 0 with respect to input 0",
               lambda: gradcheck(_Bad.apply, (x,)))
        expect("fast regex", RuntimeError, "Jacobian mismatch for output 0 with respect to input 0",
               lambda: gradcheck(_Bad.apply, (x,), fast_mode=True))
        expect("none grad", RuntimeError, "Jacobian mismatch",
               lambda: gradcheck(_NoneGrad.apply, (x,)))
        expect("no input", ValueError, "gradcheck expects at least one input tensor to require "
               "gradient, but none of them have requires_grad=True",
               lambda: gradcheck(torch.sin, (x.detach(),)))
        print("gradgrad", gradgradcheck(torch.sin, (x,)))
        print("gradgrad fast", gradgradcheck(torch.tanh, (x,), fast_mode=True))
        print("gradgrad bad", gradgradcheck(_Bad.apply, (x,), raise_exception=False))
        expect("both off", AssertionError, "Expected at least one of check_forward_ad or "
               "check_backward_ad to be True",
               lambda: gradcheck(torch.sin, (x,), check_backward_ad=False))


def section_close_equal() -> None:
    with printed("ceq.log"):
        nan, inf = math.nan, math.inf
        a = torch.tensor([1.0, 2.0, 3.0])
        print("allclose nan", torch.allclose(torch.tensor([nan]), torch.tensor([nan])),
              torch.allclose(torch.tensor([nan]), torch.tensor([nan]), equal_nan=True))
        print("allclose inf", torch.allclose(torch.tensor([inf]), torch.tensor([inf])),
              torch.allclose(torch.tensor([inf]), torch.tensor([-inf])))
        print("allclose bcast", torch.allclose(a, torch.tensor(1.0)),
              torch.allclose(torch.ones(3), torch.tensor(1.0)))
        print("allclose int", torch.allclose(torch.tensor([1]), torch.tensor([1])),
              torch.allclose(torch.tensor([True]), torch.tensor([True])))
        print("allclose tols", torch.allclose(a, a + 1e-5), torch.allclose(a, a + 1e-3),
              torch.allclose(a, a + 1e-3, atol=1e-2), torch.allclose(a, a * 1.01, rtol=0.02))
        expect("allclose dtype", RuntimeError, "Float did not match Double",
               lambda: torch.allclose(a, a.double()))
        expect("isclose dtype", RuntimeError, "Long did not match Float",
               lambda: torch.isclose(torch.tensor([1]), torch.tensor([1.0])))
        expect("allclose shape", RuntimeError, r"The size of tensor a \(3\) must match the size "
               r"of tensor b \(2\)", lambda: torch.allclose(a, torch.ones(2)))
        expect("isclose rtol", RuntimeError, "rtol must be greater than or equal to zero, but got "
               "-1$", lambda: torch.isclose(a, a, rtol=-1))
        expect("isclose atol", RuntimeError, "atol must be greater than or equal to zero",
               lambda: torch.isclose(a, a, atol=-0.5))
        print("isclose", torch.isclose(torch.tensor([inf, -inf, nan, 1.0]),
                                       torch.tensor([inf, inf, nan, 1.0 + 1e-9]), equal_nan=True))
        print("isclose bool", torch.isclose(torch.tensor([True]), torch.tensor([False])))
        print("isclose complex", torch.isclose(torch.tensor([1 + 1j]),
                                               torch.tensor([1 + 1.00000001j])))
        print("equal", torch.equal(a, a.clone()), torch.equal(a, a.double()),
              torch.equal(a, a[:2]), torch.equal(torch.tensor([nan]), torch.tensor([nan])),
              torch.equal(torch.tensor([1]), torch.tensor([1.0])),
              torch.equal(torch.ones(2, 1), torch.ones(2)),
              torch.equal(torch.ones(0), torch.ones(0, 2)))
        print("eq all", (a == a.clone()).all().item(), a.eq(a).all().item(),
              a.equal(a), a.allclose(a + 1e-9))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def _case_softmax(dtype):
    x = torch.linspace(-2, 2, 6, dtype=dtype).reshape(2, 3)
    out = x.softmax(-1)
    assert out.dtype == dtype
    assert_close(out.sum(-1), torch.ones(2, dtype=dtype))
    return out


def section_parametrize() -> None:
    with printed("prm.log"):
        marks = _case_softmax.pytestmark
        print("marks", [m.name for m in marks], [str(v) for v in marks[0].args[1]])
        for dtype in marks[0].args[1]:
            out = _case_softmax(dtype)
            print(dtype, out.float().sum().item() == out.float().sum().item(), out.dtype)
        dtypes = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64,
                  torch.int32, torch.uint8, torch.bool, torch.complex64]
        for dtype in dtypes:
            x = torch.tensor([1, 0, 3]).to(dtype)
            for name, op in (("abs", torch.abs), ("neg", torch.neg), ("exp", torch.exp),
                             ("sum", torch.sum), ("cumsum", lambda t: t.cumsum(0)),
                             ("mean", torch.mean), ("sqrt", torch.sqrt), ("relu", torch.relu),
                             ("argmax", torch.argmax), ("sort", lambda t: t.sort().values)):
                try:
                    r = op(x)
                    print(dtype, name, r.dtype, r.shape)
                except (RuntimeError, TypeError) as error:
                    print(dtype, name, type(error).__name__, "not implemented for" in str(error)
                          or "not supported" in str(error) or "is not supported" in str(error))


def section_seed_fixture() -> None:
    with printed("sdf.log"):
        def fixture(seed=0):
            torch.manual_seed(seed)
            np.random.seed(seed)
            return torch.Generator().manual_seed(seed)

        gen = fixture(7)
        first = (torch.randn(3), torch.rand(2, generator=gen), torch.randint(0, 9, (4,)),
                 torch.randperm(5))
        gen = fixture(7)
        second = (torch.randn(3), torch.rand(2, generator=gen), torch.randint(0, 9, (4,)),
                  torch.randperm(5))
        print("replayed", all(torch.equal(a, b) for a, b in zip(first, second)))
        print("values", *first)
        fixture(0)
        model = nn.Linear(3, 2)
        print("init", model.weight, model.bias)
        state = torch.get_rng_state()
        draw = torch.randn(2)
        torch.set_rng_state(state)
        print("state", torch.equal(draw, torch.randn(2)), torch.initial_seed())
        with torch.random.fork_rng():
            torch.manual_seed(99)
            inner = torch.rand(1)
        print("fork", inner, torch.rand(1))
        torch.manual_seed(3)
        drop = nn.Dropout(0.5)
        print("dropout", drop(torch.ones(8)))
        put("sdf.w", model.weight)


SECTIONS = {"assert_close_dtypes": section_assert_close_dtypes,
            "assert_close_options": section_assert_close_options,
            "assert_close_kinds": section_assert_close_kinds, "make_tensor": section_make_tensor,
            "gradcheck": section_gradcheck, "close_equal": section_close_equal,
            "parametrize": section_parametrize, "seed_fixture": section_seed_fixture}
