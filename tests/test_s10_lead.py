"""Session 10, the lead's fixes: names libraries reach for, checked against PyTorch."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def test_as_subclass_keeps_memory_graph_and_prints_the_class_name():
    class Ours(dg.Tensor):
        pass

    class Theirs(torch.Tensor):
        pass

    for m, cls in ((dg, Ours), (torch, Theirs)):
        x = m.ones(3, requires_grad=True)
        y = (x * 2).as_subclass(cls)
        assert type(y) is cls and y.requires_grad
        (y * 3).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0, 6.0])
        base = m.zeros(3)
        view = base.as_subclass(cls)
        view[0] = 5.0
        assert base[0].item() == 5.0
        assert repr(view).replace(cls.__name__, "S") == "S([5., 0., 0.])"
    with pytest.raises(TypeError):
        dg.ones(2).as_subclass(int)


def test_private_samplers_draw_pytorchs_numbers():
    for dtype in ("float32", "float64"):
        alpha = np.array([0.5, 2.0, 7.5], dtype=dtype)
        dg.manual_seed(3)
        torch.manual_seed(3)
        ours = dg._standard_gamma(dg.tensor(alpha, requires_grad=True))
        theirs = torch._standard_gamma(torch.tensor(alpha, requires_grad=True))
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6)
        assert ours.requires_grad and str(ours.dtype)[-7:] == str(theirs.dtype)[-7:]
        rows = np.array([[0.5, 2.0, 1.0], [3.0, 0.2, 0.7]], dtype=dtype)
        dg.manual_seed(5)
        torch.manual_seed(5)
        ours = dg._sample_dirichlet(dg.tensor(rows))
        theirs = torch._sample_dirichlet(torch.tensor(rows))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
        assert ours.dtype == dg.tensor(rows).dtype


def test_vmap_internals_passes_none_through():
    from deltagrad._vmap_internals import _vmap

    for m, vm in ((dg, _vmap), (torch, torch._vmap_internals._vmap)):
        out, none = vm(lambda x: (x * 2, None), allow_none_pass_through=True)(m.ones(2, 3))
        assert none is None and tuple(out.shape) == (2, 3)
        summed = vm(lambda x, y: (x * y).sum(), in_dims=(0, None))(m.ones(2, 3), m.ones(3))
        np.testing.assert_array_equal(summed.numpy(), [3.0, 3.0])


def test_bce_with_logits_float64_input_float32_target_has_an_exact_gradient():
    # PyTorch's backward works in the input's dtype; ours cast to the target's dtype before
    # the mean, so the float64 gradient was only float32-accurate (found by P2's programs).
    x = np.random.default_rng(0).standard_normal(7)
    t = (np.random.default_rng(1).random(7) > 0.5).astype(np.float32)
    grads = []
    for m in (dg, torch):
        for reduction in ("mean", "sum", "none"):
            xi = m.tensor(x, requires_grad=True)
            loss = m.nn.functional.binary_cross_entropy_with_logits(xi, m.tensor(t),
                                                                    reduction=reduction)
            assert str(loss.dtype).endswith("float32")
            loss.sum().backward()
            grads.append(xi.grad.numpy())
    for ours, theirs in zip(grads[:3], grads[3:]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-14)


def test_comparing_with_a_foreign_object_defers_to_it():
    # torchode's tests compare tensors with pytest.approx: PyTorch gives the other object its
    # say (NotImplemented), ours raised a NumPy ufunc error; `t == object()` is Python's False.
    approx = pytest.approx([1.0, 2.0])

    class Other:
        def __eq__(self, other):
            return "other"

    for m in (dg, torch):
        t = m.tensor([1.0, 2.0])
        assert (t == approx) is True and (t == object()) is False and (t == Other()) == "other"
        with pytest.raises(TypeError, match="not supported between instances of 'Tensor'"):
            t < None  # noqa: B015
        a = m.tensor([253, 1], dtype=m.uint8)
        assert (a == m.tensor(-3, dtype=m.int8)).tolist() == [True, False]


def test_tensors_print_as_pytorchs_under_the_alias(tmp_path):
    # Subclasses print their class name; deltagrad's own Tensor stays `tensor(` also when its
    # module reads `torch` (an early version of the subclass rule printed `Tensor(`).
    import subprocess
    import sys

    script = tmp_path / "show.py"
    script.write_text("import torch\nclass S(torch.Tensor):\n    pass\n"
                      "print(repr(torch.ones(2)), repr(torch.ones(2).as_subclass(S)))\n")
    shown = subprocess.run([sys.executable, "-m", "deltagrad", "run", str(script)],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert shown == "tensor([1., 1.]) S([1., 1.])"


def test_linspace_takes_a_tensor_step_count():
    # vector-quantize-pytorch's LatentQuantize passes levels from a tensor (0-d tensors).
    for m in (dg, torch):
        out = m.linspace(-0.5, 0.5, m.tensor(5))
        np.testing.assert_array_equal(out.numpy(), [-0.5, -0.25, 0.0, 0.25, 0.5])
        assert m.logspace(0, 1, m.tensor(3)).shape == (3,)
