"""Regression tests for the KNOWN differences of the program fuzzer (``s17_SL_progfuzz.py``)
that session 17's second wave fixed; each runs the program on both libraries and compares
every intermediate (values, dtypes, .grad, grad_fn, exception classes)."""

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as fuzz  # noqa: E402


def _same(program: str):
    """Run ``program`` (its lines) on both sides; fail on the first difference."""
    lines = [line for line in program.strip().splitlines() if line.strip()]
    failure = fuzz.compare(lines)
    assert failure is None, failure


# autograd.grad with respect to a view made before its base changed in place: PyTorch
# requests the view's regenerated grad_fn, which the graphs made after the change contain and
# the ones made before do not. deltagrad requested the view's old node (None where PyTorch gave
# the gradient; a gradient where PyTorch found the view unused).

@pytest.mark.parametrize("unused", ["True", "False"])
def test_grad_of_view_whose_base_changed_then_used(unused):
    _same(f"""
a0 = torch.tensor(-1.75, requires_grad=True)
a1 = a0.logsumexp(-1, keepdim=True)
a2 = a1.expand(3)
a1[a1 < 0] = 2.0
a3 = torch.autograd.grad(a2.sum(), [a1, a2], allow_unused={unused})
""")


def test_grad_of_remade_view_among_old_and_new_consumers():
    # a4 reads a2's old node, a5 the remade one: only a5's gradient is a2's.
    _same("""
a0 = torch.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
a1 = a0 * 2
a2 = a1[:, 0]
a4 = a2 * 3
a1.mul_(2)
a5 = a2 * 5
a6 = torch.autograd.grad((a4 + a5).sum(), [a2, a1, a0], allow_unused=True)
a7 = torch.autograd.grad((a4 * a5).sum(), [a2, a0], create_graph=True)
""")


def test_grad_of_view_changed_twice_uses_the_newest():
    _same("""
a0 = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
a1 = a0.exp()
a2 = a1.view(3, 1)
a1.add_(1)
a3 = a2.sin()
a1.mul_(3)
a4 = a2.cos()
a5 = torch.autograd.grad((a3 * a4).sum(), [a2, a0], allow_unused=True, retain_graph=True)
a6 = torch.autograd.grad(a3.sum(), [a2], allow_unused=True)
""")


def test_grad_of_view_made_before_change_in_an_old_graph_is_unused():
    _same("""
a0 = torch.tensor([2.0, -1.0], requires_grad=True)
a1 = a0 + 0
a2 = a1.reshape(2, 1)
a3 = (a2 * a2).sum()
a1.clamp_(min=0)
a4 = torch.autograd.grad(a3, [a2], allow_unused=True, retain_graph=True)
a5 = torch.autograd.grad(a3, [a2])
""")


# autograd.grad through a node that a backward freed: PyTorch raises the freed-graph error
# whenever a path to a requested tensor crosses it, allow_unused or not (the KNOWN entry said
# deltagrad answered None there; these are the shapes of that claim).

@pytest.mark.parametrize("call", [
    "torch.autograd.grad(a4.sum(), [a2], allow_unused=True)",
    "torch.autograd.grad(a5.sum(), [a2, a5], allow_unused=True)",
    "torch.autograd.grad(a5.sum(), [a5, a3], allow_unused=True)",
    "torch.autograd.grad(a5.sum(), [a3], allow_unused=True, create_graph=True)",
    "torch.autograd.grad((a5 * a5).sum(), [a0, a3], allow_unused=True)",
    "torch.autograd.grad(a5.sum(), [a6, a3], allow_unused=True)",
    # (no path crosses the freed node: PyTorch answers)
    "torch.autograd.grad(a5.sum(), [a5], allow_unused=True)",
])
def test_grad_through_freed_node_raises_as_pytorch(call):
    _same(f"""
a0 = torch.tensor([-1.75, 2.0], dtype=torch.float64, requires_grad=True)
a6 = torch.tensor([0.5, 1.0], dtype=torch.float64, requires_grad=True)
a2 = a0.exp()
a3 = a2.exp()
a4 = a3 * 2
a4.sum().backward()
a5 = a4 * a6
a5.register_hook(lambda g: g * 2)
a7 = {call}
""")


# autograd.grad after a backward freed a requested node, with another requested result made
# after it that the outputs do not use: PyTorch answers (the freed node's own gradient, None
# for the unused one); deltagrad raised the freed-graph error. A requested tensor that may lie
# below the freed node (a leaf, or a result made before it) still raises as PyTorch.

@pytest.mark.parametrize("call", [
    "torch.autograd.grad(a2.sum(), [a2, a9], allow_unused=True, retain_graph=True)",
    "torch.autograd.grad(a2.sum(), [a9, a2], allow_unused=True)",
    "torch.autograd.grad(a2.sum(), [a2, a9], allow_unused=False)",
    "torch.autograd.grad(a2.sum(), [a2, a0], allow_unused=True)",
    "torch.autograd.grad(a2.sum(), [a2, a1], allow_unused=True)",
    "torch.autograd.grad((a2 * a9).sum(), [a2, a9], allow_unused=True)",
])
def test_grad_of_freed_node_with_a_later_unused_input(call):
    _same(f"""
a0 = torch.tensor([-0.75, 1.5], requires_grad=True)
a1 = a0.exp()
a2 = torch.where(a1 > 1, a1, torch.tensor(-0.5))
a2.sum().backward()
a9 = a2.mean(-1)
a12 = {call}
""")
