"""PyTorch's ``__torch_function__`` protocol, compared with PyTorch: which class each result
has, which ``func`` every override is called with, the values and the gradients."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

# (label, call): m is the library, s a subclass instance of 4 elements, x a plain tensor
OPS = [
    ("add", lambda m, s, x: s + 1), ("radd", lambda m, s, x: 1 + s),
    ("mul_plain", lambda m, s, x: x * s), ("rsub", lambda m, s, x: 2 - s),
    ("truediv", lambda m, s, x: s / 2), ("rtruediv", lambda m, s, x: 2 / (s + 1)),
    ("neg", lambda m, s, x: -s), ("pow", lambda m, s, x: s ** 2),
    ("lt", lambda m, s, x: s < 2), ("eq", lambda m, s, x: s == 1),
    ("getitem", lambda m, s, x: s[1:3]), ("matmul", lambda m, s, x: s @ x),
    ("exp", lambda m, s, x: m.exp(s)), ("add_fn", lambda m, s, x: m.add(x, s, alpha=2)),
    ("cat", lambda m, s, x: m.cat([x, s])), ("stack", lambda m, s, x: m.stack((s, x))),
    ("where", lambda m, s, x: m.where(s > 1, s, x)), ("sum", lambda m, s, x: s.sum()),
    ("sum_dim", lambda m, s, x: m.sum(s.reshape(2, 2), dim=1)),
    ("max_dim", lambda m, s, x: s.reshape(2, 2).max(1)), ("split", lambda m, s, x: m.split(s, 2)),
    ("relu", lambda m, s, x: m.nn.functional.relu(s - 1)),
    ("softmax", lambda m, s, x: m.nn.functional.softmax(s, dim=0)),
    ("linear", lambda m, s, x: m.nn.functional.linear(s.reshape(1, 4), m.ones(3, 4))),
    ("norm", lambda m, s, x: m.linalg.norm(s)), ("erf", lambda m, s, x: m.special.erf(s)),
    ("view", lambda m, s, x: s.view(2, 2)), ("T", lambda m, s, x: s.reshape(2, 2).T),
    ("clone", lambda m, s, x: s.clone()), ("detach", lambda m, s, x: s.detach()),
    ("tensor_split", lambda m, s, x: m.tensor_split(s, indices=(-1,))),
]


def _describe(value):
    if isinstance(value, tuple | list):
        return [_describe(v) for v in value]
    if hasattr(value, "tolist"):
        return type(value).__name__, np.round(np.asarray(value.tolist(), dtype=float), 5).tolist()
    return type(value).__name__, value


def _name(func) -> str:
    # deltagrad's Tensor methods can be shared functions with private names (`reshape` is
    # `_reshape`); PyTorch's special functions are named `special_erf`. The name compared:
    name = getattr(func, "__name__", "?").lstrip("_")
    return name.removeprefix("special_").removesuffix("_method")


def _classes(m, log):
    class Plain(m.Tensor):
        pass

    class Logged(m.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            log.append((_name(func), sorted(t.__name__ for t in types)))
            return super().__torch_function__(func, types, args, kwargs)

    class Disabled(m.Tensor):
        __torch_function__ = m._C._disabled_torch_function_impl

    class Tagged(m.Tensor):
        # A metadata-carrying subclass (MONAI's MetaTensor, torchvision's tv_tensors): the
        # override copies the tag of the first tagged argument onto every tensor result.
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            tags = [a.tag for a in args if isinstance(a, Tagged) and hasattr(a, "tag")]
            out = super().__torch_function__(func, types, args, kwargs)
            if tags:
                for value in out if isinstance(out, tuple | list) else (out,):
                    if isinstance(value, Tagged):
                        value.tag = tags[0]
            return out

    return {"plain": Plain, "logged": Logged, "disabled": Disabled, "tagged": Tagged}


@pytest.mark.parametrize("kind", ["plain", "logged", "disabled", "tagged"])
@pytest.mark.parametrize(("label", "call"), OPS, ids=[op[0] for op in OPS])
def test_results_and_calls_match_torch(kind, label, call):
    def run(m):
        log = []
        cls = _classes(m, log)[kind]
        s = m.arange(4.0).as_subclass(cls)
        if kind == "tagged":
            s.tag = "t"
        log.clear()
        result = call(m, s, m.ones(4))
        tags = [getattr(v, "tag", None) for v in (result if isinstance(result, tuple | list)
                                                   else (result,))]
        return _describe(result), log, tags

    ours, theirs = run(dg), run(torch)
    assert ours[0] == theirs[0]
    assert ours[2] == theirs[2]
    if kind == "logged":  # the first call's func and types (later ones are internal details)
        assert ours[1][:1] == theirs[1][:1]


def test_gradients_flow_through_a_dispatching_subclass():
    def run(m):
        log = []
        cls = _classes(m, log)["logged"]
        w = m.tensor([1.0, -2.0, 3.0], requires_grad=True)
        y = (m.tanh(w.as_subclass(cls)) * 2).sum()
        y.backward()
        return type(y).__name__, w.grad.tolist()

    (kind_d, grad_d), (kind_t, grad_t) = run(dg), run(torch)
    assert kind_d == kind_t == "Logged"
    np.testing.assert_allclose(grad_d, grad_t, rtol=1e-5)


def test_a_duck_typed_class_is_called_for_the_functions_it_handles():
    def run(m):
        _classes(m, [])  # a Tensor subclass exists (deltagrad's wrappers are armed by it)
        handled = {}

        class Scalar:
            def __init__(self, n, value):
                self.n, self.value = n, value

            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                if func not in handled:
                    return NotImplemented
                return handled[func](*args, **(kwargs or {}))

        handled[m.mean] = lambda s: s.value
        handled[m.diagonal] = lambda s: m.full((s.n,), float(s.value))
        d = Scalar(3, 2.0)
        with pytest.raises(TypeError):
            m.exp(d)
        return m.mean(d), m.diagonal(d).tolist(), m.overrides.has_torch_function((d,))

    assert run(dg) == run(torch) == (2.0, [2.0, 2.0, 2.0], True)


def test_disable_torch_function_subclass_and_the_queries_match_torch():
    def run(m):
        cls = _classes(m, [])["logged"]
        s = m.ones(2).as_subclass(cls)
        answers = [m.overrides.has_torch_function((s,)),
                   m.overrides.has_torch_function((m.ones(1),)),
                   m.overrides.has_torch_function((m.nn.Parameter(m.ones(1)),)),
                   m.overrides.has_torch_function_unary(s), m.overrides.is_tensor_like(s),
                   type(m.nn.Parameter(m.ones(1)) * 2).__name__]
        with m._C.DisableTorchFunctionSubclass():
            answers += [type(m.exp(s)).__name__, type(s + 1).__name__,
                        m.overrides.has_torch_function((s,))]
        answers.append(type(m.exp(s)).__name__)
        return answers

    assert run(dg) == run(torch)


def test_handle_torch_function_in_user_code_matches_torch():
    def run(m):
        calls = []

        def my_op(x, y=1):
            if m.overrides.has_torch_function_variadic(x):
                return m.overrides.handle_torch_function(my_op, (x,), x, y=y)
            return x * y

        class Box(m.Tensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                calls.append(func.__name__)
                return super().__torch_function__(func, types, args, kwargs)

        out = my_op(m.arange(3.0).as_subclass(Box), y=2)
        return type(out).__name__, out.tolist(), calls[:1]

    assert run(dg) == run(torch) == ("Box", [0.0, 2.0, 4.0], ["my_op"])


def test_a_subclass_made_by_its_own_new_takes_its_keywords():
    # torchvision's BoundingBoxes(data, format=..., canvas_size=...): __new__ builds the tensor
    # and Python then calls __init__ with the same keywords, which must do nothing.
    def run(m):
        class Boxes(m.Tensor):
            def __new__(cls, data, *, fmt, size):
                out = m.as_tensor(data).as_subclass(cls)
                out.fmt, out.size_ = fmt, size
                return out

        b = Boxes([[1.0, 2.0, 3.0, 4.0]], fmt="xyxy", size=(8, 8))
        return type(b).__name__, b.fmt, b.size_, b.tolist(), type(b * 2).__name__

    assert run(dg) == run(torch)


@pytest.mark.parametrize("spec", [dict(indices=(-1,)), dict(indices=[4, 2]),
                                  dict(indices=[-10]), dict(indices=[2, -2]), dict(indices=[7]),
                                  dict(sections=4), dict(tensor_indices_or_sections="t"),
                                  dict(sections=[1]), dict(indices=2)])
def test_tensor_split_keywords_and_negative_indices_match_torch(spec):
    def run(m):
        if spec.get("tensor_indices_or_sections") == "t":
            kwargs = {"tensor_indices_or_sections": m.tensor([1, -1])}
        else:
            kwargs = spec
        try:
            return [p.tolist() for p in m.tensor_split(m.arange(6), **kwargs, dim=0)]
        except TypeError:
            return "TypeError"

    assert run(dg) == run(torch)
