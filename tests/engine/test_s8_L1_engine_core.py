"""Engine-core differences found by session 8's probes, each checked against PyTorch: tensor
attributes (__dict__), NumPy ufuncs on tensors, the is_<device> attributes, grad's
is_grads_batched / materialize_grads, warning-free backward and scalar casts, detach_() of
views, and `.data` writes with their own version counter."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")
special = pytest.importorskip("scipy.special")

MODULES = {"torch": torch, "deltagrad": dg}


def _outcome(function, module):
    """(kind, value): the result as comparable numbers, or the exception's class name."""
    try:
        result = function(module)
    except Exception as error:  # noqa: BLE001 - the exception type is what is compared
        return "raises", type(error).__name__
    return "value", _plain(result, module)


def _plain(result, module):
    if isinstance(result, tuple):
        return tuple(_plain(item, module) for item in result)
    if isinstance(result, module.Tensor):
        data = result.detach().numpy()
        values = data.astype(object)
        if data.dtype.kind == "f":
            values[np.isnan(data)] = "nan"  # (nan == nan in the comparison)
        return (type(result).__name__, str(result.dtype).split(".")[-1], data.shape,
                values.tolist(), result.requires_grad)
    if isinstance(result, np.ndarray):
        return ("ndarray", result.dtype.name, result.shape, result.tolist())
    return result


def _same(function):
    real, ours = _outcome(function, torch), _outcome(function, dg)
    if real[0] == "raises":  # deltagrad's errors subclass PyTorch's builtin ones
        assert ours[0] == "raises", (real, ours)
        assert real[1] == ours[1] or real[1] == "RuntimeError" and ours[1] in (
            "GraphError", "ShapeError", "DTypeError"), (real, ours)
    else:
        assert real == ours


# ---------------------------------------------------------------------------------------------
# 1. Tensors take attributes of their own (pyro's `._pyro_dims`, `.unconstrained`).

def test_tensor_attributes_survive_copy_and_pickle():
    for m in MODULES.values():
        x = m.zeros(2)
        x.tag = [1]
        assert x.__dict__ == {"tag": [1]}
        deep = copy.deepcopy(x)
        assert deep.tag == [1] and deep.tag is not x.tag
        assert copy.copy(x).tag is x.tag
        assert pickle.loads(pickle.dumps(x)).tag == [1]
        assert x.detach().__dict__ == {} and x.clone().__dict__ == {} and x[:1].__dict__ == {}
        assert m.nn.Parameter(x).__dict__ == {}
        p = m.nn.Parameter(m.ones(2))
        p.unconstrained = 3
        assert p.unconstrained == 3 and isinstance(p, m.nn.Parameter)


def test_tensor_attribute_does_not_shadow_slots():
    x = dg.ones(2, requires_grad=True)
    x.note = "kept"
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0] and x.note == "kept"


# ---------------------------------------------------------------------------------------------
# 2. NumPy interop: ufuncs on tensors give tensors (__array_wrap__), as PyTorch's.

UFUNC_CASES = {
    "exp": lambda m: np.exp(m.tensor([1.0, 2.0])),
    "exp_0d": lambda m: np.exp(m.tensor(1.0)),
    "binom_int": lambda m: special.binom(4, m.tensor(2)),
    "binom_float": lambda m: special.binom(4, m.tensor([2.0, 3.0])),
    "greater_is_uint8": lambda m: np.greater(m.tensor([1.0, 2.0]), 1),
    "logical_not": lambda m: np.logical_not(m.tensor([True, False])),
    "add_int": lambda m: np.add(m.tensor([1, 2]), 1),
    "float16": lambda m: np.exp(m.tensor([1.0, 2.0], dtype=m.float16)),
    "float64": lambda m: np.sqrt(m.tensor([1.0, 2.0], dtype=m.float64)),
    "transposed": lambda m: np.exp(m.arange(6.0).reshape(2, 3).t()),
    "divmod": lambda m: np.divmod(m.tensor([3.0, 5.0]), 2),
    "reduce": lambda m: np.add.reduce(m.tensor([1.0, 2.0])),
    "expit": lambda m: special.expit(m.tensor([0.5, -1.0])),
    "empty": lambda m: np.exp(m.zeros(0, 2)),
    "requires_grad": lambda m: np.exp(m.ones(2, requires_grad=True)),
    "asarray_requires_grad": lambda m: np.asarray(m.ones(2, requires_grad=True)),
    "asarray": lambda m: np.asarray(m.tensor([1.0, 2.0])),
    "out_tensor": lambda m: np.exp(np.ones(2), out=m.zeros(2)),
    "scalar_times_grad": lambda m: np.float32(2) * m.ones(2, requires_grad=True),
    "f64_scalar_plus": lambda m: np.float64(2) + m.tensor([1.0, 2.0]),
    "int_scalar_times": lambda m: np.int64(2) * m.tensor([1.0, 2.0]),
    "ndarray_eq": lambda m: np.ones(2) == m.tensor([1.0, 2.0]),
}


@pytest.mark.parametrize("name", sorted(UFUNC_CASES))
def test_numpy_ufuncs_on_tensors(name):
    _same(UFUNC_CASES[name])


def test_numpy_array_copy_is_a_copy():
    t = dg.tensor([1.0, 2.0])
    copied = np.array(t)
    copied[0] = 9.0
    assert t.tolist() == [1.0, 2.0]


def test_ndarray_operand_as_pytorch():
    # Session 10: as PyTorch, `ndarray * Tensor` raises TypeError (its __rmul__ refuses the
    # ndarray) and `Tensor * ndarray` is NumPy's (refused for a tensor that requires grad);
    # a NumPy scalar is a number and keeps the graph (tests/parity/test_s10_L5_ndarray_ops.py).
    w = dg.ones(2, requires_grad=True)
    with pytest.raises(TypeError):
        np.array([2.0, 3.0], dtype=np.float32) * w
    with pytest.raises(RuntimeError):
        w * np.array([2.0, 3.0], dtype=np.float32)
    (np.float32(2) * w).sum().backward()
    assert w.grad.tolist() == [2.0, 2.0]


# ---------------------------------------------------------------------------------------------
# 3. Device and format questions.

def test_is_device_attributes_match_torch():
    real, ours = torch.zeros(1), dg.zeros(1)
    names = [n for n in dir(torch.Tensor) if n.startswith("is_")]
    assert len(names) > 20
    for name in names:
        if name in ("is_same_size", "is_set_to"):
            continue  # take an argument: below
        _same(lambda m, name=name: (lambda v: v() if callable(v) else v)(
            getattr(m.zeros(1) if m is torch else ours, name)))
    assert real.is_mps is False and ours.is_mps is False


def test_is_set_to():
    for case in (lambda m, x: x.is_set_to(x), lambda m, x: x.is_set_to(x[:]),
                 lambda m, x: x.is_set_to(x[:1]), lambda m, x: x.is_set_to(x.t()),
                 lambda m, x: x.is_set_to(x.clone()), lambda m, x: x.is_set_to(1)):
        _same(lambda m, case=case: case(m, m.zeros(2, 2)))


# ---------------------------------------------------------------------------------------------
# 4. grad(is_grads_batched=True): a Jacobian's rows from grad_outputs=eye(n) (zuko's CNF).

X = np.array([0.5, -1.2, 2.0], dtype=np.float32)

BATCHED_CASES = {
    "jacobian": lambda m, x, u: m.autograd.grad(x ** 2, x, m.eye(3), is_grads_batched=True),
    "two_outputs": lambda m, x, u: m.autograd.grad(
        [x ** 2, x * 3], x, [m.eye(3), 2 * m.eye(3)], is_grads_batched=True),
    "two_inputs": lambda m, x, u: m.autograd.grad(
        (x.sum() * u).exp(), [x, u], m.ones(4, 2), is_grads_batched=True),
    "unused_raises": lambda m, x, u: m.autograd.grad(
        x ** 2, [x, u], m.eye(3), is_grads_batched=True),
    "allow_unused": lambda m, x, u: m.autograd.grad(
        x ** 2, [x, u], m.eye(3), is_grads_batched=True, allow_unused=True),
    "materialize": lambda m, x, u: m.autograd.grad(
        x ** 2, [x, u], m.eye(3), is_grads_batched=True, materialize_grads=True),
    "materialize_unbatched": lambda m, x, u: m.autograd.grad(
        x ** 2, [x, u], m.ones(3), materialize_grads=True),
    "materialize_disallowed": lambda m, x, u: m.autograd.grad(
        x ** 2, x, m.ones(3), allow_unused=False, materialize_grads=True),
    "no_grad_outputs": lambda m, x, u: m.autograd.grad(x ** 2, x, is_grads_batched=True),
    "unbatched_grad_output": lambda m, x, u: m.autograd.grad(
        x ** 2, x, m.ones(3), is_grads_batched=True),
    "wrong_shape": lambda m, x, u: m.autograd.grad(x ** 2, x, m.ones(2, 4), is_grads_batched=True),
    "batch_sizes_differ": lambda m, x, u: m.autograd.grad(
        [x ** 2, x * 3], x, [m.eye(3), m.ones(2, 3)], is_grads_batched=True),
    "float64_grad_outputs": lambda m, x, u: m.autograd.grad(
        x ** 2, x, m.eye(3, dtype=m.float64), is_grads_batched=True),
    "graph_freed_after": lambda m, x, u: (lambda y: (
        m.autograd.grad(y, x, m.eye(3), is_grads_batched=True),
        m.autograd.grad(y, x, m.ones(3))))(x.exp()),
    "graph_retained": lambda m, x, u: (lambda y: (
        m.autograd.grad(y, x, m.eye(3), is_grads_batched=True, retain_graph=True),
        m.autograd.grad(y, x, m.ones(3))))(x.exp()),
    "second_order": lambda m, x, u: m.autograd.grad(m.autograd.grad(
        x ** 3, x, m.eye(3), is_grads_batched=True, create_graph=True)[0].sum(), x),
}


@pytest.mark.parametrize("name", sorted(BATCHED_CASES))
def test_grad_is_grads_batched(name):
    def run(m):
        x = m.tensor(X, requires_grad=True)
        u = m.tensor([1.0, 2.0], requires_grad=True)
        return BATCHED_CASES[name](m, x, u)

    real, ours = _outcome(run, torch), _outcome(run, dg)
    if real[0] == "value":
        assert ours[0] == "value", ours
        np.testing.assert_allclose(np.array(_numbers(ours[1]), dtype=float),
                                   np.array(_numbers(real[1]), dtype=float), rtol=1e-6)
        assert _kinds(ours[1]) == _kinds(real[1])
    else:
        _same(run)


def _numbers(value):
    if isinstance(value, tuple) and value and isinstance(value[0], str):  # one tensor
        return np.ravel(value[3]).tolist()
    if value is None:
        return []
    return [n for item in value for n in _numbers(item)]


def _kinds(value):  # dtypes, shapes and requires_grad, without the numbers
    if isinstance(value, tuple) and value and isinstance(value[0], str):
        return value[1], value[2], value[4]
    return value if value is None else tuple(_kinds(item) for item in value)


def test_batched_create_graph_result_requires_grad():
    x = dg.tensor(X, requires_grad=True)
    (jac,) = dg.autograd.grad(x ** 2, x, dg.eye(3), is_grads_batched=True, create_graph=True)
    assert jac.requires_grad and jac.grad_fn is not None and jac.shape == (3, 3)


# ---------------------------------------------------------------------------------------------
# 5. No NumPy RuntimeWarnings where PyTorch is silent.

def test_backward_sweeps_do_not_warn():
    def run(m):
        x = m.tensor([3e38, 0.0, 1.0], requires_grad=True)
        y = m.tensor([[3e38, np.inf, 2.0]] * 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (deltagrad's forward multiply warns; documented)
            out = x * y
            loss = (x.exp() * 0).sum()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out.backward(m.full((2, 3), 3e38), retain_graph=True)
            first = x.grad.clone()
            x.grad = None
            (g,) = m.autograd.grad(out, x, m.full((2, 3), 3e38), create_graph=True)
            loss.backward()
        return first, g, x.grad

    _same(run)


SCALAR_CASES = {
    "float32_times_huge": lambda m: m.ones(2) * 1e300,
    "zero_times_huge": lambda m: m.zeros(1) * 1e300,
    "minus_huge": lambda m: m.ones(1) - 1e300,
    "float16_times_big": lambda m: m.ones(1, dtype=m.float16) * 7e4,
    "float16_times_tiny": lambda m: m.ones(1, dtype=m.float16) * 1e-10,
    "float16_times_big_int": lambda m: m.ones(1, dtype=m.float16) * 10 ** 6,
    "int_beyond_int64": lambda m: m.ones(1) * 10 ** 39,
    "inplace": lambda m: m.ones(1).mul_(1e300),
    "radd": lambda m: 1e300 + m.ones(1),
    "nan": lambda m: m.ones(1) * float("nan"),
    "inf": lambda m: m.ones(1) * float("inf"),
    "float64_in_range": lambda m: m.ones(1, dtype=m.float64) * 1e300,
    "in_range": lambda m: m.ones(1) * 6e4,
    "grad": lambda m: m.ones(1, requires_grad=True) * 1e300,
}


@pytest.mark.parametrize("name", sorted(SCALAR_CASES))
def test_scalar_cast_beyond_dtype_is_silent(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if name != "zero_times_huge":  # (0 * inf warns in the forward multiply: documented)
            _same(SCALAR_CASES[name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _same(SCALAR_CASES[name])


# ---------------------------------------------------------------------------------------------
# 6. detach_() refuses views.

VIEWS = {
    "t": lambda m, x, w: x.t(), "slice": lambda m, x, w: x[:2], "view": lambda m, x, w: x.view(6),
    "reshape": lambda m, x, w: x.reshape(6), "select": lambda m, x, w: x[0],
    "diagonal": lambda m, x, w: x.diagonal(), "expand": lambda m, x, w: x.expand(2, 3, 2),
    "unsqueeze": lambda m, x, w: x.unsqueeze(0), "narrow": lambda m, x, w: x.narrow(0, 0, 1),
    "unbind": lambda m, x, w: x.unbind()[0], "split": lambda m, x, w: x.split(1)[0],
    "permute": lambda m, x, w: x.permute(1, 0), "unfold": lambda m, x, w: x.unfold(0, 2, 1),
    "leaf_view": lambda m, x, w: w[:2], "leaf_t": lambda m, x, w: w.t(),
    # not views: detach_ works
    "detach": lambda m, x, w: x.detach(), "data": lambda m, x, w: x.data,
    "index_list": lambda m, x, w: x[[0, 1]], "clone": lambda m, x, w: x.clone(),
    "contiguous": lambda m, x, w: x.t().contiguous(), "leaf": lambda m, x, w: w,
    "t_reshape": lambda m, x, w: x.t().reshape(6), "t_detach": lambda m, x, w: x.t().detach(),
    "channels_last": lambda m, x, w: m.zeros(2, 3, 4, 4).contiguous(
        memory_format=m.channels_last),
    "max_values": lambda m, x, w: m.zeros(2, 3, 4).max(1)[0],
    "group_norm": lambda m, x, w: m.nn.functional.group_norm(m.ones(2, 4, 3), 2),
    "op_result": lambda m, x, w: (w * 2).exp(),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_detach_in_place(name):
    def run(m):
        x = m.zeros(3, 2)
        w = m.zeros(3, 2, requires_grad=True)
        view = VIEWS[name](m, x, w)
        return view.detach_().requires_grad, view.is_leaf

    def function_form(m):
        x = m.zeros(3, 2)
        w = m.zeros(3, 2, requires_grad=True)
        return m.detach_(VIEWS[name](m, x, w)).is_leaf

    _same(run)
    _same(function_form)


# ---------------------------------------------------------------------------------------------
# 7. Writes through `.data` have their own version counter (torchdiffeq's unchecked assign).

DATA_CASES = {
    "setitem": lambda m, x, w: (x[:2] * w, x.data.__setitem__(2, 5.0)),
    "add_": lambda m, x, w: (x * w, x.data.add_(1)),
    "view_of_data": lambda m, x, w: (x * w, x.data[:2].add_(1)),
    "inplace_raises": lambda m, x, w: (x * w, x.add_(1)),
    "leaf_data_mul_": lambda m, x, w: (w * w, w.data.mul_(2)),
}


@pytest.mark.parametrize("name", sorted(DATA_CASES))
def test_data_writes_have_their_own_version(name):
    def run(m):
        x = m.zeros(3)
        w = m.ones(3, requires_grad=True)
        y, _ = DATA_CASES[name](m, x, w)
        y.sum().backward()
        return w.grad, x, w.detach()

    _same(run)


def test_data_versions():
    def run(m):
        x = m.zeros(3)
        x.add_(1)
        data = x.data
        before = (x._version, data._version)
        data.add_(1)
        return before + (x._version, data._version, x.tolist())

    _same(run)


def test_data_write_wins_over_known_gradient_rows():
    emb = dg.nn.Embedding(5, 2, sparse=False)
    emb(dg.tensor([1])).sum().backward()
    emb.weight.grad.data[3] = 1.0  # written where the engine cannot see it
    assert emb.weight.grad[3].tolist() == [1.0, 1.0]


def test_views_pickle_and_copy_as_plain_tensors():
    x = dg.zeros(3, 2)
    view = x.t()
    view.tag = 1
    for other in (pickle.loads(pickle.dumps(view)), copy.deepcopy(view)):
        assert other.tag == 1 and other.shape == (2, 3)
        assert other.detach_().is_leaf  # a copy is no view (PyTorch's deepcopy neither)
    with pytest.raises(RuntimeError, match="Can't detach views in-place"):
        view.detach_()


def test_operators_defer_to_sequence_types_with_operators():
    # zuko's NestedTensor: `dt * nested` is nested.__rmul__(dt) in PyTorch.
    class Nested(tuple):
        def __rmul__(self, other):
            return Nested(other * item for item in self)

    for m in MODULES.values():
        dt = m.tensor(2.0)
        out = dt * Nested((m.ones(2), m.ones(1)))
        assert type(out) is Nested and out[0].tolist() == [2.0, 2.0]
        with pytest.raises(TypeError):
            dt - Nested((m.ones(2),))
