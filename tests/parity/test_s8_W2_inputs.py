"""Inputs that are not tensors where PyTorch requires one (W2, session 8): a list, tuple,
ndarray or number given to ``F.*`` layers, ``nn`` modules, the shape / indexing functions and
the in-place methods raises PyTorch's TypeError instead of being made into a tensor silently
(a batch list passed to ``forward``, Lightning's default predict_step, computed garbage)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.dirname(__file__))
import fuzz_s8_inputs  # noqa: E402

import deltagrad as dg  # noqa: E402

FUNCTIONAL = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "linear",
              "bilinear", "embedding", "layer_norm", "group_norm", "batch_norm",
              "instance_norm", "max_pool1d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
              "adaptive_max_pool1d", "interpolate", "pad", "unfold", "fold", "pixel_shuffle",
              "grid_sample", "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "huber_loss",
              "gaussian_nll_loss", "multilabel_soft_margin_loss", "cosine_embedding_loss",
              "triplet_margin_loss", "relu", "gelu", "silu", "softmax", "log_softmax", "tanh",
              "sigmoid", "hardtanh", "leaky_relu", "elu", "normalize", "glu",
              "local_response_norm", "lp_pool2d", "max_pool1d_with_indices"]


def test_functional_sweep_has_no_silent_acceptance():
    selected = [t for t in fuzz_s8_inputs.targets(("F",))
                if t[0].split(".", 1)[1] in FUNCTIONAL]
    assert len(selected) == len(FUNCTIONAL)
    results = fuzz_s8_inputs.sweep(selected)
    bad = [(label, what, cls, why) for label, rows in results.items()
           for what, cls, why in rows if cls in ("silent-accept", "silent", "we-raise")]
    assert not bad, bad
    assert sum(cls == "same" for rows in results.values() for _, cls, _ in rows) > 150


def test_shape_and_inplace_sweep_has_no_silent_acceptance():
    names = {"torch.flatten", "torch.ravel", "torch.squeeze", "torch.t", "torch.unsqueeze",
             "torch.chunk", "torch.split", "torch.tensor_split", "torch.unbind",
             "torch.hsplit", "torch.vsplit", "torch.nonzero", "torch.argwhere", "torch.take",
             "Tensor.add_", "Tensor.sub_", "Tensor.mul_", "Tensor.div_", "Tensor.copy_",
             "Tensor.eq_", "Tensor.lt_", "Tensor.lerp_", "Tensor.clamp_", "Tensor.__iadd__",
             "Tensor.__imul__", "Tensor.pow_", "Tensor.fmod_"}
    selected = [t for t in fuzz_s8_inputs.targets(("torch", "Tensor")) if t[0] in names]
    assert len(selected) == len(names)
    results = fuzz_s8_inputs.sweep(selected)
    bad = [(label, what, cls, why) for label, rows in results.items()
           for what, cls, why in rows if cls in ("silent-accept", "silent", "we-raise")]
    assert not bad, bad


@pytest.mark.parametrize("make", [
    lambda m: m.nn.functional.conv2d([m.zeros(1, 4, 4)], m.ones(2, 1, 3, 3)),
    lambda m: m.nn.functional.linear([m.zeros(3)], m.ones(2, 3)),
    lambda m: m.nn.functional.max_pool2d([m.zeros(1, 1, 4, 4)], 2),
    lambda m: m.nn.functional.relu([m.zeros(3)]),
    lambda m: m.nn.functional.cross_entropy([m.zeros(2, 3)], m.tensor([0, 1])),
    lambda m: m.nn.functional.embedding([0, 1], m.ones(3, 2)),
    lambda m: m.cat([m.zeros(2), [1.0, 2.0]]),
    lambda m: m.stack([m.zeros(2), 2.0]),
    lambda m: m.unsqueeze([1.0, 2.0], 0),
    lambda m: m.zeros(2).add_([1.0, 2.0]),
    lambda m: m.zeros(2).copy_(np.ones(2, np.float32)),
], ids=["conv2d", "linear", "max_pool2d", "relu", "cross_entropy", "embedding", "cat",
        "stack", "unsqueeze", "add_", "copy_"])
def test_not_a_tensor_is_a_type_error(make):
    with pytest.raises(TypeError):
        make(torch)
    with pytest.raises(TypeError, match="Tensor"):
        make(dg)


@pytest.mark.parametrize("layer", [
    lambda m: m.nn.Conv2d(1, 2, 3), lambda m: m.nn.Conv1d(1, 2, 3), lambda m: m.nn.Linear(3, 2),
    lambda m: m.nn.ConvTranspose2d(1, 2, 3), lambda m: m.nn.ReLU(), lambda m: m.nn.GELU(),
    lambda m: m.nn.LayerNorm(3), lambda m: m.nn.Softmax(dim=-1),
], ids=["Conv2d", "Conv1d", "Linear", "ConvTranspose2d", "ReLU", "GELU", "LayerNorm",
        "Softmax"])
def test_module_given_a_batch_list_raises(layer):
    # Lightning's default predict_step calls model(batch) with the DataLoader's list.
    shape = {"Conv2d": (1, 1, 5, 5), "Conv1d": (1, 1, 5), "ConvTranspose2d": (1, 1, 3, 3)}
    for m in (torch, dg):
        module = layer(m)
        batch = [m.zeros(*shape.get(type(module).__name__, (2, 3)))]
        with pytest.raises((TypeError, AttributeError)):
            module(batch)


def test_message_names_function_and_argument():
    with pytest.raises(TypeError, match=r"relu\(\): argument 'input' \(position 1\) must be "
                                        r"Tensor, not list"):
        dg.nn.functional.relu([1.0])
    with pytest.raises(TypeError, match=r"conv2d\(\): argument 'input' .*not numpy.ndarray"):
        dg.nn.functional.conv2d(np.zeros((1, 1, 3, 3), np.float32), dg.ones(1, 1, 2, 2))
    # (both exception classes PyTorch raises here, by function: its parser's TypeError and
    # the AttributeError of its Python code)
    with pytest.raises(AttributeError):
        dg.nn.functional.softmax([1.0], dim=0)


def test_numbers_still_accepted_where_pytorch_takes_them():
    for m in (torch, dg):
        x = m.ones(2, 3)
        assert x.add_(2).tolist() == [[3.0] * 3] * 2
        x.copy_(1.5)  # (a number: PyTorch's copy_ takes one)
        assert x.tolist() == [[1.5] * 3] * 2
        loss = m.nn.functional.gaussian_nll_loss(x, 0.5, m.ones(2, 3))  # (target: a number)
        assert abs(float(loss) - 0.5) < 1e-6
        assert m.cat((m.zeros(1), m.ones(2))).tolist() == [0.0, 1.0, 1.0]
        assert tuple(m.tensor([[1.0, 2.0]]).expand(2, 2).shape) == (2, 2)
