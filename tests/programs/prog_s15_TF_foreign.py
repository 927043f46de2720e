"""``__torch_function__`` on classes that are no Tensor subclass, run under PyTorch or deltagrad
(``python prog_s15_TF_foreign.py torch|deltagrad``): prints one JSON line of what each case saw,
which tests/parity/test_s15_TF_foreign.py compares between the two. A subprocess, because such a
class switches dispatch on for the rest of the process."""

import importlib
import json
import sys

torch = importlib.import_module(sys.argv[1])
F = torch.nn.functional


def describe(value):
    if isinstance(value, torch.Tensor):
        values = [round(v, 5) for v in value.detach().double().flatten().tolist()]
        return ["tensor", str(value.dtype).split(".")[-1], list(value.shape), values]
    if isinstance(value, (list, tuple)):
        return [describe(v) for v in value]
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return type(value).__name__


class Marker:
    """Records what its override was given and returns it."""

    def __init__(self, tag):
        self.tag = tag

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return {"by": cls.__name__, "func": func.__name__,
                "types": [t.__name__ for t in types], "args": describe(list(args)),
                "kwargs": sorted(kwargs or {})}


class Child(Marker):
    pass


class Other(Marker):
    pass


class Declines:
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return NotImplemented


class Wrapped:
    """A tensordict-like wrapper: unwraps its arguments, runs the function, wraps the tensors."""

    def __init__(self, data):
        self.data = data

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        def unwrap(v):
            if isinstance(v, Wrapped):
                return v.data
            if isinstance(v, (list, tuple)):
                return type(v)(unwrap(u) for u in v)
            return v
        out = func(*unwrap(args), **{k: unwrap(v) for k, v in (kwargs or {}).items()})
        return Wrapped(out) if isinstance(out, torch.Tensor) else out


x = torch.tensor([[1.0, -2.0], [3.0, 0.5]])
m, c, o = Marker("m"), Child("c"), Other("o")
w = Wrapped(torch.tensor([[0.5, 1.0], [-1.0, 2.0]]))
identity = {}


class Identity:
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        identity[func.__name__] = (func is torch.add or func is torch.Tensor.add
                                   or func is F.relu)
        return 0


CASES = {
    "add": lambda: torch.add(x, m),
    "add_first": lambda: torch.add(m, x),
    "add_kw": lambda: torch.add(x, other=m),
    "add_alpha": lambda: torch.add(x, m, alpha=2),
    "cat_list": lambda: torch.cat([x, m]),
    "stack_tuple": lambda: torch.stack((m, x), dim=1),
    "sum": lambda: torch.sum(m),
    "exp": lambda: torch.exp(m),
    "matmul": lambda: torch.matmul(x, m),
    "where": lambda: torch.where(x > 0, m, x),
    "relu": lambda: F.relu(m),
    "linear": lambda: F.linear(x, m),
    "softmax": lambda: F.softmax(m, dim=0),
    "mse": lambda: F.mse_loss(x, m),
    "method_add": lambda: x.add(m),
    "method_mul_kw": lambda: x.mul(other=m),
    "method_matmul": lambda: x.matmul(m),
    "operator_add": lambda: x + m,
    "operator_radd": lambda: m + x,
    "operator_mul": lambda: x * m,
    "operator_matmul": lambda: x @ m,
    "operator_sub": lambda: x - m,
    "operator_truediv": lambda: x / m,
    "operator_lt": lambda: x < m,
    "priority_child_last": lambda: torch.add(m, c),
    "priority_child_first": lambda: torch.add(c, m),
    "priority_appearance": lambda: torch.add(o, m),
    "fall_through": lambda: torch.add(Declines(), m),
    "fall_through_list": lambda: torch.cat([Declines(), x, o]),
    "all_decline": lambda: torch.add(x, Declines()),
    "all_decline_F": lambda: F.relu(Declines()),
    "all_decline_method": lambda: x.add(Declines()),
    "all_decline_operator": lambda: x + Declines(),
    "wrapped_add": lambda: describe(torch.add(x, w).data),
    "wrapped_operator": lambda: describe((x * w).data),
    "wrapped_cat": lambda: describe(torch.cat([x, w], dim=0).data),
    "wrapped_F": lambda: describe(F.gelu(w).data),
    "wrapped_sum": lambda: describe(torch.sum(w, dim=1).data),
    "identity": lambda: (torch.add(x, Identity()), x.add(Identity()), F.relu(Identity()),
                         dict(identity))[-1],
    "has_torch_function": lambda: [torch.overrides.has_torch_function((x, m)),
                                   torch.overrides.has_torch_function_unary(x),
                                   torch.overrides.has_torch_function_variadic(x, w),
                                   torch.overrides.is_tensor_like(w)],
    "handle_torch_function": lambda: torch.overrides.handle_torch_function(
        torch.add, (x, c, m), x, c, alpha=3),
}


def disabled():
    with torch._C.DisableTorchFunctionSubclass():
        return torch.add(x, m)


CASES["disabled"] = disabled

results = {}
for name, case in CASES.items():
    try:
        got = case()
        results[name] = ["ok", describe(got) if not isinstance(got, dict) else got]
    except Exception as error:  # the exception's class is compared (TypeError's family)
        results[name] = ["error", isinstance(error, TypeError)]
print(json.dumps(results))
