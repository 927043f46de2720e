"""Regression tests of PR18's (session 28) fixes, differential against PyTorch.

PyTorch's legacy constructors (``torch.FloatTensor([...])``, ``torch.Tensor([...])``,
``LongTensor`` / ``BoolTensor`` / ..., ``x.new([...])``) read each tensor inside their data
list as one Python number: a one-element tensor of any shape is its value (deltagrad made it a
sub-array: ``FloatTensor([t])`` of a 1-element 1-d ``t`` came out 2-d), a tensor of more or
fewer elements is a ValueError (deltagrad stacked it), a floating tensor into an integer or
bool type is a TypeError (deltagrad truncated it), a complex one with an imaginary part is
float()'s RuntimeError, and a tensor that requires grad is converted as ``float(t)`` with that
conversion's once-per-process UserWarning (deltagrad raised its numpy() error: the GAN
chapter's ``torch.FloatTensor(d_losses).mean()`` over 0-d losses, Raschka's book).

Dirichlet.rsample (and Beta.rsample, a Dirichlet's first component): PyTorch's gradient
differentiates each component's marginal Beta CDF at fixed level and rescales the others
(torch._dirichlet_grad); deltagrad's went through the normalised Gamma draws, another unbiased
estimator but 10-20% off PyTorch's for one draw (a Dirichlet VI program trained differently).
"""

from __future__ import annotations

import warnings

import pytest

import deltagrad as dg
from deltagrad._engine.api import tensor_surface

torch = pytest.importorskip("torch")


def _outcome(make):
    """(dtype name, shape, values) of ``make()``, or the exception's class name."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = make()
    except Exception as error:  # noqa: BLE001 - compared between the libraries
        return type(error).__name__
    return str(out.dtype).rsplit(".", 1)[-1], tuple(out.shape), out.tolist()


CASES = {
    "float-0d-grad": lambda t: t.FloatTensor([t.tensor(1.5, requires_grad=True) * 2] * 2),
    "tensor-ctor-grad": lambda t: t.Tensor([t.tensor(1.5, requires_grad=True) * 2, 1.0]),
    "nested-grad": lambda t: t.FloatTensor([[t.tensor(2.0, requires_grad=True) * 1, 3.0]]),
    "double": lambda t: t.DoubleTensor([t.tensor(0.25)]),
    "one-elem-1d": lambda t: t.FloatTensor([t.tensor([2.0]), t.tensor([[3.0]])]),
    "many-elems": lambda t: t.FloatTensor([t.ones(2)]),
    "no-elems": lambda t: t.FloatTensor([t.tensor([])]),
    "long-of-float": lambda t: t.LongTensor([t.tensor(2.0)]),
    "long-of-int": lambda t: t.LongTensor([t.tensor(-3, dtype=t.int8), 4]),
    "long-of-bool": lambda t: t.LongTensor([t.tensor(True)]),
    "bool-of-int": lambda t: t.BoolTensor([t.tensor(2), t.tensor(0)]),
    "bool-of-float": lambda t: t.BoolTensor([t.tensor(0.5)]),
    "int-of-int": lambda t: t.IntTensor([t.tensor(7)]),
    "float-of-int": lambda t: t.FloatTensor([t.tensor(3), 2]),
    "complex-imag": lambda t: t.FloatTensor([t.tensor(1 + 2j)]),
    "complex-real": lambda t: t.FloatTensor([t.tensor(1 + 0j)]),
    "new-of-float": lambda t: t.zeros(2, dtype=t.long).new([t.tensor(2.5)]),
    "new-grad": lambda t: t.zeros(2).new([t.tensor(1.0, requires_grad=True) * 3]),
    "tuple": lambda t: t.Tensor((t.tensor(1.0), t.tensor(2.0))),
    "half-overflow": lambda t: t.HalfTensor([t.tensor(1e6)]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_legacy_constructor_reads_tensors_as_numbers(case):
    assert _outcome(lambda: CASES[case](dg)) == _outcome(lambda: CASES[case](torch))


def test_legacy_constructor_warns_as_float_does_once():
    # PyTorch: float()'s TORCH_WARN_ONCE, shared with float(t) (a later float(t) is silent).
    saved = tensor_surface._SCALAR_WARNED[0]
    tensor_surface._SCALAR_WARNED[0] = False
    try:
        loss = dg.tensor(1.5, requires_grad=True) * 2
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert dg.FloatTensor([loss, loss]).mean().item() == 3.0
            dg.FloatTensor([loss])
            float(loss)
        assert [str(w.message).split("\n")[0] for w in caught] == [
            "Converting a tensor with requires_grad=True to a scalar may lead to unexpected "
            "behavior."]
        assert caught[0].category is UserWarning and caught[0].filename == __file__
    finally:
        tensor_surface._SCALAR_WARNED[0] = saved


@pytest.mark.parametrize("family", ["dirichlet", "dirichlet-batch", "beta", "beta-float64"])
def test_dirichlet_and_beta_rsample_gradients(family):
    # PyTorch differentiates each component's marginal Beta CDF (torch._dirichlet_grad);
    # deltagrad's gradient went through the normalised Gamma draws (10-20% off for a draw).
    # Same seed, same draws; the gradients now agree within PyTorch's approximation (~2e-3).
    results = []
    for t in (torch, dg):
        t.manual_seed(281)
        if family.startswith("dirichlet"):
            alpha = t.tensor([[0.3, 2.0, 7.5], [1.0, 1.0, 40.0]] if family.endswith("batch")
                             else [1.0, 2.0, 3.0], requires_grad=True)
            draw = t.distributions.Dirichlet(alpha).rsample((3,))
            (draw * t.arange(1.0, 4.0)).sum().backward()
            results.append((draw.flatten().tolist(), alpha.grad.flatten().tolist()))
        else:
            dtype = t.float64 if family.endswith("64") else t.float32
            a = t.tensor([0.5, 2.0, 9.0], dtype=dtype, requires_grad=True)
            b = t.tensor([1.5, 0.7, 9.0], dtype=dtype, requires_grad=True)
            draw = t.distributions.Beta(a, b).rsample((4,))
            draw.pow(2).sum().backward()
            results.append((draw.flatten().tolist(), a.grad.tolist() + b.grad.tolist()))
    (want, want_grad), (got, got_grad) = results
    assert got == pytest.approx(want, rel=1e-6)
    assert got_grad == pytest.approx(want_grad, rel=5e-3, abs=1e-6)
