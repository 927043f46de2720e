"""Regression tests for what running more libraries' own suites under the alias found (LE2,
session 20: sbi's, sb3-contrib's and pytorch-forecasting's), each differential against
PyTorch."""

import pickle

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _transforms(m):
    """A plain transform, its inverse, an inverse composite and an independent inverse (sbi's
    ``mcmc_transform``), each as its module builds them."""
    tf = m.distributions.transforms
    affine = tf.AffineTransform(m.zeros(2), 2 * m.ones(2))
    compose = tf.ComposeTransform([affine, tf.ExpTransform()])
    independent = tf.IndependentTransform(
        tf.ComposeTransform([tf.SigmoidTransform(),
                             tf.AffineTransform(-3 * m.ones(1), 6 * m.ones(1))]), 1)
    return {"affine": affine, "affine.inv": affine.inv, "compose.inv": compose.inv,
            "independent.inv": independent.inv}


def _round_trip(m, name):
    """What a pickled and reloaded transform keeps: its type, its cleared inverse cache, its
    value at a point (or the exception type it raises there)."""
    transform = _transforms(m)[name]
    reloaded = pickle.loads(pickle.dumps(transform))
    x = m.tensor([[0.25, 0.5]])
    try:
        value = reloaded(x).numpy()
    except Exception as error:  # (PyTorch's inverse loses its transform: AssertionError)
        value = type(error).__name__
    return type(reloaded).__name__, reloaded._inv is None, value


@pytest.mark.parametrize("name", ["affine", "affine.inv", "compose.inv", "independent.inv"])
def test_transforms_pickle_as_in_pytorch(name):
    """Transform.__getstate__ clears the inverse cache (deltagrad's weak reference to it could
    not be pickled: TypeError, sbi's sbiutils_test pickle tests)."""
    ours, theirs = _round_trip(dg, name), _round_trip(torch, name)
    assert ours[:2] == theirs[:2]
    if isinstance(theirs[2], str):
        assert ours[2] == theirs[2]
    else:
        np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6)


@pytest.mark.parametrize("m", [dg, torch], ids=["deltagrad", "torch"])
def test_inverse_transform_pickles_with_a_patched_getstate(m, monkeypatch):
    """sbi's patch (a ``__getstate__`` on ``_InverseTransform`` keeping its transform) makes
    the reloaded inverse work on both."""
    tf = m.distributions.transforms
    monkeypatch.setattr(tf._InverseTransform, "__getstate__",
                        lambda self: self.__dict__.copy(), raising=False)
    transform = _transforms(m)["independent.inv"]
    reloaded = pickle.loads(pickle.dumps(transform))
    x = m.tensor([[0.5]])
    assert reloaded._inv is not None
    assert m.allclose(reloaded(x), transform(x))
    assert m.allclose(reloaded.inv(reloaded(x)), x, atol=1e-5)


def _relu_gradients(m):
    """relu's input gradient (and the gradient of that with respect to the upstream one) for
    a nan / inf upstream gradient where relu is 0: PyTorch masks them (threshold_backward)."""
    x = m.tensor([-1.0, 0.0, -0.0, 0.5, 2.0, float("nan")], requires_grad=True)
    g = m.tensor([float("nan"), float("inf"), -float("inf"), 2.0, float("inf"), 3.0],
                 requires_grad=True)
    (first,) = m.autograd.grad(m.relu(x), x, g, create_graph=True)
    (second,) = m.autograd.grad(first.sum(), g)
    scalar = m.tensor(0.0, requires_grad=True)
    m.nn.functional.relu(scalar).backward(m.tensor(float("nan")))
    return first.detach().numpy(), second.numpy(), scalar.grad.numpy()


def test_relu_masks_a_non_finite_gradient_as_pytorch():
    """relu's VJP multiplied g by the mask (nan * 0 = nan): sb3-contrib's CrossQ (BatchRenorm
    after a ReLU, a dead unit's zero variance under sqrt) turned its actor's weights NaN."""
    for ours, theirs in zip(_relu_gradients(dg), _relu_gradients(torch)):
        np.testing.assert_array_equal(ours, theirs)
