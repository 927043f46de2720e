"""``torch.overrides.TorchFunctionMode`` (session 12, NF), differentially against PyTorch: a mode
sees the public functions, Tensor methods and operators called inside it, in order; modes nest
(the innermost first, each off inside its own handler); a handler's result replaces the call's;
``NotImplemented`` hands the call on to a subclass; and when the last mode is left every public
function and Tensor method is the very object it was before (plain programs pay nothing)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

_SKIP = {"__get__", "dim", "size"}  # (metadata queries: not dispatched by deltagrad)


def _recording_mode(lib, log, tag="", skip=_SKIP):
    class Recording(lib.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", "?")
            if name not in skip:
                log.append(tag + name)
            return func(*args, **(kwargs or {}))

    return Recording()


def _program(lib):
    """Functions, methods, operators, nn.functional and a layer, on plain tensors."""
    x = lib.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    w = lib.tensor(np.ones((4, 3), dtype=np.float32))
    y = lib.exp(x) + 1
    y = y * x - x.sum()
    z = lib.nn.functional.relu(y @ w.t())
    z = z[0].mean() + lib.matmul(x, w.t()).tanh().sum()
    layer = lib.nn.Linear(3, 2)
    return z, layer(x)


def _seen(lib, program=_program, **options):
    log: list = []
    with _recording_mode(lib, log, **options):
        result = program(lib)
    return log, result


def test_a_mode_sees_what_pytorchs_sees():
    theirs, _ = _seen(torch, skip=_SKIP | {"empty", "kaiming_uniform_", "uniform_"})
    ours, _ = _seen(dg, skip=_SKIP | {"requires_grad_"})
    # (a Linear's construction: PyTorch's makes its parameters with torch.empty and its init
    # functions dispatch; deltagrad's come from NumPy and its Parameter calls requires_grad_)
    assert ours == theirs
    assert ours[:2] == ["tensor", "tensor"]  # (factories reach modes too)
    assert "exp" in ours and "relu" in ours and "linear" in ours and "matmul" in ours


def test_operators_reach_the_mode_as_pytorch_names_them():
    for lib in (torch, dg):
        log: list = []
        x = lib.ones(2)
        with _recording_mode(lib, log):
            _ = 2 * x, x + x, x - 1, -x, x / 2, x ** 2, abs(x), x < 1, x[0]
        assert log == ["mul", "add", "sub", "neg", "div", "pow", "abs", "lt", "__getitem__"]


def test_nested_modes_see_calls_innermost_first_and_are_off_in_their_handlers():
    results = []
    for lib in (torch, dg):
        log: list = []
        x = lib.ones(3)
        with _recording_mode(lib, log, "outer:"), _recording_mode(lib, log, "inner:"):
            lib.exp(x).sum()
        results.append(log)
    assert results[1] == results[0]
    assert results[0] == ["inner:exp", "outer:exp", "inner:sum", "outer:sum"]


def test_a_handler_can_replace_the_result_and_see_its_own_mode_off():
    for lib in (torch, dg):
        class Doubling(lib.overrides.TorchFunctionMode):
            overrides = lib.overrides

            def __torch_function__(self, func, types, args=(), kwargs=None):
                assert self.overrides._get_current_function_mode() is not self
                out = func(*args, **(kwargs or {}))
                return out * 2 if func.__name__ == "exp" else out

        with Doubling() as mode:
            assert lib.overrides._get_current_function_mode() is mode
            value = lib.exp(lib.zeros(2))
        assert lib.overrides._get_current_function_mode() is None
        np.testing.assert_array_equal(value.numpy(), [2.0, 2.0])


def test_not_implemented_hands_the_call_to_the_subclass():
    outcomes = []
    for lib in (torch, dg):
        class Tagged(lib.Tensor):
            seen: list = []

            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                cls.seen.append(getattr(func, "__name__", "?"))
                return super().__torch_function__(func, types, args, kwargs)

        class Declining(lib.overrides.TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                if any(issubclass(t, Tagged) for t in types):
                    return NotImplemented
                return func(*args, **(kwargs or {}))

        s = lib.ones(2).as_subclass(Tagged)
        with Declining():
            out = lib.exp(s)
        outcomes.append((Tagged.seen, type(out) is Tagged))
    assert outcomes[1] == outcomes[0] == (["exp"], True)


def test_a_mode_in_one_thread_is_not_seen_by_another():
    log: list = []
    other: list = []

    def work():
        other.append(float(dg.exp(dg.zeros(1)).sum()))

    with _recording_mode(dg, log):
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        dg.exp(dg.zeros(1))
    assert other == [1.0]
    assert log == ["zeros", "exp"]


def test_plain_programs_get_their_own_functions_back_after_the_last_mode():
    before = {name: getattr(dg, name) for name in ("exp", "matmul", "add")}
    before_f = {name: getattr(dg.nn.functional, name) for name in ("relu", "linear", "conv2d")}
    before_methods = {name: dg.Tensor.__dict__[name] for name in ("add", "__add__", "sum")}
    with _recording_mode(dg, []):
        assert dg.Tensor.__dict__["add"] is not before_methods["add"]
        with _recording_mode(dg, []):
            pass
        assert dg.overrides._get_current_function_mode_stack() != []
    assert {name: getattr(dg, name) for name in before} == before
    assert {name: getattr(dg.nn.functional, name) for name in before_f} == before_f
    assert {name: dg.Tensor.__dict__[name] for name in before_methods} == before_methods
    assert not dg.overrides.has_torch_function((dg.ones(1),))


def test_the_function_given_is_the_one_the_program_holds():
    """thop keys its table by torch.matmul and torch.Tensor.matmul looked up at import:
    ``func`` is those very objects."""
    table = {dg.matmul: "matmul", dg.Tensor.matmul: "method", dg.nn.functional.linear: "F"}
    found = []

    class Lookup(dg.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            found.append(table.get(func))
            return func(*args, **(kwargs or {}))

    a = dg.ones(2, 3)
    with Lookup():
        dg.matmul(a, a.t())
        a.matmul(a.t())
        dg.nn.functional.linear(a, a)
    assert [f for f in found if f] == ["matmul", "method", "F"]


def test_exceptions_leave_no_mode_behind():
    with pytest.raises(ValueError), _recording_mode(dg, []):
        raise ValueError("inside")
    assert dg.overrides._get_current_function_mode_stack() == []
    assert not dg.overrides._is_torch_function_mode_enabled()


def test_disable_torch_function_turns_modes_off_and_subclass_off_leaves_them():
    from deltagrad._engine import subclassing

    disable = {torch: torch._C.DisableTorchFunction,
               dg: subclassing.DisableTorchFunction}  # (deltagrad._C names it: lead's file)
    disable_subclass = {torch: torch._C.DisableTorchFunctionSubclass,
                        dg: subclassing.DisableTorchFunctionSubclass}
    results = []
    for lib in (torch, dg):
        log: list = []
        x = lib.ones(2)
        with _recording_mode(lib, log):
            with disable[lib]():
                lib.exp(x)
            with disable_subclass[lib]():
                lib.sin(x)
            lib.cos(x)
        results.append(log)
    assert results[1] == results[0] == ["sin", "cos"]
