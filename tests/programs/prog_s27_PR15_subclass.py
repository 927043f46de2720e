"""Tensor subclasses and the override protocol as libraries use them internally (PR15, session
27), written afresh: ``as_subclass`` and which results keep the subclass, a
``__torch_function__`` that logs the functions it sees and one that unwraps / rewraps a
metadata-carrying tensor, duck-typed objects dispatched through
``torch.overrides.has_torch_function`` / ``handle_torch_function``, and the isinstance /
typing checks framework glue makes (Tensor, Parameter, Size, dtype, device, Generator). Tiny
sizes; run by prog_s27_PR15_all.py.
"""

import torch
import torch.nn as nn
from prog_s25_PR9_harness import printed, put


class Tagged(torch.Tensor):
    pass


def section_as_subclass() -> None:
    with printed("sub.log"):
        base = torch.arange(6.0).reshape(2, 3)
        t = base.as_subclass(Tagged)
        print("type", type(t).__name__, isinstance(t, torch.Tensor), isinstance(t, Tagged))
        print("shares data", t.data_ptr() == base.data_ptr())
        for name, out in (("add", t + 1), ("sum", t.sum()), ("torch.mul", torch.mul(t, 2)),
                          ("view", t.view(3, 2)), ("index", t[0]), ("T", t.T),
                          ("detach", t.detach()), ("clone", t.clone())):
            print(name, type(out).__name__)
        print("tolist", t.tolist())
        print("plain from subclass", type(t.as_subclass(torch.Tensor)).__name__)
        r = torch.ones(2, requires_grad=True).as_subclass(Tagged)
        print("requires_grad kept", r.requires_grad, r.is_leaf)
        p = nn.Parameter(torch.ones(2).as_subclass(Tagged))
        print("parameter of subclass", type(p).__name__, isinstance(p, nn.Parameter),
              p.requires_grad, p.is_leaf)
        put("sub.values", (t * 2).as_subclass(torch.Tensor))


class Logged(torch.Tensor):
    calls = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        cls.calls.append(getattr(func, "__name__", str(func)))
        return super().__torch_function__(func, types, args, kwargs)


def section_torch_function_log() -> None:
    with printed("tfl.log"):
        x = torch.tensor([1.0, -2.0, 3.0]).as_subclass(Logged)
        Logged.calls.clear()
        y = torch.relu(x)
        print("relu", y.tolist(), type(y).__name__)
        print("logged relu", "relu" in Logged.calls)
        Logged.calls.clear()
        z = torch.cat([x, torch.zeros(1)])
        print("cat", type(z).__name__, z.shape, "cat" in Logged.calls)
        Logged.calls.clear()
        s = torch.nn.functional.softmax(x, dim=0)
        print("softmax", type(s).__name__, "softmax" in Logged.calls)
        with torch._C.DisableTorchFunctionSubclass():
            w = x + 1
        print("disabled", type(w).__name__)
        put("tfl.softmax", s.as_subclass(torch.Tensor))


class Meta(torch.Tensor):
    """A tensor that carries a unit string through every op (unwrap, call, rewrap)."""

    @staticmethod
    def __new__(cls, data, unit):
        t = torch.as_tensor(data).as_subclass(cls)
        t.unit = unit
        return t

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        units = {a.unit for a in args if isinstance(a, Meta) and hasattr(a, "unit")}
        with torch._C.DisableTorchFunctionSubclass():
            out = func(*args, **kwargs)
        if isinstance(out, torch.Tensor) and not isinstance(out, Meta):
            out = out.as_subclass(Meta)
        if isinstance(out, Meta):
            out.unit = "/".join(sorted(units)) or "?"
        return out


def section_metadata_tensor() -> None:
    with printed("meta.log"):
        a = Meta([1.0, 2.0], "m")
        b = Meta([3.0, 4.0], "s")
        c = a * b
        print("unit", c.unit, type(c).__name__, c.tolist())
        d = torch.add(a, 1.0)
        print("unit", d.unit, d.tolist())
        e = a.sum()
        print("sum", type(e).__name__, e.unit, e.item())
        print("len", len(a), "shape", tuple(a.shape))
        put("meta.c", c.as_subclass(torch.Tensor))


class Scalar:
    """A duck-typed "tensor" that takes part in torch functions through the protocol."""
    HANDLED = {}

    def __init__(self, n, value):
        self._n, self._value = n, value

    def __repr__(self):
        return f"Scalar(N={self._n}, value={self._value})"

    def tensor(self):
        return self._value * torch.eye(self._n)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func not in cls.HANDLED or not all(issubclass(t, (torch.Tensor, Scalar))
                                              for t in types):
            return NotImplemented
        return cls.HANDLED[func](*args, **kwargs)


def _scalar_mean(inp):
    return float(inp._value) / inp._n


Scalar.HANDLED[torch.mean] = _scalar_mean


def my_norm(x):
    """A library function that dispatches to overriding arguments first."""
    if torch.overrides.has_torch_function((x,)):
        return torch.overrides.handle_torch_function(my_norm, (x,), x)
    return x.abs().sum()


def section_overrides() -> None:
    with printed("ovr.log"):
        s = Scalar(4, 2.0)
        print("mean", torch.mean(s))
        try:
            torch.sum(s)
        except TypeError as e:
            print("sum TypeError", "Scalar" in str(e))
        t = torch.tensor([1.0, -2.0])
        print("has_torch_function tensor", torch.overrides.has_torch_function((t,)))
        print("has_torch_function scalar", torch.overrides.has_torch_function((s,)))
        print("is_tensor_like", torch.overrides.is_tensor_like(t),
              torch.overrides.is_tensor_like(s), torch.overrides.is_tensor_like(1.0))
        print("plain norm", my_norm(t).item())
        Scalar.HANDLED[my_norm] = lambda x: abs(x._value) * x._n
        print("dispatched norm", my_norm(s))
        print("has on subclass", torch.overrides.has_torch_function((t.as_subclass(Logged),)))
        print("in ignored", torch.Tensor.add in torch.overrides.get_ignored_functions())
        print("overridable", torch.overrides.is_tensor_method_or_property(torch.Tensor.add))


def section_isinstance() -> None:
    with printed("isa.log"):
        t = torch.zeros(2, 3)
        p = nn.Parameter(torch.ones(2))
        print("tensor", isinstance(t, torch.Tensor), torch.is_tensor(t), torch.is_tensor([1]))
        print("parameter", isinstance(p, nn.Parameter), isinstance(p, torch.Tensor),
              isinstance(t, nn.Parameter), p.requires_grad)
        print("param no grad", nn.Parameter(torch.ones(1), requires_grad=False).requires_grad)
        print("size", isinstance(t.shape, torch.Size), isinstance(t.shape, tuple),
              t.shape == (2, 3), torch.Size([2, 3]) == t.size(), t.shape.numel())
        print("size ops", type(t.shape[1:]).__name__, type(t.shape + (4,)).__name__,
              torch.Size((1, 2)) + torch.Size((3,)))
        print("dtype", isinstance(t.dtype, torch.dtype), t.dtype is torch.float32,
              t.dtype == torch.float, torch.float64 is torch.double)
        d = torch.device("cpu")
        print("device", isinstance(d, torch.device), d == t.device, str(d), repr(d), d.type,
              d.index, torch.device("cpu", 0), torch.device("cpu:0").index)
        g = torch.Generator()
        print("generator", isinstance(g, torch.Generator), g.device, type(g.initial_seed()))
        print("is_floating", torch.is_floating_point(t),
              torch.is_floating_point(t.long()), torch.is_complex(t.to(torch.complex64)),
              torch.is_nonzero(torch.tensor([3])))
        print("numel", torch.numel(t), t.dim(), t.ndim, t.ndimension(), len(t))
        print("storage", torch.is_storage(t.untyped_storage()), torch.is_storage(t))
        print("dtype of param data", type(p.data).__name__, isinstance(p.data, nn.Parameter))
        print("tensor types", torch.Tensor in type(t).__mro__,
              issubclass(nn.Parameter, torch.Tensor))


class CallCounter(torch.overrides.TorchFunctionMode):
    """A function mode as profilers and shape checkers write them: counts and logs calls."""

    def __init__(self):
        super().__init__()
        self.names = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.names.append(getattr(func, "__name__", "?"))
        return func(*args, **(kwargs or {}))


class Doubling(torch.overrides.TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func is torch.add:
            return out * 2
        return out


def section_function_mode() -> None:
    with printed("fmd.log"):
        x = torch.tensor([1.0, 2.0])
        with CallCounter() as counter:
            y = torch.add(x, 1)
            z = torch.nn.functional.relu(y - 2)
        print("calls", [n for n in counter.names if n in ("add", "relu", "sub", "__sub__")])
        print("values", z.tolist())
        with Doubling():
            print("doubled", torch.add(x, 1).tolist(), torch.mul(x, 1).tolist())
        print("outside", torch.add(x, 1).tolist())
        with CallCounter() as outer, CallCounter() as inner:
            torch.exp(x)
        print("nested", "exp" in inner.names, "exp" in outer.names)
        print("mode stack empty", len(torch.overrides._get_current_function_mode_stack()))
        put("fmd.z", z)


SECTIONS = {"function_mode": section_function_mode, "as_subclass": section_as_subclass,
            "torch_function_log": section_torch_function_log,
            "metadata_tensor": section_metadata_tensor, "overrides": section_overrides,
            "isinstance": section_isinstance}
