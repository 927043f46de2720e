"""Regressions of what PyTorch's documentation examples (test_s28_DX2_docexamples.py) found in
nn / autograd / func / sparse / masked / testing, each checked against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _raises(function):
    try:
        function()
    except Exception as exc:  # noqa: BLE001 - compared by class
        return type(exc).__name__
    return None


# ------------------------------------------------------------------------ torch.sparse.mm


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support")
def test_sparse_mm_node_name_is_sparse_addmm():
    for lib in (torch, dg):
        dense = lib.tensor([[1.0, 0, 2], [0, 3, 0]])
        b = lib.tensor([[0, 1.0], [2, 0], [0, 0]], requires_grad=True)
        names = [lib.sparse.mm(dense.to_sparse().requires_grad_(), b).grad_fn.name(),
                 lib.sparse.mm(dense.to_sparse(), b).grad_fn.name(),
                 lib.sparse.mm(dense.to_sparse_csr(), b).grad_fn.name()]
        assert names == ["SparseAddmmBackward0"] * 3, (lib.__name__, names)


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support")
@pytest.mark.parametrize("reduce", ["sum", "mean", "amax", "amin", "max", "min"])
def test_sparse_mm_reduce_values_and_gradient(reduce):
    # rows with two entries, one, none, a negative one; products that tie (zeros in b)
    a = np.array([[1.0, 0, 2], [0, 3, 0], [0, 0, 0], [0, 0, -1.0]], dtype=np.float32)
    b = np.array([[0, 1.0], [2, 0], [0, -4]], dtype=np.float32)
    out = {}
    for lib in (torch, dg):
        mat2 = lib.tensor(b, requires_grad=True)
        y = lib.sparse.mm(lib.tensor(a).to_sparse_csr(), mat2, reduce)
        (y * lib.tensor([[1.0, 2.0]])).sum().backward()
        out[lib.__name__] = (y.detach().numpy(), mat2.grad.numpy(), y.grad_fn.name())
    want, got = out["torch"], out["deltagrad"]
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert got[2] == want[2] == "SparseMmReduceImplBackward0"


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support")
def test_sparse_mm_reduce_errors():
    for reduce, layout in (("prod", "csr"), ("foo", "csr"), ("sum", "coo")):
        kinds = []
        for lib in (torch, dg):
            a = lib.eye(2)
            a = a.to_sparse_csr() if layout == "csr" else a.to_sparse()
            kinds.append(_raises(lambda lib=lib, a=a, reduce=reduce:
                                 lib.sparse.mm(a, lib.ones(2, 2), reduce)))
        assert kinds[0] is not None and kinds[0] == kinds[1], (reduce, layout, kinds)
    # (deltagrad computes no gradient into the CSR operand of a reduce: it says so)
    csr = dg.eye(2).to_sparse_csr().requires_grad_()
    with pytest.raises(NotImplementedError, match="reduce"):
        dg.sparse.mm(csr, dg.ones(2, 2), "amax")


# ------------------------------------------------------------------------ torch.masked._ops


def test_masked_ops_module_is_masked():
    mask = [[True, False, True], [False, False, False]]
    for name in ("sum", "amax", "mean", "softmax"):
        got = getattr(dg.masked._ops, name)(dg.tensor([[-3.0, -2, -1], [0, 1, 2]]), 1,
                                            mask=dg.tensor(mask))
        want = getattr(torch.masked._ops, name)(torch.tensor([[-3.0, -2, -1], [0, 1, 2]]), 1,
                                                mask=torch.tensor(mask))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------------ torch.testing


@pytest.mark.parametrize("pair", ["param-tensor", "tensor-param", "param-param",
                                  "tensor-tensor"])
def test_assert_close_allow_subclasses_false(pair):
    def make(lib, kind):
        t = lib.tensor([1.0, 2.0, 3.0])
        return lib.nn.Parameter(t) if kind == "param" else t

    first, second = pair.split("-")
    kinds = []
    for lib in (torch, dg):
        actual, expected = make(lib, first), make(lib, second)
        kinds.append(_raises(lambda lib=lib, a=actual, e=expected: lib.testing.assert_close(
            a, e, allow_subclasses=False)))
        kinds.append(_raises(lambda lib=lib, a=actual, e=expected:
                             lib.testing.assert_close(a, e)))
    assert kinds[:2] == kinds[2:], kinds
    assert kinds[0] == ("TypeError" if pair in ("param-tensor", "tensor-param") else None)


# ------------------------------------------------------------------------ torch.autograd


def test_enforce_grad_layout_policy_forms():
    flag = dg.autograd.grad_mode._LAYOUT_POLICY
    p = dg.zeros(2, 3, 4).permute(2, 0, 1).requires_grad_()
    with dg.autograd.enforce_grad_layout_policy(False):
        assert flag[0] is False
        (p * 2).sum().backward()
    assert flag[0] is True
    # values are PyTorch's; the layout is the leaf's (what PyTorch gives when it cannot steal)
    assert p.grad.stride() == p.stride() and np.all(p.grad.numpy() == 2)
    dg.autograd.enforce_grad_layout_policy(False)  # a plain call sets it ...
    assert flag[0] is False
    dg.autograd.enforce_grad_layout_policy(True)
    assert flag[0] is True

    @dg.autograd.enforce_grad_layout_policy(False)  # ... a decorator sets it in calls only
    def inside():
        return flag[0]

    assert flag[0] is True and inside() is False and flag[0] is True
    assert dg.autograd.enforce_grad_layout_policy(False).clone().mode is False
    flag[0] = True


@pytest.mark.parametrize("budget", [0.0, 0.5, 1, 2.0, -0.1, True, "1"])
def test_region_activation_memory_budget_outside_compile(budget):
    def enter(lib):
        with lib.autograd.graph.region_activation_memory_budget(budget):
            pass

    kinds = [_raises(lambda: enter(torch)), _raises(lambda: enter(dg))]
    assert kinds[0] == kinds[1], kinds


def test_inference_tensor_version_raises():
    for lib in (torch, dg):
        x = lib.ones(1, 2, 3, requires_grad=True)
        with lib.inference_mode():
            y = x * x
            view = y[:1]
        for inference in (y, view):
            assert _raises(lambda t=inference: t._version) == "RuntimeError"
        with lib.no_grad():
            x.add_(1)
        assert x._version == 1  # (a normal tensor still counts)


@pytest.mark.parametrize("op", ["mul", "div", "mm", "pow", "atan2", "maximum", "minimum",
                                "hypot", "fmod", "xlogy", "logaddexp", "mv", "copysign",
                                "smooth_l1", "prelu", "sub"])
def test_saved_tensors_hooks_pack_order(op):
    def run(lib):
        f = lib.nn.functional
        ops = {"mul": lambda a, b: a * b, "div": lambda a, b: a / b, "mm": lambda a, b: a @ b,
               "pow": lambda a, b: a ** b, "atan2": lib.atan2, "maximum": lib.maximum,
               "minimum": lib.minimum, "hypot": lib.hypot, "fmod": lib.fmod, "xlogy": lib.xlogy,
               "logaddexp": lib.logaddexp, "mv": lambda a, b: lib.mv(a, b[0]),
               "copysign": lib.copysign, "smooth_l1": f.smooth_l1_loss,
               "prelu": lambda a, b: f.prelu(a, b[0]), "sub": lambda a, b: a - b}
        a = (lib.arange(4.0).reshape(2, 2) + 1).requires_grad_()
        b = (lib.arange(4.0).reshape(2, 2) + 10).requires_grad_()
        events = []

        def tag(x):
            return "a" if x is a else "b" if x is b else "other"

        def pack(x):
            events.append("pack " + tag(x))
            return x

        def unpack(x):
            events.append("unpack " + tag(x))
            return x

        with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
            y = ops[op](a, b)
        y.sum().backward()
        return events, a.grad.numpy(), b.grad.numpy()

    want, got = run(torch), run(dg)
    assert got[0] == want[0]
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-6)


# ------------------------------------------------------------------------ torch.func.rearrange

_PATTERNS = [
    ("b h w c -> b c h w", {}), ("b h w c -> (b h) w c", {}), ("b h w c -> h (b w) c", {}),
    ("b h w c -> b (c h w)", {}), ("b (h1 h) (w1 w) c -> (b h1 w1) h w c", {"h1": 2, "w1": 2}),
    ("b (h h1) (w w1) c -> b h w (c h1 w1)", {"h1": 2, "w1": 2}),
    ("b ... c -> c b ...", {}), ("... c -> c (...)", {}), ("b h w c -> c () b 1 (h w)", {}),
    ("b h w c -> b h", {}), ("b h w -> w h b", {}), ("b b h w -> b h w", {}),
    ("(b1 b2) h w c -> b1 b2 h w c", {"b1": 3}), ("(b1 b2) h w c -> b1 b2 h w c", {}),
    ("b h w c -> b h w c", {"d": 2}), ("b h w c -> b h w c", {"b": 5}),
    ("b (h1 h) w c -> b h1 h w c", {"h1": 4}),
]


@pytest.mark.parametrize("pattern,lengths", _PATTERNS, ids=[p for p, _ in _PATTERNS])
def test_func_rearrange(pattern, lengths):
    from torch.func import rearrange as torch_rearrange

    x = np.random.default_rng(0).standard_normal((6, 4, 6, 3)).astype(np.float32)
    results = []
    for lib, rearrange in ((torch, torch_rearrange), (dg, dg.func.rearrange)):
        t = lib.tensor(x, requires_grad=True)
        try:
            y = rearrange(t, pattern, **lengths)
        except Exception as exc:  # noqa: BLE001 - compared by class
            results.append(type(exc).__name__)
            continue
        (y * lib.arange(y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
        results.append((tuple(y.shape), y.detach().numpy(), t.grad.numpy()))
    if isinstance(results[0], str):
        assert results[0] == results[1]
        return
    assert results[1][0] == results[0][0]
    np.testing.assert_array_equal(results[1][1], results[0][1])
    np.testing.assert_array_equal(results[1][2], results[0][2])


def test_func_rearrange_of_a_list():
    from torch.func import rearrange as torch_rearrange

    want = torch_rearrange([torch.ones(2), torch.zeros(2)], "n d -> d n")
    got = dg.func.rearrange([dg.ones(2), dg.zeros(2)], "n d -> d n")
    np.testing.assert_array_equal(got.numpy(), want.numpy())


# ------------------------------------------------------------------------ pad (in place)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("pad", [(3, 2, 1, 4, 2, 2), (-1, 3, 2, -2, 0, 1), (0, 0, 5, 1, 1, 0)],
                         ids=["wide", "cropped", "some-zero"])
def test_pad_large_input_values_and_gradient(mode, pad):
    # inputs of 8192 elements and more take the in-place path (one output, edges copied
    # from inside it): PyTorch's values and gradients, contiguous or not
    x = np.random.default_rng(1).standard_normal((2, 3, 9, 20, 24)).astype(np.float32)
    for layout in ("contiguous", "transposed"):
        out = []
        for lib in (torch, dg):
            t = lib.tensor(x, requires_grad=True)
            source = t.transpose(2, 4).transpose(2, 4) if layout == "contiguous" else \
                t.transpose(0, 1).contiguous().transpose(0, 1)
            y = lib.nn.functional.pad(source, pad, mode=mode)
            weight = lib.arange(y.numel(), dtype=y.dtype).reshape(y.shape) % 7
            (y * weight).sum().backward()
            out.append((y.detach().numpy(), t.grad.numpy()))
        np.testing.assert_array_equal(out[1][0], out[0][0])
        np.testing.assert_allclose(out[1][1], out[0][1], rtol=1e-6)


# ------------------------------------------------------------------------ flash-attention registry


def test_flash_attention_registry():
    from deltagrad.nn.attention import _registry

    for lib in (torch, dg):
        attention = lib.nn.attention
        assert {"FA3", "FA4"} <= set(attention.list_flash_attention_impls())
        assert _raises(lambda a=attention: a.activate_flash_attention_impl("FA4")) == \
            "ModuleNotFoundError"
        assert _raises(lambda a=attention: a.activate_flash_attention_impl("nothing")) == \
            "ValueError"
        assert attention.current_flash_attention_impl() is None
    removed = []

    class Handle:
        def remove(self):
            removed.append(True)

    try:
        dg.nn.attention.register_flash_attention_impl("DX2", register_fn=Handle)
        dg.nn.attention.activate_flash_attention_impl("DX2")
        assert dg.nn.attention.current_flash_attention_impl() == "DX2"
        dg.nn.attention.restore_flash_attention_impl()
        assert removed == [True] and dg.nn.attention.current_flash_attention_impl() is None
    finally:
        _registry._IMPLS.pop("DX2", None)
        _registry._ACTIVE[0] = None
