"""An optimizer step is an in-place change of the parameters, as in PyTorch."""

import pytest

import deltagrad as dg


@pytest.mark.parametrize("make", [lambda p: dg.optim.SGD(p, lr=0.1),
                                  lambda p: dg.optim.Adam(p, lr=0.1)])
def test_backward_through_a_graph_from_before_the_step_raises(make):
    w = dg.tensor([1.0, 2.0], requires_grad=True)
    optimizer = make([w])
    y = (w * w).sum()
    y.backward(retain_graph=True)
    optimizer.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_a_graph_made_after_the_step_is_fine():
    w = dg.tensor([1.0, 2.0], requires_grad=True)
    optimizer = dg.optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    optimizer.step()
    optimizer.zero_grad()
    (w * w).sum().backward()
    assert w.grad.tolist() == pytest.approx([1.6, 3.2])
