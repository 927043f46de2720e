"""s30 BR25: forward-mode AD under grad modes, differential against PyTorch 2.13.

PyTorch's forward AD does not depend on grad mode: ``with no_grad(): y = d * 2`` gives y the
tangent 2t. Deltagrad's tangents ride on the reverse graph, which no_grad does not record:
y had no tangent (None, silently) and unpack_dual under no_grad raised. Now a result made
without a graph from a dual gets its tangent at once (autograd/forward_ad._no_grad_tangent).
"""
from __future__ import annotations

import numpy as np
import pytest

import deltagrad

torch = pytest.importorskip("torch")

_P = [[1.0, -2.0, 0.5], [0.25, 3.0, -1.5]]
_T = [[0.5, -1.0, 2.0], [1.5, 0.75, -0.25]]


def _tangent(lib, out):
    tangent = lib.autograd.forward_ad.unpack_dual(out).tangent
    return None if tangent is None else tangent.detach().numpy()


def _modes(lib):
    return {"no_grad": lib.no_grad, "set_grad_enabled": lambda: lib.set_grad_enabled(False)}


_FUNCTIONS = {
    "mul": lambda lib, d: d * 2,
    "sin": lambda lib, d: d.sin(),
    "chain": lambda lib, d: (d * d).exp().sum(1),
    "matmul": lambda lib, d: d @ d.t(),
    "softmax": lambda lib, d: lib.softmax(d, 1),
    "relu_linear": lambda lib, d: lib.nn.functional.linear(
        lib.relu(d), lib.tensor([[1.0, 2.0, -1.0]])),
    "cat_sum": lambda lib, d: lib.cat([d, d * d]).sum(),
    "clone": lambda lib, d: d.clone(),
    "view": lambda lib, d: d[1:, ::2],
    "transpose": lambda lib, d: d.t(),
    "max_pool": lambda lib, d: lib.nn.functional.max_pool1d(d[None], 2),
    "where": lambda lib, d: lib.where(d > 0, d, d * d),
    "contiguous": lambda lib, d: d.t().contiguous() * 1,  # (its direct copy had no tangent)
    "permute_copy": lambda lib, d: lib.permute_copy(d, (1, 0)),
    "as_strided": lambda lib, d: d.as_strided((2, 2), (1, 2), 1),
    "eigvalsh": lambda lib, d: lib.linalg.eigvalsh(d @ d.t()),  # (its values-only path: none)
    "detach": lambda lib, d: d.detach(),
    "data": lambda lib, d: d.data,
}


def _run(lib, name, mode, unpack_inside=False):
    fw = lib.autograd.forward_ad
    with fw.dual_level():
        d = fw.make_dual(lib.tensor(_P), lib.tensor(_T))
        with _modes(lib)[mode]():
            out = _FUNCTIONS[name](lib, d)
            inside = _tangent(lib, out) if unpack_inside else None
        return out.detach().numpy(), _tangent(lib, out), inside


@pytest.mark.parametrize("mode", ["no_grad", "set_grad_enabled"])
@pytest.mark.parametrize("name", sorted(_FUNCTIONS))
def test_out_of_place_under_grad_off(name, mode):
    got = _run(deltagrad, name, mode, unpack_inside=True)
    want = _run(torch, name, mode, unpack_inside=True)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6)
    for a, b in zip(got[1:], want[1:]):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_inference_mode_gives_no_tangent():
    for lib in (deltagrad, torch):
        fw = lib.autograd.forward_ad
        with fw.dual_level():
            d = fw.make_dual(lib.tensor(_P), lib.tensor(_T))
            with lib.inference_mode():
                y = d * 2
                assert fw.unpack_dual(y).tangent is None
            assert fw.unpack_dual(y).tangent is None


def test_enable_grad_inside_no_grad_and_later_ops():
    def run(lib):
        fw = lib.autograd.forward_ad
        with fw.dual_level():
            d = fw.make_dual(lib.tensor(_P), lib.tensor(_T))
            with lib.no_grad():
                h = d * 2
                with lib.enable_grad():
                    z = d.sin() * h
            mixed = h.exp() + d  # (grad mode on again, over a result made under no_grad)
            return [_tangent(lib, v) for v in (h, z, mixed)]

    for a, b in zip(run(deltagrad), run(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_tangent_has_no_graph_under_no_grad():
    # a primal and a tangent that require grad: PyTorch's tangent under no_grad has no graph
    def run(lib):
        fw = lib.autograd.forward_ad
        p = lib.tensor(_P, requires_grad=True)
        t = lib.tensor(_T, requires_grad=True)
        with fw.dual_level():
            d = fw.make_dual(p, t)
            with lib.no_grad():
                y = d * d
            tangent = fw.unpack_dual(y).tangent
            return tangent.requires_grad, tangent.detach().numpy()

    got, want = run(deltagrad), run(torch)
    assert got[0] == want[0] is False
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6)


def test_inplace_under_no_grad_on_results_and_views():
    def run(lib):
        fw = lib.autograd.forward_ad
        p, t = lib.tensor(_P[0]), lib.tensor(_T[0])
        with fw.dual_level():
            d = fw.make_dual(p, t)
            with lib.no_grad():
                w = d * 1
                w.mul_(3)
                w[0] = 5.0
                view = d[1:]
                view.mul_(2)
                view[0] = 3.0
                lib.nn.functional.relu(w, inplace=True)
                methods = d - 0.5
                methods.tanh_().sigmoid_()
                methods.relu_()
            return [x.tolist() for x in (p, t, fw.unpack_dual(view).tangent,
                                         fw.unpack_dual(w).tangent, w)], [
                x.numpy() for x in fw.unpack_dual(methods)]

    got, want = run(deltagrad), run(torch)
    assert got[0] == want[0]
    for a, b in zip(got[1], want[1]):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_inplace_under_no_grad_on_a_graph_result_raises():
    # PyTorch's tangent follows the write (6t); deltagrad's would stay 2t: refused, not silent
    fw = deltagrad.autograd.forward_ad
    with fw.dual_level():
        d = fw.make_dual(deltagrad.tensor(_P), deltagrad.tensor(_T))
        g = d * 2
        with deltagrad.no_grad():
            with pytest.raises(NotImplementedError, match="in-place op under no_grad"):
                g.mul_(3)
            with pytest.raises(NotImplementedError, match="in-place op under no_grad"):
                g.fill_(1.0)
            plain = deltagrad.ones(2, 3, requires_grad=True) * 2
            plain.mul_(3)  # (no dual behind it: written as before)
        assert plain.tolist() == [[6.0] * 3] * 2


def test_func_jvp_under_no_grad():
    def run(lib):
        x = lib.tensor(_P)
        with lib.no_grad():
            out, tangent = lib.func.jvp(lambda a: (a * a).sin(), (x,), (lib.tensor(_T),))
        return out.numpy(), tangent.requires_grad, tangent.numpy()

    got, want = run(deltagrad), run(torch)
    assert got[1] == want[1]
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-5)


def test_module_forward_under_no_grad_with_dual_parameters():
    def run(lib):
        lib.manual_seed(0)
        fw = lib.autograd.forward_ad
        model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2))
        with lib.no_grad():
            for k, param in enumerate(model.parameters()):
                param.copy_(lib.linspace(-1.0, 1.0, param.numel()).reshape(param.shape) * (k + 1))
        params = {k: v.detach() for k, v in model.named_parameters()}
        with fw.dual_level():
            duals = {k: fw.make_dual(v, lib.ones_like(v) * 0.5) for k, v in params.items()}
            x = fw.make_dual(lib.tensor(_P), lib.tensor(_T))
            with lib.no_grad():
                y = lib.func.functional_call(model, duals, (x,))
            return y.detach().numpy(), _tangent(lib, y)

    for a, b in zip(run(deltagrad), run(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_function_with_jvp_under_no_grad():
    def run(lib):
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_forward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, g):
                raise AssertionError("not reached")

            @staticmethod
            def jvp(ctx, t):
                (x,) = ctx.saved_tensors
                return 3 * x * x * t

        fw = lib.autograd.forward_ad
        with fw.dual_level():
            d = fw.make_dual(lib.tensor(_P), lib.tensor(_T))
            with lib.no_grad():
                y = Cube.apply(d * 2) + 1
            z = y.sin()  # (grad mode on over the no_grad result)
            return _tangent(lib, y), _tangent(lib, z)

    for a, b in zip(run(deltagrad), run(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-5)


def test_transformer_layer_under_no_grad_refuses_as_pytorch():
    # PyTorch's fused encoder layer has no forward AD; deltagrad's no_grad plan has no tangents
    # (it gave None, silently): both raise NotImplementedError now
    for lib in (deltagrad, torch):
        lib.manual_seed(0)
        layer = lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True).eval()
        fw = lib.autograd.forward_ad
        with fw.dual_level():
            d = fw.make_dual(lib.ones(2, 3, 8), lib.ones(2, 3, 8))
            with lib.no_grad(), pytest.raises(NotImplementedError, match="forward AD"):
                layer(d)


def test_no_grad_results_are_forgotten_with_them():
    # (each result made under no_grad from a dual is one: its entry goes when it dies)
    fw = deltagrad.autograd.forward_ad
    with fw.dual_level():
        d = fw.make_dual(deltagrad.tensor(_P), deltagrad.tensor(_T))
        level = fw._levels[-1]
        with deltagrad.no_grad():
            for _ in range(50):
                y = (d * 2).sin()
        assert len(level.duals) <= 4
        np.testing.assert_allclose(_tangent(deltagrad, y),
                                   np.cos(2 * np.array(_P)) * 2 * np.array(_T), rtol=1e-6)


def test_inplace_on_as_strided_view_under_no_grad_raises():
    # (PyTorch's write reaches the dual's tangent; deltagrad's as_strided tangent is a copy:
    # refused, with the values unwritten, rather than left stale)
    fw = deltagrad.autograd.forward_ad
    p, t = deltagrad.tensor([1.0, 2.0, 3.0]), deltagrad.tensor([1.0, 1.0, 1.0])
    with fw.dual_level():
        d = fw.make_dual(p, t)
        with deltagrad.no_grad():
            view = d.as_strided((2,), (1,), 1)
            with pytest.raises(NotImplementedError, match="as_strided"):
                view.mul_(2)
    assert p.tolist() == [1.0, 2.0, 3.0] and t.tolist() == [1.0, 1.0, 1.0]
