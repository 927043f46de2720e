"""Parity found by the program probe (tests/programs/test_s5_programs.py): the dtype
``tensor`` infers for sequences holding NumPy scalars, arrays, tensors and complex numbers;
float ``arange`` values; the errors of negative and float sizes; bicubic ``interpolate``."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402


def _data(lib, name):
    """The sequence for case ``name``; tensors inside are made by ``lib``."""
    return {
        "np_float64_and_float": lambda: [np.float64(1.5), 2.0],
        "np_float32_and_float": lambda: [np.float32(1.5), 2.0],
        "np_int32_and_int": lambda: [np.int32(1), 2],
        "np_int32_and_float": lambda: [np.int32(1), 2.5],
        "np_int32_and_float16": lambda: [np.int32(1), np.float16(2)],
        "np_uint8_and_int8": lambda: [np.uint8(3), np.int8(-1)],
        "np_float32_and_int": lambda: [np.float32(1.0), 2],
        "nested_np_float64": lambda: [[np.float64(1.0)], [2.0]],
        "list_of_float64_arrays": lambda: [np.array([1.0, 2.0]), np.array([3.0, 4.0])],
        "list_of_float32_arrays": lambda: [np.ones(2, np.float32), np.zeros(2, np.float32)],
        "array_and_list": lambda: [[1.0, 2.0], np.array([2.0, 3.0])],
        "python_complex": lambda: [1 + 2j, 2.0],
        "np_complex128": lambda: [np.complex128(1j)],
        "float64_0d_tensors": lambda: [lib.tensor(1.0, dtype=lib.float64), 2.0],
        "int32_0d_tensors": lambda: [lib.tensor(1, dtype=lib.int32), lib.tensor(2,
                                                                                dtype=lib.int32)],
        "python_floats": lambda: [[1.0, 2], [3, 4]],
        "python_bools": lambda: [[True], [False]],
        "empty_inner": lambda: [[], []],
    }[name]()


CASES = ["np_float64_and_float", "np_float32_and_float", "np_int32_and_int",
         "np_int32_and_float", "np_int32_and_float16", "np_uint8_and_int8", "np_float32_and_int",
         "nested_np_float64", "list_of_float64_arrays", "list_of_float32_arrays",
         "array_and_list", "python_complex", "np_complex128", "float64_0d_tensors",
         "int32_0d_tensors", "python_floats", "python_bools", "empty_inner"]


@pytest.mark.filterwarnings("ignore:Creating a tensor from a list of numpy")
@pytest.mark.parametrize("factory", ["tensor", "as_tensor"])
@pytest.mark.parametrize("name", CASES)
def test_sequence_dtype_inference(name, factory):
    check(lambda m: getattr(m, factory)(_data(m, name)), grad=False, rtol=0, atol=0)


def test_sequence_dtype_follows_the_default_dtype():
    previous = dg.get_default_dtype()
    dg.set_default_dtype(dg.float64)
    try:
        assert dg.tensor([np.float32(1.0), 2.0]).dtype == dg.float64
        assert dg.tensor([1j, np.float32(2.0)]).dtype == dg.complex128
    finally:
        dg.set_default_dtype(previous)


@pytest.mark.parametrize("dtype", ["float32", "float64", None])
@pytest.mark.parametrize("bounds", [(0, 1, 0.1), (1, 2.5, 0.5), (0.1, 0.9, 0.2), (0, 5, 1.5),
                                    (0.5, 3), (3, 8.2, 1), (0, 1000, 0.013)])
def test_arange_float_values(bounds, dtype):
    # PyTorch computes start + i * step in double and rounds once; its vector kernel rounds
    # some values differently again (1 ulp, CPU-dependent), hence the 1-ulp tolerance.
    def arange(m):
        return m.arange(*bounds, dtype=None if dtype is None else getattr(m, dtype))

    check(arange, grad=False, rtol=2.5e-7 if dtype != "float64" else 3e-16, atol=0)


def test_arange_does_not_drift():
    # NumPy's float32 arange steps by a float32 delta: 0.9000000358 at i = 9, and the error
    # grows with i (7.6e-6 at 100 with step 0.7). Here, as in PyTorch, each value is within
    # one float32 spacing of the exact one (PyTorch's own rounding, api/ramp.py, not one
    # rounding of the exact value: 24 of these 143 values differ from that).
    import torch

    assert dg.arange(0, 1, 0.1)[9].item() == np.float32(0.9)
    values = dg.arange(0.0, 100.0, 0.7).numpy()
    exact = np.arange(143) * 0.7
    assert (np.abs(values - exact) <= np.spacing(np.float32(100))).all()
    np.testing.assert_array_equal(values, torch.arange(0.0, 100.0, 0.7).numpy())


@pytest.mark.parametrize("call", [
    lambda m: m.zeros(-1), lambda m: m.ones(2, -3), lambda m: m.empty((-1,)),
    lambda m: m.ones(2.0), lambda m: m.zeros((2, 1.5)), lambda m: m.full(2, 1.0),
    lambda m: m.eye(-1), lambda m: m.eye(2, -1),
], ids=["zeros_neg", "ones_neg", "empty_neg", "ones_float", "zeros_float_tuple",
        "full_int_size", "eye_neg", "eye_neg_m"])
def test_bad_sizes_raise_like_pytorch(call):
    check(call, grad=False)


@pytest.mark.parametrize("call", [
    lambda m: m.zeros(np.int64(2), 3), lambda m: m.ones(m.tensor(2)), lambda m: m.zeros(0, 3),
    lambda m: m.full([2], 1.0), lambda m: m.full(m.Size([1, 2]), 7), lambda m: m.eye(0),
    lambda m: m.zeros(m.ones(2, 3).shape),
], ids=["np_int", "tensor_int", "zero", "full_list", "full_size", "eye0", "shape"])
def test_integer_like_sizes_are_accepted(call):
    check(call, grad=False)


# ---------------------------------------------------------------------------- bicubic

BICUBIC_RNG = np.random.default_rng(5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [
    {"scale_factor": 2}, {"scale_factor": 1.5}, {"size": (5, 7)}, {"size": (2, 3)},
    {"size": (7, 4), "align_corners": True}, {"scale_factor": (0.5, 2.5)},
    {"scale_factor": 1.7, "recompute_scale_factor": True}, {"size": 1},
], ids=["x2", "x1.5", "size", "down", "align", "mixed", "recompute", "one"])
def test_bicubic_matches_pytorch(options, dtype):
    x = BICUBIC_RNG.standard_normal((2, 3, 4, 6)).astype(dtype)
    check(lambda m, t: m.nn.functional.interpolate(t, mode="bicubic", **options), Arg(x),
          rtol=1e-5, atol=1e-5 if dtype == np.float32 else 1e-10)


def test_bicubic_needs_4d_input():
    x = BICUBIC_RNG.standard_normal((1, 2, 5)).astype(np.float32)
    check(lambda m, t: m.nn.functional.interpolate(t, scale_factor=2, mode="bicubic"), Arg(x))
    module = dg.nn.Upsample(scale_factor=2, mode="bicubic")
    assert module(dg.ones(1, 1, 2, 2)).shape == (1, 1, 4, 4)


# ---------------------------------------------------------------------------- nn classes

# Known difference: a lazy module is an instance of the class it becomes before its first call
# (PyTorch swaps the class).
_KNOWN_SUBCLASS_DIFFERENCES = {
    ("LazyBatchNorm1d", "BatchNorm1d"), ("LazyBatchNorm2d", "BatchNorm2d"),
    ("LazyBatchNorm3d", "BatchNorm3d"), ("LazyInstanceNorm1d", "InstanceNorm1d"),
    ("LazyInstanceNorm2d", "InstanceNorm2d"), ("LazyInstanceNorm3d", "InstanceNorm3d"),
}


def test_nn_classes_subclass_each_other_as_in_pytorch():
    # isinstance(m, nn.ELU) in an init function must not catch CELU, nor AdaptiveAvgPool2d the
    # 3-d pool; ZeroPad2d is a ConstantPad2d.
    import inspect

    import torch

    names = [n for n in dir(torch.nn) if n[0].isupper() and inspect.isclass(getattr(torch.nn, n))
             and inspect.isclass(getattr(dg.nn, n, None))]
    differ = set()
    for a in names:
        for b in names:
            if a != b and (issubclass(getattr(torch.nn, a), getattr(torch.nn, b))
                           != issubclass(getattr(dg.nn, a), getattr(dg.nn, b))):
                differ.add((a, b))
    assert differ == _KNOWN_SUBCLASS_DIFFERENCES


def test_sequential_insert_and_pop_as_pytorch():
    import torch

    def run(m):
        out = []
        for index in (0, 1, 2, -1, -2):
            net = m.nn.Sequential(m.nn.ReLU(), m.nn.Tanh())
            net.insert(index, m.nn.Identity())
            out.append([type(x).__name__ for x in net] + list(net._modules))
        net = m.nn.Sequential(m.nn.ReLU(), m.nn.Tanh(), m.nn.Sigmoid())
        out.append([type(net.pop(1)).__name__, *net._modules, type(net[1]).__name__])
        for index in (3, -3):
            with pytest.raises(IndexError):
                m.nn.Sequential(m.nn.ReLU(), m.nn.Tanh()).insert(index, m.nn.Identity())
        return out

    assert run(dg) == run(torch)


def test_parameter_dict_sorts_a_plain_dict_and_prints_as_pytorch():
    import torch

    def run(m):
        params = m.nn.ParameterDict({"w": m.nn.Parameter(m.ones(2, 3)),
                                     "b": m.nn.Parameter(m.ones(2, dtype=m.float64))})
        params["a"] = m.nn.Parameter(m.ones(1))
        ordered = m.nn.ParameterDict(__import__("collections").OrderedDict(
            [("z", m.nn.Parameter(m.ones(1))), ("y", m.nn.Parameter(m.ones(1)))]))
        listed = m.nn.ParameterList([m.nn.Parameter(m.ones(2)), m.nn.Parameter(m.ones(3))])
        texts = [repr(params), repr(ordered), repr(listed)]
        return ([list(params), list(params.copy()), list(ordered)]
                # (deltagrad names types 'torch.' as Tensor.type() does, alias or not)
                + [t.replace(m.__name__ + ".", "LIB.").replace("torch.", "LIB.") for t in texts])

    assert run(dg) == run(torch)


def test_nn_modules_import_paths_as_pytorch():
    import torch

    from deltagrad.nn.modules.loss import _Loss
    from deltagrad.nn.modules.utils import _pair, _quadruple, _single, _triple

    assert (_single(2), _pair(3), _pair((1, 2)), _triple([1, 2, 3]), _quadruple(0)) == (
        (2,), (3, 3), (1, 2), (1, 2, 3), (0, 0, 0, 0))
    assert issubclass(dg.nn.CrossEntropyLoss, _Loss)
    assert dg.nn.modules.module.Module is dg.nn.Module
    assert dg.nn.modules.conv.Conv2d is dg.nn.Conv2d
    assert dg.nn.modules.linear.Linear is dg.nn.Linear
    assert dg.nn.modules.container.Sequential is dg.nn.Sequential
    assert dg.nn.modules.activation.ReLU is dg.nn.ReLU

    def strip(m):
        # A checkpoint saved from a DataParallel-wrapped model, loaded into the bare model.
        wrapped = m.nn.Sequential()
        wrapped.add_module("module", m.nn.Sequential(m.nn.Linear(2, 2), m.nn.BatchNorm1d(2)))
        state = wrapped.state_dict()
        m.nn.modules.utils.consume_prefix_in_state_dict_if_present(state, "module.")
        bare = m.nn.Sequential(m.nn.Linear(2, 2), m.nn.BatchNorm1d(2))
        return [list(state), sorted(state._metadata), str(bare.load_state_dict(state))]

    assert strip(dg) == strip(torch)
