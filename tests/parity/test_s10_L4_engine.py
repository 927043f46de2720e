"""Autograd engine details against PyTorch (session 10, helper L4): ``.grad`` assignment checks
and the non-leaf warning, the order of tensor hooks / retain_grad / node pre-hooks /
post-accumulate hooks, what a hook may return, non-Tensor gradients, CopySlices node names
and inference tensors' restrictions. Each case runs on both modules; the exception class (and
message gist), or the values, are compared."""

import itertools
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402


def _outcome(function, m):
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = function(m)
        # (backward(create_graph=True)'s warning comes once per process in both libraries: which
        # test of a worker gets it depends on the order, so it is not compared here)
        kinds = [w.category.__name__ for w in caught if w.category is not DeprecationWarning
                 and "create_graph=True will create a reference cycle" not in str(w.message)]
        return "ok", value, kinds
    except Exception as error:  # noqa: BLE001 - the class is what is compared
        return "err", type(error), str(error)


def _compare(function, gist=None):
    expected, got = _outcome(function, torch), _outcome(function, dg)
    assert expected[0] == got[0], (expected, got)
    if expected[0] == "err":
        assert issubclass(got[1], expected[1]), (expected, got)
        if gist is not None:
            assert gist in expected[2] and gist in got[2], (expected[2], got[2])
    else:
        assert expected[1] == got[1] and expected[2] == got[2], (expected, got)


def _x(m, n=3, dtype="float64"):
    return m.ones(n, dtype=getattr(m, dtype), requires_grad=True)


# ------------------------------------------------------------------ .grad assignment

GRAD_VALUES = {
    "size": (lambda m: m.zeros(4, dtype=m.float64), "size"),
    "dtype": (lambda m: m.zeros(3, dtype=m.float32), "dtype"),
    "int_dtype": (lambda m: m.zeros(3, dtype=m.int64), "dtype"),
    "list": (lambda m: [1.0, 2.0, 3.0], "expected to be a Tensor or None"),
    "ndarray": (lambda m: np.zeros(3), "expected to be a Tensor or None"),
    "meta": (lambda m: m.zeros(3, dtype=m.float64, device="meta"), "device"),
    "ok": (lambda m: m.full((3,), 2.0, dtype=m.float64), None),
    "none": (lambda m: None, None),
}


@pytest.mark.parametrize("which", sorted(GRAD_VALUES))
def test_grad_assignment(which):
    make, gist = GRAD_VALUES[which]

    def case(m):
        x = _x(m)
        x.grad = make(m)
        (x * 2).sum().backward()
        return x.grad.tolist()

    _compare(case, gist)


def test_grad_assignment_of_itself_and_delete():
    def itself(m):
        x = _x(m)
        x.grad = x

    def delete(m):
        x = _x(m)
        (x * 2).sum().backward()
        del x.grad
        return x.grad

    _compare(itself, "own grad")
    _compare(delete)


def test_grad_of_non_leaf_warns_unless_retained():
    def read(m, retain, assign):
        h = _x(m) * 2
        if retain:
            h.retain_grad()
        if assign:
            h.grad = m.ones(3, dtype=m.float64)
        (h * h).sum().backward()
        return h.grad is None

    for retain, assign in itertools.product((False, True), repeat=2):
        _compare(lambda m: read(m, retain, assign))  # noqa: B023 - called at once


def test_sparse_grad_is_accepted():
    x = dg.ones(3, 2, requires_grad=True)
    emb = dg.nn.Embedding(3, 2, sparse=True)
    emb(dg.tensor([0, 2])).sum().backward()
    x.grad = emb.weight.grad
    assert x.grad.is_sparse


# ------------------------------------------------------------------ hook order


def _hooked(m, order, create_graph):
    log = []
    x = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
    x.register_hook(lambda g: (log.append(("xh", g.tolist())), g * 5)[1])
    x.register_post_accumulate_grad_hook(lambda t: log.append(("post", t.grad.tolist())))
    y = x.exp()
    for kind in order:
        if kind == "pre":
            y.grad_fn.register_prehook(
                lambda go: (log.append(("pre", go[0].tolist())), (go[0] + 1,))[1])
        elif kind == "hook":
            y.register_hook(lambda g: (log.append(("hook", g.tolist())), g * 2)[1])
        else:
            y.retain_grad()
    y.sum().backward(create_graph=create_graph)
    rounded = [(name, np.round(v, 6).tolist()) for name, v in log]
    grad = None if y.grad is None else np.round(y.grad.tolist(), 6).tolist()
    return grad, rounded, np.round(x.grad.tolist(), 6).tolist()


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("order", list(itertools.permutations(["pre", "hook", "retain"])))
def test_hooks_retain_grad_and_prehooks_run_in_torchs_order(order, create_graph):
    # PyTorch stores a retained .grad after the tensor's hooks, before its node's pre-hooks.
    _compare(lambda m: _hooked(m, order, create_graph))


def test_retained_grad_skips_a_prehooks_change():
    def case(m):
        x = _x(m)
        y = x.exp()
        y.grad_fn.register_prehook(lambda go: (go[0] + 1,))
        y.retain_grad()
        y.sum().backward()
        return y.grad.tolist(), np.round(x.grad.tolist(), 6).tolist()

    _compare(case)


HOOK_RESULTS = {
    "shape": (lambda g: g[:2], "changed the size"),
    "shape_2d": (lambda g: g.reshape(3, 1), "changed the size"),
    "dtype": (lambda g: g.float(), "changed the type"),
    "list": (lambda g: [1.0, 2.0, 3.0], "hook returned 'list'"),
}


@pytest.mark.parametrize("leaf", [False, True])
@pytest.mark.parametrize("which", sorted(HOOK_RESULTS))
def test_a_hook_returning_another_shape_or_type_is_refused(which, leaf):
    hook, gist = HOOK_RESULTS[which]

    def case(m):
        x = _x(m)
        h = x if leaf else x * 2
        h.register_hook(hook)
        (h * 3).sum().backward()

    _compare(case, gist)


# ------------------------------------------------------------------ gradients and retain_grad

@pytest.mark.parametrize("gradient", ["list", "number", "ndarray", "tuple"])
@pytest.mark.parametrize("call", ["backward", "grad"])
def test_a_non_tensor_gradient_is_a_type_error(gradient, call):
    values = {"list": [1.0, 2.0, 3.0], "number": 2.0, "ndarray": np.ones(3),
              "tuple": (1.0, 2.0, 3.0)}

    def case(m):
        x = _x(m)
        y = x * 2
        if call == "backward":
            y.backward(values[gradient])
        else:
            m.autograd.grad(y, x, [values[gradient]])

    _compare(case)


def test_retain_grad_without_requires_grad():
    _compare(lambda m: m.ones(3).retain_grad(), "requires_grad=False")
    _compare(lambda m: _x(m).retain_grad())  # (a leaf that requires grad: a no-op)


# ------------------------------------------------------------------ CopySlices


def _base():
    return lambda m: m.ones(4, 3, dtype=m.float64, requires_grad=True) * 1


WRITES = {
    "slice_view_mul_": lambda h: h[1:3].mul_(2),
    "setitem_slice": lambda h: h.__setitem__(slice(1, 3), 5.0),
    "setitem_int_then_list": lambda h: h.__setitem__((1, [0, 1]), 5.0),
    "setitem_list": lambda h: h.__setitem__([0, 1], 5.0),
    "setitem_mask": lambda h: h.__setitem__(h > 0, 1.0),
    "setitem_none": lambda h: h.__setitem__((None, [0, 1]), 5.0),
    "row_add_": lambda h: h[0].add_(1),
    "t_mul_": lambda h: h.t().mul_(2),
    "view_mul_": lambda h: h.view(12).mul_(2),
    "diagonal_zero_": lambda h: h.diagonal().zero_(),
    "augmented_slice": lambda h: h.__setitem__(slice(1, 3), h[1:3] + 5.0),
}


@pytest.mark.parametrize("which", sorted(WRITES))
def test_node_names_after_a_write_through_a_view(which):
    def case(m):
        h = _base()(m)
        WRITES[which](h)
        (h * h).sum().backward()
        return h.grad_fn.name(), type(h.grad_fn).__name__, repr(h).split("grad_fn=")[1]

    _compare(case)


def test_the_written_view_is_an_as_strided_node():
    def case(m):
        h = _base()(m)
        v = h[:, 0]
        w = v[1:]
        w.mul_(2)
        return v.grad_fn.name(), w.grad_fn.name(), h.grad_fn.name()

    _compare(case)


# ------------------------------------------------------------------ inference tensors

INFERENCE = {
    "mul_saved": lambda m, x, y: (x * y).sum().item(),
    "add_not_saved": lambda m, x, y: (x + y).sum().item(),
    "mul_method": lambda m, x, y: y.mul(x).sum().item(),
    "matmul": lambda m, x, y: (x @ y).item(),
    "where": lambda m, x, y: m.where(x > 0, x, y).sum().item(),
    "backward": lambda m, x, y: (x * y).sum().backward(),
    "add_": lambda m, x, y: y.add_(1),
    "view_add_": lambda m, x, y: y[:2].add_(1),
    "setitem": lambda m, x, y: y.__setitem__(0, 2.0),
    "zero_": lambda m, x, y: y.zero_(),
    "fill_": lambda m, x, y: y.fill_(2.0),
    "copy_": lambda m, x, y: y.copy_(x.detach()),
    "inplace_with_it": lambda m, x, y: (x * 2).mul_(y),
    "requires_grad_": lambda m, x, y: y.requires_grad_(),
    "clone_add_": lambda m, x, y: y.clone().add_(1).tolist(),
    "sum": lambda m, x, y: y.sum().item(),
}


@pytest.mark.parametrize("which", sorted(INFERENCE))
def test_inference_tensors_outside_inference_mode(which):
    def case(m):
        with m.inference_mode():
            y = m.ones(3)
        x = m.ones(3, requires_grad=True)
        result = INFERENCE[which](m, x, y)
        return result if isinstance(result, (float, list)) else None

    _compare(case)


def test_inference_tensors_inside_inference_mode_are_free():
    def case(m):
        with m.inference_mode():
            y = m.ones(3)
            y.add_(1)
            y[0] = 5.0
            return y.tolist()

    _compare(case)


# ------------------------------------------------------------------ Tensor subclasses

SUBCLASS_OPS = {
    "add": lambda m, s, x: s + 1,
    "radd": lambda m, s, x: 1 + s,
    "plain_times_sub": lambda m, s, x: x * s,
    "sum": lambda m, s, x: s.sum(),
    "exp_method": lambda m, s, x: s.exp(),
    "getitem": lambda m, s, x: s[0],
    "detach": lambda m, s, x: s.detach(),
    "clone": lambda m, s, x: s.clone(),
    "view": lambda m, s, x: s.view(3),
    "split": lambda m, s, x: s.split(1)[0],
    "max_values": lambda m, s, x: s.max(0)[0],
    "max_indices": lambda m, s, x: s.max(0).indices,
    "add_": lambda m, s, x: s.add_(1),
    "T": lambda m, s, x: s.reshape(3, 1).T,
    "data": lambda m, s, x: s.data,
    "eq": lambda m, s, x: s == 1,
    "grad": lambda m, s, x: (s.requires_grad_(), (s * 2).sum().backward(), s.grad)[2],
    "parameter": lambda m, s, x: m.nn.Parameter(m.ones(2)) * 2,
}


@pytest.mark.parametrize("which", sorted(SUBCLASS_OPS))
def test_methods_of_a_subclass_return_the_subclass(which):
    def case(m):
        class Sub(m.Tensor):
            pass

        s = m.ones(3).as_subclass(Sub)
        result = SUBCLASS_OPS[which](m, s, m.ones(3))
        return type(result).__name__, np.round(result.tolist(), 5).tolist()

    _compare(case)


def test_subclasses_with_their_own_torch_function_are_called_as_torch_calls_them():
    # Session 11: deltagrad implements the protocol (subclassing.py, overrides.py); before,
    # a subclass's own __torch_function__ was never called and its results were plain.
    def results(m):
        class Own(m.Tensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                return super().__torch_function__(func, types, args, kwargs or {})

        class Disabled(m.Tensor):
            __torch_function__ = m._C._disabled_torch_function_impl

        return [type(dg_op).__name__ for dg_op in (
            m.ones(2).as_subclass(Own) + 1, m.exp(m.ones(2).as_subclass(Own)),
            m.ones(2).as_subclass(Disabled) + 1, m.exp(m.ones(2).as_subclass(Disabled)))]

    assert results(dg) == results(torch) == ["Own", "Own", "Tensor", "Tensor"]
