"""Session 9 (lead): autograd semantics third-party libraries found different from PyTorch's.

- every hook of a node receives the same Tensor object (captum's LRP passes state on it);
- ``grad(out, inputs=[mid])`` runs and frees only the nodes between ``out`` and ``mid``;
- complex leaves may require grad (kornia's So2/Se2 parameters), with PyTorch's gradients;
- the tracing queries libraries import (``torch._subclasses.fake_tensor.is_fake``,
  ``torch.fx.experimental.proxy_tensor.get_proxy_mode``), ``torch.Future``, and
  ``torch.conv3d`` kept on a class without binding.
"""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def test_hooks_of_one_node_receive_one_tensor():
    for m in (torch, dg):
        x = m.ones(2, requires_grad=True)
        y = x * 3
        seen = []
        y.register_hook(seen.append)
        y.register_hook(lambda g: setattr(g, "note", 1))
        y.register_hook(lambda g, seen=seen: seen.append(getattr(g, "note", None)))
        y.sum().backward()
        assert seen[0] is not None and seen[1] == 1, m.__name__


def test_hook_returning_a_tensor_replaces_it_for_the_next():
    x = dg.ones(2, requires_grad=True)
    y = x * 3
    seen = []
    y.register_hook(lambda g: g * 2)
    y.register_hook(seen.append)
    y.sum().backward()
    np.testing.assert_allclose(seen[0].numpy(), [2.0, 2.0])
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])


def test_grad_to_an_intermediate_leaves_the_graph_below_it():
    results = []
    for m in (torch, dg):
        m.manual_seed(0)
        x = m.randn(3, 4, requires_grad=True)
        w = m.randn(4, 5, requires_grad=True)
        h = x @ w
        (gh,) = m.autograd.grad((h.relu() * 2).sum(), h)
        (gx,) = m.autograd.grad(h.sum(), x)  # the matmul was not run by the first call
        results.append((gh.numpy(), gx.numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-6)


def test_grad_runs_only_the_paths_to_its_inputs():
    x = dg.randn(3, requires_grad=True)
    w = dg.randn(3, requires_grad=True)
    calls = []
    u = x * 2
    u.register_hook(lambda g: calls.append("u"))  # not on a path to w: never run
    out = (u * w).sum()
    (gw,) = dg.autograd.grad(out, w)
    np.testing.assert_allclose(gw.numpy(), (x * 2).detach().numpy(), rtol=1e-6)
    assert calls == []
    (gx,) = dg.autograd.grad(u.sum(), x)  # u's node was not run, so not freed
    np.testing.assert_allclose(gx.numpy(), [2.0, 2.0, 2.0])


CASES = {
    "abs": lambda m, z: z.abs().sum(),
    "mul_conj": lambda m, z: (z * z.conj()).real.sum(),
    "matmul": lambda m, z: (z @ z.mT).abs().sum(),
    "exp": lambda m, z: m.view_as_real(z.exp()).sum(),
    "norm": lambda m, z: m.linalg.norm(z),
    "angle": lambda m, z: z.angle().sum(),
    "div_real": lambda m, z: (z / (z.abs() + 1)).real.sum(),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_complex_leaves_get_pytorchs_gradients(name):
    rng = np.random.default_rng(1)
    a = (rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))).astype(np.complex64)
    grads = []
    for m in (torch, dg):
        z = m.tensor(a, requires_grad=True)
        (g,) = m.autograd.grad(CASES[name](m, z), z)
        assert g.dtype == m.complex64
        grads.append(g.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-5, atol=1e-6)


def test_complex_parameter():
    grads = []
    for m in (torch, dg):
        p = m.nn.Parameter(m.tensor([1 + 1j, 2 - 1j]))
        (p * p).abs().sum().backward()
        assert p.dtype == m.complex64
        grads.append(p.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-6)


def test_complex_var_gradient_is_pytorchs():
    # var of a complex tensor is real (session 10; it refused the gradient before).
    torch = pytest.importorskip("torch")
    grads = []
    for m in (dg, torch):
        z = m.tensor([1 + 1j, 2 - 1j, 0.5j], requires_grad=True)
        z.var().backward()
        grads.append(z.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)


def test_integer_leaves_still_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating"):
        dg.ones(2, dtype=dg.int64).requires_grad_()


def test_tracing_queries_and_top_level_names():
    from deltagrad._subclasses.fake_tensor import is_fake
    from deltagrad.fx.experimental.proxy_tensor import get_proxy_mode, make_fx

    assert is_fake(dg.ones(1)) is False and get_proxy_mode() is None
    with pytest.raises(NotImplementedError, match="tracer"):
        make_fx(lambda x: x)
    from deltagrad.futures import Future

    assert dg.Future is Future

    class Holder:
        conv = dg.conv3d

    x, w = dg.ones(1, 1, 2, 2, 2), dg.ones(1, 1, 1, 1, 1)
    assert Holder().conv(x, weight=w).shape == (1, 1, 2, 2, 2)


def test_leak_check_walks_less_often_while_nothing_grows(monkeypatch):
    from deltagrad.autograd import memory

    walks = []
    real = memory.graph_stats
    monkeypatch.setattr(memory, "graph_stats", lambda: walks.append(1) or real())
    dg.set_leak_check(every=1, patience=3)
    try:
        w = dg.ones(2, requires_grad=True)
        opt = dg.optim.SGD([w], lr=0.1)
        for _ in range(40):
            (w * 2).sum()  # a forward dropped without backward: unfreed, but no leak
            (w * 3).sum().backward()
            opt.step()
        assert 3 <= len(walks) <= 8  # 1, 2, 4, 8, 16 checks apart: not one walk per check
        kept = []
        with pytest.warns(dg.GraphLeakWarning):
            for _ in range(200):  # a real leak is still reported
                kept.append((w * 2).sum())
                opt.step()
    finally:
        dg.set_leak_check()


@pytest.mark.parametrize("shape", [(2, 4), (64, 64)])  # layer_norm's small and large paths
def test_layer_norm_output_changed_in_place_still_backwards(shape):
    # (vit-pytorch's SimpleViT, CaiT, MONAI's SwinUNETR: x = norm(x); x += pos)
    results = []
    for m in (torch, dg):
        m.manual_seed(0)
        norm = m.nn.LayerNorm(shape[-1])
        x = m.randn(*shape, requires_grad=True)
        y = norm(x)
        y += 1.0
        y.mul_(2)
        (y * y).sum().backward()
        results.append((x.grad.numpy().copy(), norm.weight.grad.numpy().copy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-4)


def test_layer_norm_input_changed_in_place_still_raises():
    x = dg.randn(2, 4, requires_grad=True)
    h = x * 1.0
    y = dg.nn.functional.layer_norm(h, (4,))
    h.add_(1.0)  # the input is what the backward reads: PyTorch raises too
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_return_types_print_as_pytorchs():
    for name, call in [("topk", lambda m, x: m.topk(x, 1)), ("max", lambda m, x: m.max(x, 0)),
                       ("sort", lambda m, x: m.sort(x))]:
        expected = repr(call(torch, torch.tensor([[3.0, 1.0], [2.0, 5.0]])))
        got = repr(call(dg, dg.tensor([[3.0, 1.0], [2.0, 5.0]])))
        assert got == expected.replace("torch.", "deltagrad."), name


OPERATOR_CASES = {
    "t+list": lambda m: m.ones(3) + [1.0, 2.0, 3.0],
    "list+t": lambda m: [1.0, 2.0, 3.0] + m.ones(3),
    "t*tuple": lambda m: m.ones(3) * (1.0, 2.0, 3.0),
    "list-t": lambda m: [1.0, 2.0, 3.0] - m.ones(3),
    "t/list": lambda m: m.ones(3) / [1.0, 2.0, 3.0],
    "list/t": lambda m: [1.0, 2.0, 3.0] / m.ones(3),
    "t**list": lambda m: m.ones(3) ** [1.0, 2.0, 3.0],
    "list**t": lambda m: [1.0, 2.0, 3.0] ** m.ones(3),
    "t<list": lambda m: m.ones(3) < [1.0, 2.0, 3.0],
    "t&list": lambda m: m.ones(3, dtype=m.int64) & [1, 2, 3],
    "list|t": lambda m: [1, 2, 3] | m.ones(3, dtype=m.int64),
    "t<<list": lambda m: m.ones(3, dtype=m.int64) << [1, 2, 3],
    "t//list": lambda m: m.ones(3) // [1.0, 2.0, 3.0],
}


@pytest.mark.parametrize("name", sorted(OPERATOR_CASES))
def test_operators_refuse_lists_and_tuples_as_pytorch(name):
    for m in (torch, dg):
        with pytest.raises(TypeError):
            OPERATOR_CASES[name](m)


def test_equality_with_a_list_is_identity_as_pytorch():
    for m in (torch, dg):
        assert (m.ones(3) == [1.0, 1.0, 1.0]) is False
        assert (m.ones(3) != [1.0, 1.0, 1.0]) is True
    assert dg.equal(dg.ones(3) + np.ones(3), dg.full((3,), 2.0, dtype=dg.float64))


def test_torch_functional_and_jit_classes():
    import deltagrad.functional as functional

    for name in torch.functional.__all__:
        assert getattr(functional, name) is getattr(dg, name), name
    assert dg.functional is functional
    assert issubclass(dg.jit.TracerWarning, Warning) and issubclass(dg.jit.Error, Exception)


def test_bfloat16_with_python_floats_and_statistics_keep_bfloat16():
    results = []
    for m in (torch, dg):
        z = m.tensor(1.5).to(m.bfloat16)
        x = (m.ones(3) * 0.3).to(m.bfloat16)
        c = m.tensor([[1.0, 2.0, 4.0], [0.5, 3.0, 1.0]]).to(m.bfloat16)
        outs = [z + 2.5, 2.5 - z, 0.1 * z, x * 0.1, x + 0.1, m.cov(c), m.corrcoef(c)]
        results.append([(str(o.dtype).split(".")[-1], o.float().numpy()) for o in outs])
    for (dtype_t, value_t), (dtype_d, value_d) in zip(*results):
        assert dtype_d == dtype_t == "bfloat16"
        np.testing.assert_array_equal(value_d, value_t)


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
def test_factories_without_a_size_raise_as_pytorch(name):
    for m in (torch, dg):
        with pytest.raises(TypeError, match="size"):
            getattr(m, name)(dtype=m.float32)
        assert getattr(m, name)(()).shape == ()


@pytest.mark.parametrize("name", ["is_floating_point", "is_complex", "is_signed", "numel",
                                  "is_nonzero"])
def test_dtype_queries_refuse_non_tensors_with_pytorchs_type_error(name):
    messages = []
    for m in (torch, dg):
        with pytest.raises(TypeError) as caught:
            getattr(m, name)([1.0])
        messages.append(str(caught.value))
    assert messages[1] == messages[0]
