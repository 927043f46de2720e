"""Tensor names PyTorch has and deltagrad lacked, the deepcopy of a Parameter and the
requires_grad rules of non-leaves, each compared with PyTorch."""

import copy
import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def outcome(module, fn):
    """What ``fn(module)`` gives: ("ok", value) or ("raises", base class name, message)."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = fn(module)
        return ("ok", value, [str(w.message) for w in caught])
    except ValueError as error:  # (first: deltagrad's scalar conversion error is all three)
        return ("raises", "ValueError", str(error).split("\n")[0])
    except TypeError as error:
        return ("raises", "TypeError", str(error).split("\n")[0])
    except NotImplementedError:
        return ("raises", "NotImplementedError")
    except RuntimeError as error:
        return ("raises", "RuntimeError", str(error).split("\n")[0])


def same(fn, message=True):
    ours, theirs = outcome(dg, fn), outcome(torch, fn)
    if not message:  # (the same error class; the text names deltagrad's types)
        ours, theirs = ours[:2], theirs[:2]
    assert ours == theirs


# Cases whose error text names a dtype or op in deltagrad's words: the class is compared.
OWN_WORDS = {"set_dtype", "set_saved", "smm_dense", "complex_many"}


def values(t):
    return (tuple(t.shape), str(t.dtype).split(".")[-1], t.tolist())


CASES = {
    "reversed": lambda m: [values(v) for v in reversed(m.tensor([[1.0, 2.0], [3.0, 4.0]]))],
    "reversed_0d": lambda m: values(reversed(m.tensor(5.0))),
    "complex": lambda m: complex(m.tensor([2.5])),
    "complex_many": lambda m: complex(m.tensor([2.5, 1.0])),
    "long": lambda m: m.tensor([3.7]).__long__(),
    "nonzero_protocol": lambda m: m.tensor([0.0]).__nonzero__(),
    "div": lambda m: values(m.tensor([1.0, 3.0]).__div__(2)),
    "rdiv": lambda m: values(m.tensor([1.0, 4.0]).__rdiv__(2)),
    "idiv": lambda m: values(m.tensor([1.0, 4.0]).__idiv__(2)),
    "delitem": lambda m: m.ones(2).__delitem__(0),
    "name": lambda m: m.ones(2).name,
    "output_nr_leaf": lambda m: m.ones(2).output_nr,
    "output_nr_node": lambda m: (m.ones(2, requires_grad=True) * 2).output_nr,
    "_grad_fn": lambda m: type((m.ones(2, requires_grad=True) * 2)._grad_fn).__name__,
    "volatile": lambda m: m.ones(2).volatile,
    "_backward_hooks_none": lambda m: m.ones(2, requires_grad=True)._backward_hooks,
    "_backward_hooks": lambda m: _hooks_seen(m),
    "is_zerotensor": lambda m: m.ones(2)._is_zerotensor(),
    "symbolic_sizes": lambda m: m.ones(2)._has_symbolic_sizes_strides,
    "post_accumulate_hooks": lambda m: _post_hooks(m),
    "resize": lambda m: values(m.arange(6.0).resize(3, 2)),
    "resize_bad": lambda m: m.arange(6.0).resize(4),
    "resize_as": lambda m: values(m.arange(6.0).resize_as(m.zeros(1, 6))),
    "resize_grad": lambda m: _resize_grad(m),
    "set_empty": lambda m: values(m.ones(3).set_()),
    "set_shares": lambda m: _set_shares(m),
    "set_leaf_rg": lambda m: m.ones(2, requires_grad=True).set_(m.zeros(2)),
    "set_dtype": lambda m: m.ones(2).set_(m.zeros(2, dtype=m.float64)),
    "set_saved": lambda m: _set_saved(m),
    "sparse_dim": lambda m: (m.ones(2, 3).sparse_dim(), m.ones(2, 3).dense_dim()),
    "indices_dense": lambda m: m.ones(2).indices(),
    "values_dense": lambda m: m.ones(2).values(),
    "coalesce_dense": lambda m: m.ones(2).coalesce(),
    "crow_dense": lambda m: m.ones(2, 2).crow_indices(),
    "col_dense": lambda m: m.ones(2, 2).col_indices(),
    "smm_dense": lambda m: m.ones(2, 2).smm(m.ones(2, 2)),
    "to_sparse_coo": lambda m: values(m.tensor([[0.0, 2.0]]).to_sparse_coo().to_dense()),
    "is_all_true": lambda m: m.tensor([True, False])._is_all_true().item(),
    "is_any_true": lambda m: m.tensor([True, False])._is_any_true().item(),
    "dequantize": lambda m: values(m.ones(2, dtype=m.float64).dequantize()),
    "q_scale": lambda m: m.ones(2).q_scale(),
    "int_repr": lambda m: m.ones(2).int_repr(),
    "eig": lambda m: m.ones(2, 2).eig(),
    "solve": lambda m: m.ones(2, 2).solve(m.ones(2, 2)),
    "lstsq": lambda m: m.ones(2, 2).lstsq(m.ones(2, 2)),
    "symeig": lambda m: m.ones(2, 2).symeig(),
    "reinforce": lambda m: m.ones(2).reinforce(1.0),
    "module_load": lambda m: _module_load(m),
    "requires_grad_set_true_nonleaf": lambda m: _set_rg(m, True),
    "requires_grad_set_false_nonleaf": lambda m: _set_rg(m, False),
    "requires_grad_method_true_nonleaf": lambda m: (m.ones(1, requires_grad=True) * 2)
    .requires_grad_(True).requires_grad,
    "requires_grad_method_false_nonleaf": lambda m: (m.ones(1, requires_grad=True) * 2)
    .requires_grad_(False),
    "deepcopy_nonleaf": lambda m: copy.deepcopy(m.ones(1, requires_grad=True) * 2),
    "deepcopy_param": lambda m: _deepcopy_param(m, True),
    "deepcopy_frozen_param": lambda m: _deepcopy_param(m, False),
    "deepcopy_leaf_grad": lambda m: _deepcopy_leaf(m),
}


def _hooks_seen(m):
    t = m.ones(2, requires_grad=True)
    t.register_hook(lambda g: None)
    t.register_hook(lambda g: g * 2)
    hooks = t._backward_hooks
    return type(hooks) is not type(None), len(hooks)


def _post_hooks(m):
    t = m.ones(2, requires_grad=True)
    before = t._post_accumulate_grad_hooks
    t.register_post_accumulate_grad_hook(lambda p: None)
    return before, len(t._post_accumulate_grad_hooks)


def _resize_grad(m):
    x = m.arange(6.0, requires_grad=True)
    y = x.resize(2, 3)
    (y * m.arange(6.0).reshape(2, 3)).sum().backward()
    return values(x.grad), y.requires_grad


def _set_shares(m):
    a, b = m.ones(3), m.zeros(2)
    a.set_(b)
    a.add_(1)
    return values(a), values(b), a._version


def _set_saved(m):
    x = m.ones(2, requires_grad=True)
    y = m.ones(2) * 3
    z = (x * y).sum()
    y.set_(m.zeros(2))
    z.backward()
    return values(x.grad)


def _module_load(m):
    a = m.zeros(2)
    loaded = a.module_load(m.ones(2))
    assigned = m.zeros(2).module_load(m.full((2,), 3.0), assign=True)
    return values(a), values(loaded), loaded is a, values(assigned)


def _set_rg(m, value):
    y = m.ones(1, requires_grad=True) * 2
    y.requires_grad = value


def _deepcopy_param(m, requires_grad):
    p = m.nn.Parameter(m.tensor([1.0, 2.0]), requires_grad=requires_grad)
    p.grad = m.ones(2) if requires_grad else None
    q = copy.deepcopy(p)
    q.data.add_(1)  # (a copy: p keeps its values)
    shared = copy.deepcopy([p, p])
    return (isinstance(q, m.nn.Parameter), q.requires_grad, q.grad, q.is_leaf, values(p),
            values(q), shared[0] is shared[1])


def _deepcopy_leaf(m):
    t = m.tensor([1.0, 2.0], requires_grad=True)
    t.grad = m.full((2,), 5.0)
    u = copy.deepcopy(t)
    return isinstance(u, m.nn.Parameter), u.requires_grad, values(u.grad), u.grad is t.grad


@pytest.mark.parametrize("name", sorted(CASES))
def test_tensor_surface_matches_pytorch(name):
    same(CASES[name], message=name not in OWN_WORDS)


def test_dir_has_the_names_added():
    names = {"resize", "resize_as", "set_", "output_nr", "storage_type", "chalf", "name",
             "slice_inverse", "smm", "sspaddmm", "indices", "values", "__deepcopy__",
             "__reversed__", "__complex__", "_backward_hooks", "volatile", "module_load"}
    assert names <= set(dir(dg.Tensor)) and names <= set(dir(torch.Tensor))


def test_refusals_say_what():
    with pytest.raises(NotImplementedError, match="storage"):
        dg.ones(2).storage_type()
    with pytest.raises(NotImplementedError, match="slice_inverse"):
        dg.ones(2).slice_inverse(dg.ones(1), 0)
    with pytest.raises(TypeError, match="complex32"):
        dg.ones(2).chalf()
    with pytest.raises(RuntimeError, match="CPU only"):
        dg.ones(2).xpu()


def test_deepcopy_module_keeps_parameters():
    model = dg.nn.Linear(2, 3)
    clone = copy.deepcopy(model)
    assert all(isinstance(p, dg.nn.Parameter) for p in clone.parameters())
    assert not np.shares_memory(clone.weight.detach().numpy(), model.weight.detach().numpy())


def test_pytorch_function_on_a_deltagrad_tensor_raises_not_recurses():
    # PyTorch asks deltagrad's __torch_function__ when one of its functions meets a deltagrad
    # tensor; calling PyTorch's function again used to recurse without end.
    with pytest.raises(TypeError, match="torch.add"):
        torch.add(torch.ones(1), dg.ones(1))
    assert (dg.ones(1) == torch.ones(1)) is False
