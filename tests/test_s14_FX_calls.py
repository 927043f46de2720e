"""deltagrad.fx against torch.fx, call by call: one small function per row of the table
(tensor functions, nn.functional with and without keywords, methods, operators, indexing,
named-tuple results, factories given traced sizes, constants) traced by both libraries; the
nodes (op, target name, node name, argument structure, users) and the traced functions'
outputs on the same input must agree."""

from __future__ import annotations

import math

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.fx as dfx

torch = pytest.importorskip("torch")
tfx = pytest.importorskip("torch.fx")

def _unpacked(t, x):
    a, b = t.chunk(x, 2, dim=-1)  # (a traced tuple unpacks by the caller's bytecode)
    return a * b


# name -> function of (lib, x) for x of shape (2, 3, 4, 4)
CALLS = {
    "exp_clamp": lambda t, x: t.clamp(t.exp(x), min=0.5, max=2.0),
    "transpose_reshape": lambda t, x: x.transpose(1, 2).reshape(2, -1).permute(1, 0),
    "matmul_bmm": lambda t, x: t.bmm(x.flatten(0, 1), x.flatten(0, 1).transpose(-1, -2)),
    "einsum": lambda t, x: t.einsum("bchw,bcwk->bhk", x, x),
    "softmax_method": lambda t, x: x.softmax(dim=-1).log(),
    "gelu_silu": lambda t, x: t.nn.functional.gelu(x) + t.nn.functional.silu(x),
    "hardtanh_leaky": lambda t, x: t.nn.functional.hardtanh(
        t.nn.functional.leaky_relu(x, 0.2), -0.5, 0.5),
    "elu_relu6": lambda t, x: t.nn.functional.elu(x, alpha=0.5) - t.nn.functional.relu6(x),
    "dropout_eval": lambda t, x: t.nn.functional.dropout(x, p=0.3, training=False),
    "normalize": lambda t, x: t.nn.functional.normalize(x, dim=1),
    "pad": lambda t, x: t.nn.functional.pad(x, (1, 2, 0, 1), mode="constant", value=0.25),
    "interpolate": lambda t, x: t.nn.functional.interpolate(x, scale_factor=2,
                                                            mode="nearest"),
    "softmax_fn": lambda t, x: t.nn.functional.softmax(x, dim=-1),
    "avg_pool": lambda t, x: t.nn.functional.avg_pool2d(x, 2) + t.nn.functional.adaptive_avg_pool2d(
        x, 2),
    "mse_loss": lambda t, x: t.nn.functional.mse_loss(x, x.flip(-1), reduction="sum"),
    "cross_entropy": lambda t, x: t.nn.functional.cross_entropy(
        x.mean(dim=(2, 3)), t.tensor([0, 2])),
    "cat_stack": lambda t, x: t.stack([t.cat([x, x], dim=1), t.cat([x, -x], dim=1)]),
    "where_topk": lambda t, x: t.where(x > 0, x, t.zeros_like(x)).topk(2, dim=-1).values,
    "max_named": lambda t, x: x.max(dim=1).values + x.min(dim=1)[0],
    "indexing": lambda t, x: x[:, None, ..., 1:3] * x[0, 1, 2, -1],
    "shape_math": lambda t, x: x.view(x.size(0), -1) * (x.shape[1] * 2 + 1),
    "arange_traced_size": lambda t, x: t.arange(x.size(-1)) * x,
    "constant_tensor": lambda t, x: x + t.linspace(0.0, 1.0, 4),
    "to_dtype": lambda t, x: x.to(t.float64).sum(dim=-1).float().abs(),
    "chunk_unpack": lambda t, x: _unpacked(t, x),
    "math_sqrt": lambda t, x: x / math.sqrt(x.size(-1)),
    "comparisons": lambda t, x: ((x >= 0) & (x < 0.5)).float() + (x != x.abs()).float(),
    "pow_floordiv": lambda t, x: x ** 2 + (x // 0.5) - 1 / (x.abs() + 1) % 3,
    "conv2d_constant_weight": lambda t, x: t.nn.functional.conv2d(
        x, t.ones(2, 3, 3, 3) / 27, padding=1, stride=(1, 2)),
    "layer_norm": lambda t, x: t.nn.functional.layer_norm(x, (4,), eps=1e-3),
    "batch_norm_eval": lambda t, x: t.nn.functional.batch_norm(
        x, t.zeros(3), t.ones(3), training=False),
    "max_pool": lambda t, x: t.nn.functional.max_pool2d(x, 2, stride=1),
    "adaptive_max_pool": lambda t, x: t.nn.functional.adaptive_max_pool2d(x, 2),
    "lp_pool": lambda t, x: t.nn.functional.lp_pool2d(x.abs(), 2, 2),
    "unfold": lambda t, x: t.nn.functional.unfold(x, 2),
    "linear": lambda t, x: t.nn.functional.linear(x, t.eye(4) * 2, t.ones(4)),
    "masked_fill": lambda t, x: x.masked_fill(x > 0, 0.0).expand(2, 2, 3, 4, 4).sum(1),
    "repeat_split": lambda t, x: t.split(x.repeat(1, 2, 1, 1), [2, 4], dim=1)[1],
    "unbind_new": lambda t, x: x.unbind(0)[0] + x.new_ones(4),
    "flatten_mean": lambda t, x: t.flatten(x, start_dim=1).mean(dim=-1, keepdim=True),
    "sigmoid_tanh": lambda t, x: t.sigmoid(x) * t.tanh(x) - t.nn.functional.softplus(x),
}


def _target(node) -> str:
    return node.target if isinstance(node.target, str) else node.target.__name__


def _shape(arg):
    if isinstance(arg, (tuple, list)):
        return [_shape(a) for a in arg]
    if isinstance(arg, dict):
        return {k: _shape(v) for k, v in arg.items()}
    if hasattr(arg, "op") and hasattr(arg, "users"):
        return "%" + arg.name
    if isinstance(arg, slice):
        return ("slice", _shape(arg.start), _shape(arg.stop), _shape(arg.step))
    if type(arg).__name__ == "dtype":
        return str(arg).split(".")[-1]
    return arg


def _nodes(graph):
    return [(n.op, _target(n), n.name, _shape(n.args), _shape(n.kwargs), len(n.users))
            for n in graph.nodes]


@pytest.mark.parametrize("name", sorted(CALLS))
def test_call_traces_like_torch(name):
    call = CALLS[name]

    def real_fn(x):
        return call(torch, x)

    def ours_fn(x):
        return call(dg, x)

    real_gm, ours_gm = tfx.symbolic_trace(real_fn), dfx.symbolic_trace(ours_fn)
    assert _nodes(ours_gm.graph) == _nodes(real_gm.graph)
    x = np.random.default_rng(11).standard_normal((2, 3, 4, 4)).astype(np.float32)
    expected = real_gm(torch.from_numpy(x))
    got = ours_gm(dg.tensor(x))
    assert str(got.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
