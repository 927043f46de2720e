"""``deltagrad.testing`` against ``torch.testing``: assert_close's verdicts and messages, and
make_tensor's shapes, dtypes, ranges and errors."""

import math

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.testing import assert_close, make_tensor

torch = pytest.importorskip("torch")

nan, inf = math.nan, math.inf

CASES = {
    "close": lambda m: (m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0 + 1e-6])),
    "not close": lambda m: (m.tensor([1.0, 2.0, 3.0]), m.tensor([1.0, 2.5, 3.0])),
    "2-d index": lambda m: (m.tensor([[1.0, 2.0], [3.0, 4.0]]), m.tensor([[1.0, 2.0], [3., 5.]])),
    "only mismatches count": lambda m: (m.tensor([0.0, 1.0]), m.tensor([1e-9, 2.0])),
    "dtype": lambda m: (m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0], dtype=m.float64)),
    "int vs float": lambda m: (m.tensor([1, 2]), m.tensor([1.0, 2.0])),
    "shape": lambda m: (m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0, 3.0])),
    "0-d vs 1-d": lambda m: (m.tensor(1.0), m.tensor([1.0])),
    "0-d": lambda m: (m.tensor(1.0), m.tensor(2.0)),
    "ints": lambda m: (m.tensor([1, 2, 3]), m.tensor([1, 2, 6])),
    "uint8": lambda m: (m.tensor([1, 2], dtype=m.uint8), m.tensor([3, 1], dtype=m.uint8)),
    "bools": lambda m: (m.tensor([True, False]), m.tensor([True, True])),
    "nan": lambda m: (m.tensor([nan]), m.tensor([nan])),
    "nan and number": lambda m: (m.tensor([nan, 1.0]), m.tensor([1.0, 1.0])),
    "inf": lambda m: (m.tensor([inf]), m.tensor([inf])),
    "opposite infs": lambda m: (m.tensor([inf]), m.tensor([-inf])),
    "zero expected": lambda m: (m.tensor([1.0]), m.tensor([0.0])),
    "float16": lambda m: (m.tensor([1.0], dtype=m.float16), m.tensor([1.001], dtype=m.float16)),
    "float32 edge": lambda m: (m.tensor([1.0]), m.tensor([1.0000015])),
    "empty": lambda m: (m.tensor([]), m.tensor([])),
    "transposed": lambda m: (m.ones(2, 3).t(), m.ones(3, 2)),
    "requires grad": lambda m: (m.ones(2, requires_grad=True), m.ones(2)),
    "floats": lambda m: (1.0, 1.5),
    "int and float": lambda m: (1, 1.0),
    "ints scalars": lambda m: (1, 2),
    "booleans": lambda m: (True, False),
    "numpy float and float": lambda m: (np.float64(1.0), 1.0),
    "tensor and float": lambda m: (m.tensor(1.0), 1.0),
    "tensor and ndarray": lambda m: (m.tensor([1.0]), np.array([1.0])),
    "tensor and list": lambda m: (m.tensor([1.0]), [1.0]),
    "strings": lambda m: ("a", "a"),
    "nones": lambda m: (None, None),
    "ndarrays": lambda m: (np.array([1.0]), np.array([1.5])),
    "ndarrays equal": lambda m: (np.array([1.0, 2.0]), np.array([1.0, 2.0])),
    "ndarray shapes": lambda m: (np.array([1.0]), np.array([1.0, 2.0])),
    "list items": lambda m: ([1.0, 2.0], [1.0, 2.5]),
    "nested lists": lambda m: ([[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [3.0, 5.0]]),
    "tuple and list": lambda m: ((1.0, 2.0), [1.0, 2.0]),
    "lengths": lambda m: ([1.0, 2.0], [1.0, 2.0, 3.0]),
    "list of tensors": lambda m: ([m.ones(2), m.ones(2)], [m.ones(2), m.zeros(2)]),
    "mapping": lambda m: ({"a": m.ones(2)}, {"a": m.zeros(2)}),
    "mapping keys": lambda m: ({"a": m.ones(2)}, {"b": m.zeros(2)}),
}

OPTIONS = {
    "default": {},
    "no dtype check": {"check_dtype": False},
    "equal nan": {"equal_nan": True},
    "zero tolerances": {"rtol": 0, "atol": 0},
    "loose": {"rtol": 0.1, "atol": 0.6},
    "rtol only": {"rtol": 0.1},
    "atol only": {"atol": 1},
    "message": {"msg": "custom"},
    "message function": {"msg": lambda text: "X" + text[:12]},
}


def _outcome(module, case, options):
    actual, expected = CASES[case](module)
    try:
        module.testing.assert_close(actual, expected, **options)
    except Exception as error:  # noqa: BLE001 - compared below
        return type(error), str(error)
    return None, None


@pytest.mark.parametrize("options", list(OPTIONS))
@pytest.mark.parametrize("case", list(CASES))
def test_assert_close_matches_torch(case, options):
    expected_type, expected_text = _outcome(torch, case, OPTIONS[options])
    actual_type, actual_text = _outcome(dg, case, OPTIONS[options])
    assert actual_type is expected_type, (actual_text, expected_text)
    if expected_type is AssertionError:  # the same message, up to the library's name
        assert actual_text == expected_text.replace("torch.", "deltagrad."), actual_text


def test_assert_close_more_dtypes_when_not_checked():
    pairs = [("int64", "float64", [2], [1.0]), ("float32", "float64", [1.1], [1.0]),
             ("int32", "int64", [1, 2], [1, 3]), ("bool", "int64", [True], [2])]
    for left, right, a, e in pairs:
        outcomes = []
        for m in (torch, dg):
            try:
                m.testing.assert_close(m.tensor(a, dtype=getattr(m, left)),
                                       m.tensor(e, dtype=getattr(m, right)), check_dtype=False)
                outcomes.append(None)
            except AssertionError as error:
                outcomes.append(str(error))
        assert outcomes[1] == outcomes[0], (left, right)


def test_assert_close_check_stride():
    for m in (torch, dg):
        m.testing.assert_close(m.zeros(2, 3), m.zeros(2, 3).t().contiguous().t())
        with pytest.raises(AssertionError, match="stride"):
            m.testing.assert_close(m.zeros(2, 3), m.zeros(2, 3).t().contiguous().t(),
                                   check_stride=True)


MAKE = {
    "sizes": lambda m: m.testing.make_tensor(2, 3, dtype=m.float32, device="cpu"),
    "tuple": lambda m: m.testing.make_tensor((2, 3), dtype=m.float64, device="cpu"),
    "list": lambda m: m.testing.make_tensor([2, 3], dtype=m.int64, device="cpu"),
    "Size": lambda m: m.testing.make_tensor(m.Size([4]), dtype=m.int32, device="cpu"),
    "0-d": lambda m: m.testing.make_tensor((), dtype=m.float32, device="cpu"),
    "no shape": lambda m: m.testing.make_tensor(dtype=m.float32, device="cpu"),
    "bool": lambda m: m.testing.make_tensor(5, dtype=m.bool, device="cpu"),
    "uint8": lambda m: m.testing.make_tensor(5, dtype=m.uint8, device="cpu"),
    "float16": lambda m: m.testing.make_tensor(5, dtype=m.float16, device="cpu"),
    "low == high": lambda m: m.testing.make_tensor(3, dtype=m.float32, device="cpu", low=2,
                                                   high=2),
    "no dtype": lambda m: m.testing.make_tensor(2, device="cpu"),
    "no device": lambda m: m.testing.make_tensor(2, dtype=m.float32),
    "low > high": lambda m: m.testing.make_tensor(3, dtype=m.float32, device="cpu", low=3,
                                                  high=2),
    "int low == high": lambda m: m.testing.make_tensor(3, dtype=m.int64, device="cpu", low=2,
                                                       high=2),
    "nan low": lambda m: m.testing.make_tensor(3, dtype=m.float32, device="cpu", low=nan),
    "int requires grad": lambda m: m.testing.make_tensor(3, dtype=m.int64, device="cpu",
                                                         requires_grad=True),
}


@pytest.mark.parametrize("name", list(MAKE))
def test_make_tensor_matches_torch(name):
    outcomes = []
    for m in (torch, dg):
        try:
            out = MAKE[name](m)
            outcomes.append((tuple(out.shape), str(out.dtype).split(".")[-1], out.requires_grad))
        except Exception as error:  # noqa: BLE001
            outcomes.append((type(error), str(error).replace("torch.", "deltagrad.")))
    assert outcomes[1] == outcomes[0]


def test_make_tensor_ranges_and_options():
    dg.manual_seed(0)
    ints = make_tensor(2000, dtype=dg.int64, device="cpu")
    assert (ints.min().item(), ints.max().item()) == (-9, 9)
    unsigned = make_tensor(2000, dtype=dg.uint8, device="cpu")
    assert (unsigned.min().item(), unsigned.max().item()) == (0, 9)
    floats = make_tensor(2000, dtype=dg.float32, device="cpu", low=2, high=3)
    assert 2 <= floats.min().item() and floats.max().item() < 3
    clamped = make_tensor(2000, dtype=dg.int8, device="cpu", low=-200)
    assert clamped.min().item() == -128
    wide = make_tensor(100, dtype=dg.float64, device="cpu", low=-1e300, high=1e300)
    assert bool(dg.isfinite(wide).all()) and wide.abs().max().item() > 1e298
    assert not bool((make_tensor(500, dtype=dg.int64, device="cpu", exclude_zero=True) == 0)
                    .any())
    assert not bool((make_tensor(500, dtype=dg.float32, device="cpu", low=-1, high=1,
                                 exclude_zero=True) == 0).any())
    strided = make_tensor(3, 4, dtype=dg.float32, device="cpu", noncontiguous=True)
    assert strided.shape == (3, 4) and not strided.is_contiguous()
    last = make_tensor(2, 3, 4, 5, dtype=dg.float32, device="cpu",
                       memory_format=dg.channels_last)
    assert last.stride() == (60, 1, 15, 3)
    grad = make_tensor(3, dtype=dg.float32, device="cpu", requires_grad=True)
    assert grad.requires_grad and grad.grad_fn is None
    dg.manual_seed(5)
    first = make_tensor(4, dtype=dg.float32, device="cpu")
    dg.manual_seed(5)
    assert_close(make_tensor(4, dtype=dg.float32, device="cpu"), first)  # seeded
    with pytest.raises(RuntimeError, match="CPU"):
        make_tensor(2, dtype=dg.float32, device="cuda")
