"""Session 30, BR22: autograd differences left by session 29, each run on deltagrad and on
PyTorch 2.13 with the same code.

- In-place ops on a forward-AD dual made from a primal that does not require grad (or on a
  view of one): PyTorch's dual is a view of the primal outside any graph, so ``d.mul_(2)``
  writes the primal and the tangent given to make_dual takes the op's tangent in place;
  deltagrad raised the leaf error. Under no_grad too (deltagrad wrote the values and left the
  tangent stale, silently).
- Reverse over forward: a tangent whose PyTorch formula reads a primal that requires grad
  requires grad (``d * 2``: a zero gradient to the primal); deltagrad's did not (backward
  through it raised), or reached fewer inputs (a zero ``.grad`` in PyTorch, None here).
- rrelu in place under forward AD: PyTorch has no formula for rrelu_with_noise_
  (NotImplementedError); deltagrad computed.
- A complex gradient under create_graph ended in ConjPhysicalBackward0 (the engine's
  conj(rule(conj(g)))); PyTorch's formula grad * conj(f'(z)) ends in the rule's op, as the real
  gradient does (MulBackward0 for sin).
- fft's create_graph gradient of a real input warned "Casting complex values to real"
  (PyTorch's engine does not).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad  # noqa: E402


def _run_dual(lib, write, dtype="float64", grad_mode=True):
    """(primal, tangent given, tangent read back, tangent of d * 3) after ``write(d)``."""
    fw = lib.autograd.forward_ad
    dt = getattr(lib, dtype)
    p = lib.tensor([1.0, -2.0, 0.5], dtype=dt)
    t = lib.tensor([0.5, -1.0, 2.0], dtype=dt)
    with fw.dual_level():
        d = fw.make_dual(p, t)
        with lib.set_grad_enabled(grad_mode):
            out = write(lib, d)
        assert out is None or out is d
        read = fw.unpack_dual(d).tangent
        after = fw.unpack_dual(d * 3).tangent
        same = read is t
        return [np.array(x.tolist()) for x in (p, t, read, after)], same


def _no_result(_):
    return None


_WRITES = {
    "mul_": lambda lib, d: d.mul_(2),
    "add_tensor": lambda lib, d: d.add_(lib.tensor([1.0, 1.0, 1.0], dtype=d.dtype)),
    "sin_": lambda lib, d: d.sin_(),
    "div_": lambda lib, d: d.div_(4),
    "clamp_": lambda lib, d: d.clamp_(0, 1),
    "relu_inplace": lambda lib, d: lib.nn.functional.relu(d, inplace=True),
    "elu_": lambda lib, d: lib.nn.functional.elu_(d),
    "hardtanh_inplace": lambda lib, d: lib.nn.functional.hardtanh(d, inplace=True),
    "copy_": lambda lib, d: d.copy_(lib.tensor([5.0, 6.0, 7.0], dtype=d.dtype)),
    "zero_": lambda lib, d: d.zero_(),
    "fill_": lambda lib, d: d.fill_(3.0),
    "iadd": lambda lib, d: d.__iadd__(lib.tensor([1.0, 2.0, 3.0], dtype=d.dtype)),
    "setitem": lambda lib, d: d.__setitem__(0, 7.0),
    "mul_dual": lambda lib, d: d.mul_(lib.autograd.forward_ad.make_dual(
        lib.tensor([3.0, 4.0, 5.0], dtype=d.dtype), lib.tensor([1.0, 1.0, 1.0], dtype=d.dtype))),
    # through views of the dual: the primal's region and the tangent's region change
    "slice_mul_": lambda lib, d: _no_result(d[1:].mul_(2)),
    "view_of_view_exp_": lambda lib, d: _no_result(d.view(3, 1)[::2].exp_()),
    "view_setitem": lambda lib, d: d[1:].__setitem__(0, 9.0),
    "view_zero_": lambda lib, d: _no_result(d[:2].zero_()),
}


@pytest.mark.parametrize("name", sorted(_WRITES))
def test_inplace_on_dual_of_plain_primal(name):
    got, got_same = _run_dual(deltagrad, _WRITES[name])
    want, want_same = _run_dual(torch, _WRITES[name])
    assert got_same == want_same
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", ["mul_", "sin_", "elu_", "setitem", "fill_", "zero_", "copy_",
                                  "clamp_"])
def test_inplace_on_dual_under_no_grad(name):
    got, _ = _run_dual(deltagrad, _WRITES[name], grad_mode=False)
    want, _ = _run_dual(torch, _WRITES[name], grad_mode=False)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


def test_inplace_on_view_of_dual_taken_under_no_grad():
    # PyTorch's tangent follows (its region doubles). Deltagrad refused this until s30 BR25 gave
    # a view taken under no_grad the view of the dual's tangent (forward_ad._no_grad_tangent).
    def run(lib):
        fw = lib.autograd.forward_ad
        p, t = lib.tensor([1.0, -2.0, 0.5]), lib.tensor([0.5, -1.0, 2.0])
        with fw.dual_level():
            d = fw.make_dual(p, t)
            with lib.no_grad():
                view = d[1:]
                view.mul_(2)
        return p.tolist(), t.tolist()

    assert run(deltagrad) == run(torch)


def test_inplace_on_dual_float32_values():
    got, _ = _run_dual(deltagrad, _WRITES["mul_"], dtype="float32")
    want, _ = _run_dual(torch, _WRITES["mul_"], dtype="float32")
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def _refused(lib, setup):
    fw = lib.autograd.forward_ad
    p = lib.tensor([1.0, -2.0], requires_grad=setup == "primal_requires_grad")
    t = lib.tensor([0.5, -1.0], requires_grad=setup == "tangent_requires_grad")
    with fw.dual_level():
        d = fw.make_dual(p, t)
        with pytest.raises(RuntimeError) as info:
            d.mul_(2)
    return str(info.value)


@pytest.mark.parametrize("setup", ["primal_requires_grad", "tangent_requires_grad"])
def test_inplace_on_dual_still_refused_where_pytorch_refuses(setup):
    # (PyTorch: "a view of a leaf Variable ..." / "a leaf Variable ..."; the same here)
    assert _refused(deltagrad, setup) == _refused(torch, setup)


def test_plain_leaf_still_refused_inside_a_dual_level():
    for lib in (torch, deltagrad):
        fw = lib.autograd.forward_ad
        w = lib.ones(2, requires_grad=True)
        with fw.dual_level():
            fw.make_dual(lib.ones(2), lib.ones(2))
            with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
                w.mul_(2)


def test_dual_leaf_hook_only_inside_a_level():
    from deltagrad._engine.api.write_checks import DUAL_LEAF

    fw = deltagrad.autograd.forward_ad
    assert DUAL_LEAF[0] is None
    with fw.dual_level():
        assert DUAL_LEAF[0] is not None
    assert DUAL_LEAF[0] is None


@pytest.mark.parametrize("form", ["dual", "nonleaf", "function"])
def test_rrelu_inplace_under_forward_ad_raises(form):
    messages = []
    for lib in (torch, deltagrad):
        fw = lib.autograd.forward_ad
        p = lib.tensor([1.0, -2.0, 0.5], dtype=lib.float64)
        with fw.dual_level():
            d = fw.make_dual(p, lib.ones(3, dtype=lib.float64))
            with pytest.raises(NotImplementedError) as info:
                if form == "dual":
                    lib.nn.functional.rrelu(d, inplace=True)
                elif form == "nonleaf":
                    lib.nn.functional.rrelu(d * 1, inplace=True)
                else:
                    lib.rrelu_(d * 1)
        messages.append(str(info.value).split(" because")[0])
    assert messages[0] == messages[1]


def test_rrelu_out_of_place_under_forward_ad_still_computes():
    tangents = []
    for lib in (torch, deltagrad):
        fw = lib.autograd.forward_ad
        with fw.dual_level():
            d = fw.make_dual(lib.tensor([1.0, -2.0], dtype=lib.float64),
                             lib.tensor([0.5, 1.0], dtype=lib.float64))
            tangents.append(fw.unpack_dual(lib.nn.functional.rrelu(d)).tangent.tolist())
    np.testing.assert_allclose(tangents[1], tangents[0], rtol=1e-12)


# -- complex gradients under create_graph: the last node's name ----------------------------------

_COMPLEX = {
    "sin": lambda lib, z: lib.sin(z).abs().sum(),
    "exp": lambda lib, z: lib.exp(z).abs().sum(),
    "log": lambda lib, z: lib.log(z).abs().sum(),
    "sqrt": lambda lib, z: lib.sqrt(z).abs().sum(),
    "reciprocal": lambda lib, z: lib.reciprocal(z).abs().sum(),
    "square": lambda lib, z: lib.square(z).abs().sum(),
    "mul_self": lambda lib, z: (z * z).abs().sum(),
    "pow2": lambda lib, z: (z ** 2).abs().sum(),
    "rdiv": lambda lib, z: (1 / z).abs().sum(),
    "rsqrt": lambda lib, z: lib.rsqrt(z).abs().sum(),
}


def _complex_grad(lib, name):
    z = lib.tensor([1.5 + 0.5j, -0.3 + 0.8j], dtype=lib.complex128, requires_grad=True)
    (g,) = lib.autograd.grad(_COMPLEX[name](lib, z), z, create_graph=True)
    node = (g.grad_fn.name(), len(g.grad_fn.next_functions))
    (gg,) = lib.autograd.grad(g.abs().sum(), z)
    return g, gg, node


@pytest.mark.parametrize("name", sorted(_COMPLEX))
def test_complex_create_graph_gradient_node_name(name):
    g, gg, node = _complex_grad(deltagrad, name)
    tg, tgg, tnode = _complex_grad(torch, name)
    assert node == tnode
    np.testing.assert_allclose(np.array(g.tolist()), np.array(tg.tolist()), rtol=1e-12)
    np.testing.assert_allclose(np.array(gg.tolist()), np.array(tgg.tolist()), rtol=1e-10)


def test_complex_gradient_without_create_graph_unchanged():
    z = deltagrad.tensor([1.5 + 0.5j], dtype=deltagrad.complex128, requires_grad=True)
    (g,) = deltagrad.autograd.grad(deltagrad.sin(z).abs().sum(), z)
    assert g.grad_fn is None


# -- reverse over forward: when a tangent requires grad (a primal that requires grad) ----------

_REVERSE_OVER_FORWARD = {
    "mul_const": lambda lib, d: d * lib.tensor([3.0, 4.0, 5.0]),
    "mul_scalar": lambda lib, d: d * 2,
    "matmul": lambda lib, d: d @ lib.tensor([3.0, 4.0, 5.0]),
    "linear": lambda lib, d: lib.nn.functional.linear(d, lib.ones(2, 3)),
    "linear_weight_rg": lambda lib, d: lib.nn.functional.linear(
        d, lib.ones(2, 3, requires_grad=True), lib.ones(2, requires_grad=True)),
    "relu": lambda lib, d: lib.relu(d),
    "abs": lambda lib, d: d.abs(),
    "sin": lambda lib, d: d.sin(),
    "square": lambda lib, d: d * d,
    "add": lambda lib, d: d + 1,
    "sum": lambda lib, d: d.sum(),
    "view": lambda lib, d: d.view(3, 1),
    "clamp": lambda lib, d: d.clamp(0, 1),
    "where": lambda lib, d: lib.where(d > 0, d, lib.zeros(3)),
    "cat": lambda lib, d: lib.cat([d, d]),
    "amax": lambda lib, d: d.amax(),
    "mul_then_sum": lambda lib, d: (d * 2).sum(),
    "add_then_mul": lambda lib, d: (d + 1) * lib.tensor([1.0, 2.0, 3.0]),
}


def _reverse_over_forward(lib, name, primal_rg, tangent_rg):
    fw = lib.autograd.forward_ad
    p = lib.tensor([1.0, -2.0, 0.5], requires_grad=primal_rg)
    t = lib.tensor([0.5, -1.0, 2.0], requires_grad=tangent_rg)
    with fw.dual_level():
        tangent = fw.unpack_dual(_REVERSE_OVER_FORWARD[name](lib, fw.make_dual(p, t))).tangent
        values = tangent.clone().detach().tolist()
        rg = tangent.requires_grad
        node = tangent.grad_fn.name() if name == "linear_weight_rg" else None
        grads = None
        if rg:
            tangent.sum().backward()
            # (clone: PyTorch's zero gradient here is a ZeroTensor, whose tolist raises)
            grads = [None if x.grad is None else x.grad.clone().tolist() for x in (p, t)]
    return values, rg, grads, node


@pytest.mark.parametrize("primal_rg,tangent_rg",
                         [(True, False), (False, False), (False, True), (True, True)],
                         ids=["primal_rg", "plain", "tangent_rg", "both_rg"])
@pytest.mark.parametrize("name", sorted(_REVERSE_OVER_FORWARD))
def test_reverse_over_forward(name, primal_rg, tangent_rg):
    got = _reverse_over_forward(deltagrad, name, primal_rg, tangent_rg)
    want = _reverse_over_forward(torch, name, primal_rg, tangent_rg)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6)
    assert got[1] == want[1]  # (whether the tangent requires grad)
    assert got[3] == want[3]  # (a tangent with a graph of its own keeps its node's name)
    if want[2] is not None:
        for a, b in zip(got[2], want[2]):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=1e-6)


def test_fft_create_graph_of_real_input_does_not_warn():
    import warnings

    x = deltagrad.tensor([1.0, -2.0, 0.5, 3.0], dtype=deltagrad.float64, requires_grad=True)
    tx = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (g,) = deltagrad.autograd.grad(deltagrad.fft.fft(x).abs().sum(), x, create_graph=True)
        (tg,) = torch.autograd.grad(torch.fft.fft(tx).abs().sum(), tx, create_graph=True)
    np.testing.assert_allclose(g.tolist(), tg.tolist(), rtol=1e-12)
    assert g.grad_fn.name() == tg.grad_fn.name()


def _sweep_functions(lib):
    F = lib.nn.functional
    m = lib.ones(4)
    return {
        "add": lambda d: d + 1, "add_tensor": lambda d: d + m, "sub": lambda d: d - 1,
        "neg": lambda d: -d, "sum": lambda d: d.sum(), "mean": lambda d: d.mean(),
        "cumsum": lambda d: d.cumsum(0), "reshape": lambda d: d.reshape(2, 2),
        "t": lambda d: d.reshape(2, 2).t(), "expand": lambda d: d.expand(3, 4),
        "slice": lambda d: d[1:3], "index": lambda d: d[lib.tensor([0, 2])],
        "diagonal": lambda d: d.reshape(2, 2).diagonal(), "cat": lambda d: lib.cat([d, d]),
        "stack": lambda d: lib.stack([d, d]), "clone": lambda d: d.clone(),
        "double": lambda d: d.double(), "pad": lambda d: F.pad(d, (1, 1)),
        "repeat": lambda d: d.repeat(2), "gather": lambda d: d.gather(0, lib.tensor([1, 0])),
        "where": lambda d: lib.where(d > 0, d, lib.zeros(4)), "clamp": lambda d: d.clamp(0, 1),
        "clamp_min": lambda d: d.clamp_min(0), "relu": lambda d: d.relu(),
        "hardtanh": lambda d: F.hardtanh(d), "abs": lambda d: d.abs(), "mul2": lambda d: d * 2,
        "div2": lambda d: d / 2, "matmul": lambda d: d @ m,
        "linear": lambda d: F.linear(d, lib.ones(3, 4)), "fft": lambda d: lib.fft.fft(d).real,
        "masked_fill": lambda d: d.masked_fill(d > 0, 0.0),
        "index_put": lambda d: d.index_put((lib.tensor([0]),), lib.tensor([1.0])),
        "flip": lambda d: d.flip(0), "roll": lambda d: d.roll(1),
        "tril": lambda d: d.reshape(2, 2).tril(), "unfold": lambda d: d.unfold(0, 2, 1),
        "as_strided": lambda d: d.as_strided((2,), (2,)),
        "maximum": lambda d: lib.maximum(d, lib.zeros(4)), "amax": lambda d: d.amax(),
        "lerp": lambda d: lib.lerp(d, m, 0.5), "deg2rad": lambda d: d.deg2rad(),
        "complex": lambda d: lib.view_as_real(lib.complex(d, d)),
        "dropout_eval": lambda d: F.dropout(d, training=False), "sign": lambda d: d.sign(),
        "floor": lambda d: d.floor(),
        "scatter_add": lambda d: lib.zeros(4).scatter_add(0, lib.tensor([0, 1, 2, 3]), d),
        "index_add": lambda d: lib.zeros(4).index_add(0, lib.tensor([0, 1, 2, 3]), d),
        "prod": lambda d: d.prod(), "max": lambda d: d.max(), "sort": lambda d: d.sort()[0],
        "std": lambda d: d.std(), "softmax": lambda d: d.softmax(0),
        "nan_to_num": lambda d: d.nan_to_num(), "trunc": lambda d: d.trunc(),
        "round": lambda d: d.round(), "tanh": lambda d: d.tanh(),
        "leaky_relu": lambda d: F.leaky_relu(d), "threshold": lambda d: F.threshold(d, 0.0, 1.0),
    }


_SWEPT = sorted(_sweep_functions(torch))


def test_tangent_requires_grad_as_pytorch_over_functions():
    # (one test: 59 functions, a primal that requires grad, a plain tangent)
    found = {}
    for lib in (torch, deltagrad):
        fw = lib.autograd.forward_ad
        for name, f in _sweep_functions(lib).items():
            p = lib.tensor([1.0, -2.0, 0.5, 3.0], requires_grad=True)
            with fw.dual_level():
                tangent = fw.unpack_dual(f(fw.make_dual(p, lib.ones(4)))).tangent
                found.setdefault(name, []).append(tangent.requires_grad)
    assert len(found) == len(_SWEPT) == 59
    assert {k: v for k, v in found.items() if v[0] != v[1]} == {}
