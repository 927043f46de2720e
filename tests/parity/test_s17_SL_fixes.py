"""Regression tests for the silent differences the program fuzzer (``s17_SL_progfuzz.py``) found
and that were fixed; each runs the minimised program on both libraries and compares."""

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as fuzz  # noqa: E402


def _same(program: str):
    """Run ``program`` (its lines) on both sides; fail on the first difference."""
    lines = [line for line in program.strip().splitlines() if line.strip()]
    assert fuzz.compare(lines) is None, fuzz.compare(lines)


@pytest.mark.parametrize("fn", ["fmod", "remainder"])
def test_fmod_remainder_backward_after_input_changed_in_place(fn):
    # x's gradient is g alone: PyTorch backwards; deltagrad refused (version check on x).
    _same(f"""
a0 = torch.tensor([[1.5, 2.5], [-3.0, 0.5]], dtype=torch.float64, requires_grad=True)
a1 = torch.{fn}(a0, torch.tensor(2))
with torch.no_grad(): a0.add_(4)
a1.sum().backward()
""")


@pytest.mark.parametrize("fn", ["fmod", "remainder"])
def test_fmod_remainder_still_refuse_when_divisor_needs_the_changed_value(fn):
    # y's gradient reads x: both raise the version error.
    _same(f"""
a0 = torch.tensor([1.5, 2.5], requires_grad=True)
a1 = torch.tensor([2.0, -1.5], requires_grad=True)
a2 = torch.{fn}(a0, a1)
with torch.no_grad(): a0.mul_(2)
a2.sum().backward()
""")
    x = dg.tensor([1.5, 2.5], requires_grad=True)
    y = dg.tensor([2.0, -1.5], requires_grad=True)
    r = getattr(dg, fn)(x, y)
    with dg.no_grad():
        x.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        r.sum().backward()


def test_as_strided_backward_after_base_changed_in_place():
    # as_strided's rule reads the input's layout only (PyTorch's AsStridedBackward too).
    _same("""
a0 = torch.tensor([[-0.25, -1.5, 0.5], [-0.25, -1.25, -0.5]], requires_grad=True)
a1 = a0.as_strided((2, 2), (1, 2))
with torch.no_grad(): a0[a0 > 0] = 0.25
a1.sum().backward(retain_graph=True)
(a1 * 3).sum().backward()
""")


@pytest.mark.parametrize("sizes", ["(1, 1)", "(-1, 1)", "(1,)"])
def test_unflatten_of_a_0d_tensor_raises(sizes):
    _same(f"""
a0 = torch.tensor(1.5, requires_grad=True)
a1 = a0.unflatten(0, {sizes})
""")
    with pytest.raises(RuntimeError):
        dg.tensor(1.5).unflatten(0, (1, 1))


@pytest.mark.parametrize("write", ["a0.copy_(a1)", "a0[0] = a1", "a0[0, 1] = a1", "a0[...] = a1",
                                   "a0[:, 1:] = a1", "a0[None] = a1", "a0[...] = a2",
                                   "a0[0] = a2", "a0[a0 > 0] = a1", "a0.bool().copy_(a1)",
                                   "a0[0].copy_(a1)", "a0.fill_(a1)"])
def test_integer_target_of_a_write_takes_requires_grad_as_pytorch(write):
    # PyTorch: a copy_ into an integer tensor (a value with dims, one element selected, or
    # copy_ itself) leaves it outside the graph; a 0-d value filling a region, fill_ and a
    # masked write mark it. deltagrad marked all of them.
    _same(f"""
a0 = torch.tensor([[-4, -4, -3, 1]], dtype=torch.int32)
a1 = torch.tensor(1.25, dtype=torch.float16, requires_grad=True)
a2 = torch.tensor([1.5, 2.5, -3.0, 0.5], requires_grad=True)
{write}

""")


@pytest.mark.parametrize("program", [
    # a transposed gradient into a contiguous leaf
    """
a0 = torch.tensor([[1.5, -1.5, -1.25], [1.0, 0.25, 1.75]], requires_grad=True)
a1 = a0.mT
a1.sum().backward()
a2 = a0.grad.view(-1)
""",
    # a leaf that is itself transposed keeps its own strides
    """
a0 = torch.tensor([[1.5, -1.5, -1.25], [1.0, 0.25, 1.75]]).t().detach().requires_grad_()
(a0.t() * 2).sum().backward()
(a0 * a0).sum().backward()
""",
    # a 3-d permutation, float16
    """
a0 = torch.tensor([[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]], dtype=torch.float16)
a0.requires_grad_()
a1 = a0.permute(2, 0, 1)
(a1 * a1).mean().backward()
""",
])
def test_first_grad_takes_its_leafs_layout(program):
    _same(program)


def test_first_grad_layout_is_a_private_copy():
    w = dg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    v = w.t()
    v.sum().backward()
    assert w.grad.is_contiguous() and w.grad.stride() == (2, 1)
    w.grad.zero_()
    np.testing.assert_array_equal(w.detach().numpy(), [[1.0, 2.0], [3.0, 4.0]])


@pytest.mark.parametrize("program", [
    # a max over a dim is a reshape of a gather in deltagrad: a view op of a temporary
    """
a0 = torch.tensor([1.0, 2.5], requires_grad=True)
a1 = a0.max(-1).values
(a1 * a1).mean().backward()
a1.detach_()
""",
    # a view of a tensor the program holds stays a view after backward: both refuse
    """
a0 = torch.tensor([1.0, -0.5, 0.75, 0.0], requires_grad=True)
a1 = a0.as_strided((1, 1), (1, 0))
a1.sum().backward()
a1.detach_()
""",
    """
a0 = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
a1 = a0[0]
a1.sum().backward()
a1.detach_()
""",
    # truncated backpropagation through time's `h.detach_()` after the step's backward
    """
a0 = torch.tensor([[0.5, -1.0], [1.5, 2.0]], requires_grad=True)
a1 = torch.tensor([[1.0, 0.0]])
a2 = (a1 @ a0).tanh()
a2.sum().backward()
a2.detach_()
a3 = (a2 @ a0).sum()
a3.backward()
""",
])
def test_detach_in_place_after_backward_freed_the_graph(program):
    # deltagrad raised TypeError ('NoneType' object is not subscriptable) reading the freed
    # node's inputs to tell a view.
    _same(program)


@pytest.mark.parametrize("program", [
    # a consumer made before detach_ keeps reaching the detached node's inputs
    """
a0 = torch.tensor([0.75, 2.0], requires_grad=True)
a1 = a0.logsumexp(-1)
a2 = -0.75 - a1
a1.detach_()
a3 = a2 * 2
a3.backward(torch.ones_like(a3), retain_graph=True)
a4 = a1 * 3
""",
    # truncated backpropagation through time with `h.detach_()` between the steps
    """
a0 = torch.tensor([[0.5, -1.0], [1.5, 2.0]], requires_grad=True)
a1 = torch.tensor([[1.0, 0.0]])
a1 = (a1 @ a0).tanh()
a1.sum().backward()
a1.detach_()
a1 = (a1 @ a0).tanh()
a2 = a1.sum() * 2
a1.detach_()
a2.backward()
""",
])
def test_detach_in_place_keeps_earlier_consumers_gradient(program):
    # deltagrad cut the graph under every consumer made before: a0.grad stayed None.
    _same(program)


def test_write_into_a_0d_reduction_backwards():
    # The 0-d gradient reached index_put's rule as a NumPy scalar: TypeError.
    _same("""
a0 = torch.tensor(1.5, requires_grad=True)
a1 = a0.var(-1, keepdim=True)
a1[...] = 0.5
(a1 * a1).mean().backward()
a2 = torch.tensor([1.5, 2.0], requires_grad=True)
a3 = a2.sum()
a3[...] = a2[0] * 3
(a3 * a3).mean().backward()
""")


@pytest.mark.parametrize("change", ["a1.fill_(3)", "a1.mul_(2)", "a1[0] = a0[1] * 5",
                                    "with torch.no_grad(): a1.mul_(2)"])
@pytest.mark.parametrize("view", ["a1.as_strided((1,), (1,))", "a1.as_strided((2, 2), (0, 1))",
                                  "a1.as_strided((2,), (1,), 1)"])
def test_as_strided_view_follows_its_base_changed_in_place(view, change):
    # The view is remade over the base's new node, as PyTorch regenerates its grad_fn;
    # deltagrad sent its gradient to the base's old node (x.grad 1 where PyTorch's is 0).
    _same(f"""
a0 = torch.tensor([2.0, 3.0, -1.0], requires_grad=True)
a1 = a0 * 1
a2 = {view}
{change}
(a2 * a2).sum().backward()
""")


@pytest.mark.parametrize("call", ["a0.index_add_(0, torch.tensor([]), torch.full((0,), 2.0))",
                                  "a0.index_copy_(0, torch.tensor([]), torch.full((0,), 2.0))",
                                  "a0.index_fill_(0, torch.tensor([]), 1.0)",
                                  "a1 = a0.index_select(0, torch.tensor([]))",
                                  "a0.index_fill_(0, torch.tensor([0.0]), 1.0)"])
def test_float_index_tensor_is_refused_even_empty(call):
    # torch.tensor([]) is float32: PyTorch refuses it as an index; deltagrad took it (an
    # empty Python list stays accepted, as NumPy makes it float). index_fill raises IndexError.
    _same(f"""
a0 = torch.tensor([1.0])[:0] if "[])" in {call!r} else torch.tensor([1.0])
{call}
""")


@pytest.mark.parametrize("call", ["a0.scatter_(0, torch.tensor([]), 1.0)",
                                  "a1 = a0.gather(0, torch.tensor([]))",
                                  "a0.scatter_add_(0, torch.tensor([]), a0.clone())",
                                  "a1 = a0.take(torch.tensor([]))",
                                  "a0.put_(torch.tensor([]), a0.clone())"])
def test_empty_float_index_where_pytorch_takes_it(call):
    _same(f"""
a0 = torch.tensor([1.0])[:0]
{call}
""")


@pytest.mark.parametrize("program", [
    """
a0 = torch.tensor([[[1.5, -0.25, -0.25], [0.25, 0.75, -0.5]],
                  [[-0.75, -2.0, 1.5], [1.25, 0.5, -1.75]]])
a1 = a0.mT // 0.25
a2 = a1.as_strided((2, 2), (1, 3))
a3 = a1.untyped_storage().nbytes()
""",
    """
a0 = torch.tensor([[[1.5, -0.25, -0.25], [0.25, 0.75, -0.5]],
                  [[-0.75, -2.0, 1.5], [1.25, 0.5, -1.75]]])
a0.requires_grad_()
a1 = (a0.mT * 2).as_strided((3,), (2,), 1)
a1.sum().backward()
""",
])
def test_as_strided_of_a_permuted_elementwise_result(program):
    # NumPy lays a ufunc's result out like a permuted input (a batch of column-major
    # matrices): one dense block that deltagrad's storage lookup refused ("not one block").
    _same(program)


def test_views_of_a_detached_base_keep_their_gradient():
    # A view taken before its base's detach_() still reaches the base's old node (PyTorch
    # bumps no version, so the view's grad_fn is not regenerated); deltagrad remade the view
    # over the new leaf and the gradient was lost (a1.grad None).
    _same("""
a0 = torch.tensor([1.5, 1.5, -2.0], requires_grad=True)
a1 = a0 * 2
a2 = a1[::2]
a1.detach_()
(a2 * 3).sum().backward(retain_graph=True)
a3 = a1[1:]
a4 = a2.narrow(-1, 0, 1)
a4.sum().backward()
""")
