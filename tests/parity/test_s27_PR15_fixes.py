"""Regression tests for the differences PR15's library-internals programs found (session 27),
each run on deltagrad and on the real PyTorch: torch.overrides.is_tensor_method_or_property;
a Python complex under a float16 / bfloat16 default dtype (PyTorch's complex32, refused here);
pickle / copy.copy leaving a leaf's .grad behind (deepcopy keeps it); nn.Module's errors for a
mismatched assignment, a bad member name and a get_submodule path, in PyTorch's words; a
tensor hook's handle is a RemovableHandle; torch.jit.script / trace / trace_module's
DeprecationWarnings; torch.Size refusing non-integers; torch.device's list of known types.
"""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

LIBS = {"deltagrad": dg, "torch": torch}


def _outcome(fn, lib):
    """What ``fn(lib)`` returns, or its exception's class name and message (deltagrad's
    namespace written as torch's, as it reads under the torch alias)."""
    try:
        return fn(lib)
    except Exception as error:  # noqa: BLE001 - the class and message are the outcome
        return type(error).__name__, str(error).replace("deltagrad", "torch")


def _same(fn):
    ours, theirs = _outcome(fn, dg), _outcome(fn, torch)
    assert ours == theirs
    return ours


@pytest.mark.parametrize("name", ["add", "sum", "__add__", "grad_getter", "namespace_add"])
def test_is_tensor_method_or_property(name):
    def probe(lib):
        if name == "grad_getter":
            func = lib.Tensor.grad.__get__
        elif name == "namespace_add":
            func = lib.add
        else:
            func = getattr(lib.Tensor, name)
        return lib.overrides.is_tensor_method_or_property(func)
    assert _same(probe) is (name != "namespace_add")


@pytest.fixture
def default_dtype():
    """Sets both libraries' default dtype (by name) and restores float32 after."""
    def set_both(name):
        for lib in LIBS.values():
            lib.set_default_dtype(getattr(lib, name))
    yield set_both
    for lib in LIBS.values():
        lib.set_default_dtype(lib.float32)


COMPLEX_CASES = {
    "tensor": lambda t: t.tensor(1j),
    "tensor_list": lambda t: t.tensor([1.0, 2j]),
    "as_tensor": lambda t: t.as_tensor(1 + 1j),
    "int_plus": lambda t: t.tensor([1, 2]) + 1j,
    "bool_times": lambda t: t.tensor([True]) * 1j,
    "linspace": lambda t: t.linspace(0, 1j, 3),
}


@pytest.mark.parametrize("case", sorted(COMPLEX_CASES))
@pytest.mark.parametrize("default", ["float16", "bfloat16", "float64"])
def test_python_complex_under_default_dtype(default_dtype, default, case):
    default_dtype(default)
    fn = COMPLEX_CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (PyTorch's "ComplexHalf support is experimental")
        theirs = _outcome(lambda t: str(fn(t).dtype), torch)
    ours = _outcome(lambda t: str(fn(t).dtype), dg)
    if theirs == "torch.complex32":  # NumPy has none: refused, never a complex64 tensor
        assert ours[0] == "NotImplementedError" and "complex32" in ours[1]
    elif isinstance(theirs, tuple) and default == "float16":  # (PyTorch's own refusal)
        assert ours[0] == theirs[0]
    elif isinstance(theirs, tuple):
        assert ours[0] == theirs[0] and ours[1].startswith(theirs[1])
    else:
        assert ours == theirs.replace("torch", "deltagrad")


def test_pickle_and_copy_leave_grad_behind():
    def probe(lib):
        w = lib.ones(3, requires_grad=True)
        (w * 2).sum().backward()
        return (copy.copy(w).grad, pickle.loads(pickle.dumps(w)).grad,
                copy.deepcopy(w).grad.tolist(), w.grad.tolist(),
                pickle.loads(pickle.dumps(w)).requires_grad, copy.deepcopy(w).grad is w.grad)
    assert _same(probe) == (None, None, [2.0] * 3, [2.0] * 3, True, False)


def test_save_leaves_grad_behind():
    import io

    def probe(lib):
        w = lib.ones(2, requires_grad=True)
        w.sum().backward()
        buffer = io.BytesIO()
        lib.save(w, buffer)
        buffer.seek(0)
        back = lib.load(buffer)
        return back.grad, back.requires_grad, w.grad.tolist()
    assert _same(probe) == (None, True, [1.0, 1.0])


class _Probe:
    """Builds the same module on either library (a parameter, a child and a buffer)."""

    @staticmethod
    def module(lib):
        m = lib.nn.Module()
        m.w = lib.nn.Parameter(lib.ones(2))
        m.sub = lib.nn.Linear(1, 1)
        m.register_buffer("b", lib.ones(1))
        return m


ASSIGNMENTS = {
    "tensor_over_parameter": lambda t, m: setattr(m, "w", t.ones(1)),
    "long_over_parameter": lambda t, m: setattr(m, "w", t.ones(1).long()),
    "int_over_parameter": lambda t, m: setattr(m, "w", 3),
    "tensor_over_module": lambda t, m: setattr(m, "sub", t.ones(1)),
    "list_over_module": lambda t, m: setattr(m, "sub", [1]),
    "int_over_buffer": lambda t, m: setattr(m, "b", 3),
    "register_parameter_tensor": lambda t, m: m.register_parameter("p", t.ones(1)),
    "register_parameter_int": lambda t, m: m.register_parameter("p", 3),
    "register_buffer_int": lambda t, m: m.register_buffer("q", 3),
    "add_module_int": lambda t, m: m.add_module("q", 3),
    "module_dot": lambda t, m: m.add_module("a.b", None),
    "module_empty": lambda t, m: m.add_module("", None),
    "buffer_dot": lambda t, m: m.register_buffer("a.b", None),
    "parameter_dot": lambda t, m: m.register_parameter("a.b", None),
    "buffer_exists": lambda t, m: m.register_buffer("w", None),
    "module_int_name": lambda t, m: m.add_module(3, None),
    "buffer_int_name": lambda t, m: m.register_buffer(3, None),
    "parameter_int_name": lambda t, m: m.register_parameter(3, None),
    "submodule_attribute": lambda t, m: m.get_submodule("sub.weight"),
    "submodule_missing": lambda t, m: m.get_submodule("sub.nope"),
    "submodule_missing_first": lambda t, m: m.get_submodule("nope.x"),
    "submodule_flag": lambda t, m: m.get_submodule("sub.training"),
    "parameter_missing": lambda t, m: m.get_parameter("sub.nope"),
}


@pytest.mark.parametrize("case", sorted(ASSIGNMENTS))
def test_module_member_errors(case):
    outcome = _same(lambda lib: ASSIGNMENTS[case](lib, _Probe.module(lib)))
    assert isinstance(outcome, tuple)  # (every case raises)


def test_tensor_hook_handle_is_removable_handle():
    def probe(lib):
        import importlib

        hooks = importlib.import_module(f"{lib.__name__}.utils.hooks")
        t = lib.ones(2, requires_grad=True)
        handle = t.register_hook(lambda g: g * 10)
        (t * 1).sum().backward()
        first = t.grad.tolist()
        handle.remove()
        return (type(handle).__name__, isinstance(handle, hooks.RemovableHandle),
                isinstance(object(), hooks.RemovableHandle), first)
    assert _same(probe) == ("RemovableHandle", True, False, [10.0, 10.0])


def _scaled(x):
    return x * 2


@pytest.mark.parametrize("call", ["script", "trace", "trace_module"])
def test_jit_deprecation_warnings(call):
    def probe(lib):
        calls = {"script": lambda: lib.jit.script(_scaled),
                 "trace": lambda: lib.jit.trace(_scaled, (lib.ones(1),)),
                 "trace_module": lambda: lib.jit.trace_module(lib.nn.Linear(1, 1),
                                                              {"forward": lib.ones(1)})}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            calls[call]()  # (PyTorch's first call also imports internals that warn)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            calls[call]()
        return [(w.category.__name__, str(w.message)) for w in caught]
    said = _same(probe)
    assert said and all(category == "DeprecationWarning" for category, _ in said)


@pytest.mark.parametrize("items", ["float", "whole_float", "none", "str", "float_tensor",
                                   "numpy_float", "bool", "int_tensor", "numpy_int", "ints"])
def test_size_items(items):
    def probe(lib):
        made = {"float": [2.5], "whole_float": [2.0], "none": [None], "str": ["a"],
                "float_tensor": [lib.tensor(2.0)], "numpy_float": [np.float64(2.0)],
                "bool": [True], "int_tensor": [lib.tensor(3)], "numpy_int": [np.int64(3)],
                "ints": (2, 0, -1)}[items]
        return tuple(lib.Size(made))
    outcome = _same(probe)
    if items in ("float", "whole_float", "none", "str", "float_tensor", "numpy_float"):
        assert outcome[0] == "TypeError"


def test_device_error_lists_types_in_pytorch_order():
    assert _same(lambda lib: lib.device("gpu"))[0] == "RuntimeError"


def test_parameter_of_a_tensor_subclass_keeps_its_class():
    def probe(lib):
        tagged = type("Tagged", (lib.Tensor,), {})
        base = lib.ones(2).as_subclass(tagged)
        p = lib.nn.Parameter(base)
        frozen = lib.nn.Parameter(base, requires_grad=False)
        layer = lib.nn.Linear(2, 1)
        layer.weight = lib.nn.Parameter(lib.ones(1, 2).as_subclass(tagged))
        layer(lib.ones(3, 2)).sum().backward()
        return (type(p).__name__, isinstance(p, lib.nn.Parameter), p.requires_grad, p.is_leaf,
                p.data_ptr() == base.data_ptr(), type(frozen).__name__, frozen.requires_grad,
                type(layer.weight).__name__, layer.weight.grad.tolist())
    assert _same(probe) == ("Tagged", True, True, True, True, "Tagged", False, "Tagged",
                            [[3.0, 3.0]])
