"""Exception types against PyTorch for wrong dtypes, wrong shapes and out-of-range dims and
indices across ~40 common functions (conv, linear, embedding, the losses, matmul family,
cat/stack/view/reshape, gather/scatter/index_*, softmax, creation, ...): programs catch
RuntimeError where PyTorch raises it and IndexError where it raises that, so the type is the
contract. Inputs are deterministic, so the cases PyTorch accepts compare values too."""

import pathlib
import sys

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from parity import check  # noqa: E402

CASES = [
    (
        "conv1d dtype",
        lambda m: m.nn.functional.conv1d(m.ones(1, 2, 5, dtype=m.float64), m.ones(3, 2, 2)),
    ),
    (
        "conv2d dtype",
        lambda m: m.nn.functional.conv2d(m.ones(1, 2, 5, 5, dtype=m.float64), m.ones(3, 2, 2, 2)),
    ),
    (
        "conv2d bias dtype",
        lambda m: m.nn.functional.conv2d(
            m.ones(1, 2, 5, 5), m.ones(3, 2, 2, 2), m.ones(3, dtype=m.float64)
        ),
    ),
    (
        "conv3d dtype",
        lambda m: m.nn.functional.conv3d(
            m.ones(1, 2, 4, 4, 4, dtype=m.float64), m.ones(3, 2, 2, 2, 2)
        ),
    ),
    ("Conv2d module dtype", lambda m: m.nn.Conv2d(2, 3, 2)(m.ones(1, 2, 5, 5, dtype=m.float64))),
    ("Conv1d module int", lambda m: m.nn.Conv1d(2, 3, 2)(m.ones(1, 2, 5, dtype=m.int64))),
    ("conv2d channels", lambda m: m.nn.functional.conv2d(m.ones(1, 3, 5, 5), m.ones(3, 2, 2, 2))),
    ("conv2d ndim", lambda m: m.nn.functional.conv2d(m.ones(5, 5), m.ones(3, 2, 2, 2))),
    (
        "conv2d kernel too big",
        lambda m: m.nn.functional.conv2d(m.ones(1, 2, 2, 2), m.ones(3, 2, 3, 3)),
    ),
    (
        "conv_transpose2d dtype",
        lambda m: m.nn.functional.conv_transpose2d(
            m.ones(1, 2, 5, 5, dtype=m.float64), m.ones(2, 3, 2, 2)
        ),
    ),
    (
        "embedding float idx",
        lambda m: m.nn.functional.embedding(m.tensor([0.0, 1.0]), m.ones(4, 3)),
    ),
    ("Embedding float idx", lambda m: m.nn.Embedding(4, 3)(m.tensor([0.0, 1.0]))),
    ("embedding oob", lambda m: m.nn.functional.embedding(m.tensor([0, 5]), m.ones(4, 3))),
    ("embedding neg", lambda m: m.nn.functional.embedding(m.tensor([-1]), m.ones(4, 3))),
    (
        "ce float target wrong shape",
        lambda m: m.nn.functional.cross_entropy(m.ones(3, 4), m.tensor([0.0, 1.0, 2.0])),
    ),
    (
        "ce int target oob",
        lambda m: m.nn.functional.cross_entropy(m.ones(3, 4), m.tensor([0, 1, 4])),
    ),
    ("ce target shape", lambda m: m.nn.functional.cross_entropy(m.ones(3, 4), m.tensor([0, 1]))),
    (
        "ce int32 target",
        lambda m: m.nn.functional.cross_entropy(m.ones(3, 4), m.tensor([0, 1, 2], dtype=m.int32)),
    ),
    ("ce prob target shape", lambda m: m.nn.functional.cross_entropy(m.ones(3, 4), m.ones(3, 5))),
    (
        "nll float target",
        lambda m: m.nn.functional.nll_loss(m.ones(3, 4), m.tensor([0.0, 1.0, 2.0])),
    ),
    ("nll target oob", lambda m: m.nn.functional.nll_loss(m.ones(3, 4), m.tensor([0, 1, 7]))),
    ("nll target shape", lambda m: m.nn.functional.nll_loss(m.ones(3, 4), m.tensor([0, 1]))),
    ("nll 1d input", lambda m: m.nn.functional.nll_loss(m.ones(4), m.tensor([0]))),
    ("mse shape", lambda m: m.nn.functional.mse_loss(m.ones(3), m.ones(4))),
    ("mse dtype", lambda m: m.nn.functional.mse_loss(m.ones(3), m.ones(3, dtype=m.float64))),
    (
        "mse int",
        lambda m: m.nn.functional.mse_loss(m.ones(3, dtype=m.int64), m.ones(3, dtype=m.int64)),
    ),
    ("l1 shape", lambda m: m.nn.functional.l1_loss(m.ones(3), m.ones(4))),
    ("bce shape", lambda m: m.nn.functional.binary_cross_entropy(m.ones(3), m.ones(4))),
    (
        "bce target int",
        lambda m: m.nn.functional.binary_cross_entropy(m.ones(3), m.ones(3, dtype=m.int64)),
    ),
    (
        "bcelogits shape",
        lambda m: m.nn.functional.binary_cross_entropy_with_logits(m.ones(3), m.ones(4)),
    ),
    (
        "bcelogits int target",
        lambda m: m.nn.functional.binary_cross_entropy_with_logits(
            m.ones(3), m.ones(3, dtype=m.int64)
        ),
    ),
    ("smooth_l1 shape", lambda m: m.nn.functional.smooth_l1_loss(m.ones(3), m.ones(4))),
    ("huber shape", lambda m: m.nn.functional.huber_loss(m.ones(3), m.ones(4))),
    ("kl_div shape", lambda m: m.nn.functional.kl_div(m.ones(3), m.ones(4))),
    ("requires_grad int", lambda m: m.tensor([1], requires_grad=True)),
    ("zeros int rg", lambda m: m.zeros(3, dtype=m.int64, requires_grad=True)),
    ("linear shape", lambda m: m.nn.functional.linear(m.ones(2, 3), m.ones(4, 5))),
    ("linear dtype", lambda m: m.nn.functional.linear(m.ones(2, 3, dtype=m.float64), m.ones(4, 3))),
    ("Linear module dtype", lambda m: m.nn.Linear(3, 4)(m.ones(2, 3, dtype=m.float64))),
    ("Linear module int", lambda m: m.nn.Linear(3, 4)(m.ones(2, 3, dtype=m.int64))),
    ("linear bias shape", lambda m: m.nn.functional.linear(m.ones(2, 3), m.ones(4, 3), m.ones(5))),
    ("matmul shape", lambda m: m.matmul(m.ones(2, 3), m.ones(4, 5))),
    ("matmul dtype", lambda m: m.matmul(m.ones(2, 3), m.ones(3, 5, dtype=m.float64))),
    ("matmul 0d", lambda m: m.matmul(m.tensor(1.0), m.ones(3))),
    ("matmul int float", lambda m: m.matmul(m.ones(2, 3, dtype=m.int64), m.ones(3, 2))),
    ("mm shape", lambda m: m.mm(m.ones(2, 3), m.ones(4, 5))),
    ("mm 3d", lambda m: m.mm(m.ones(2, 2, 3), m.ones(3, 5))),
    ("mm dtype", lambda m: m.mm(m.ones(2, 3), m.ones(3, 5, dtype=m.float64))),
    ("bmm shape", lambda m: m.bmm(m.ones(2, 2, 3), m.ones(2, 4, 5))),
    ("bmm batch", lambda m: m.bmm(m.ones(2, 2, 3), m.ones(3, 3, 5))),
    ("bmm 2d", lambda m: m.bmm(m.ones(2, 3), m.ones(3, 5))),
    ("bmm dtype", lambda m: m.bmm(m.ones(2, 2, 3), m.ones(2, 3, 5, dtype=m.float64))),
    ("mv shape", lambda m: m.mv(m.ones(2, 3), m.ones(4))),
    ("dot shape", lambda m: m.dot(m.ones(3), m.ones(4))),
    ("dot dtype", lambda m: m.dot(m.ones(3), m.ones(3, dtype=m.float64))),
    ("dot 2d", lambda m: m.dot(m.ones(3, 1), m.ones(3))),
    ("outer 2d", lambda m: m.outer(m.ones(3, 1), m.ones(3))),
    ("cat shape", lambda m: m.cat([m.ones(2, 3), m.ones(2, 4)])),
    ("cat dim oob", lambda m: m.cat([m.ones(2, 3), m.ones(2, 3)], dim=2)),
    ("cat empty list", lambda m: m.cat([])),
    ("cat ndim", lambda m: m.cat([m.ones(2, 3), m.ones(3)])),
    ("stack shape", lambda m: m.stack([m.ones(2, 3), m.ones(2, 4)])),
    ("stack dim oob", lambda m: m.stack([m.ones(2, 3), m.ones(2, 3)], dim=3)),
    ("stack empty", lambda m: m.stack([])),
    ("view bad", lambda m: m.ones(2, 3).view(4, 2)),
    ("view two -1", lambda m: m.ones(2, 3).view(-1, -1)),
    ("view noncontig", lambda m: m.ones(2, 3).t().view(6)),
    ("reshape bad", lambda m: m.ones(2, 3).reshape(4, 2)),
    ("reshape neg", lambda m: m.ones(2, 3).reshape(-2, 3)),
    ("gather dim oob", lambda m: m.gather(m.ones(2, 3), 2, m.zeros(2, 3, dtype=m.int64))),
    ("gather idx oob", lambda m: m.gather(m.ones(2, 3), 1, m.full((2, 3), 5, dtype=m.int64))),
    ("gather float idx", lambda m: m.gather(m.ones(2, 3), 1, m.zeros(2, 3))),
    ("gather ndim", lambda m: m.gather(m.ones(2, 3), 1, m.zeros(2, dtype=m.int64))),
    ("index_select oob", lambda m: m.index_select(m.ones(2, 3), 1, m.tensor([5]))),
    ("index_select dim oob", lambda m: m.index_select(m.ones(2, 3), 2, m.tensor([0]))),
    ("index_select float", lambda m: m.index_select(m.ones(2, 3), 1, m.tensor([0.0]))),
    ("index_select 2d idx", lambda m: m.index_select(m.ones(2, 3), 1, m.tensor([[0]]))),
    ("scatter dim oob", lambda m: m.zeros(2, 3).scatter(2, m.zeros(2, 3, dtype=m.int64), 1.0)),
    ("scatter idx oob", lambda m: m.zeros(2, 3).scatter(1, m.full((2, 3), 5, dtype=m.int64), 1.0)),
    ("scatter float idx", lambda m: m.zeros(2, 3).scatter(1, m.zeros(2, 3), 1.0)),
    (
        "scatter src dtype",
        lambda m: m.zeros(2, 3).scatter(
            1, m.zeros(2, 3, dtype=m.int64), m.ones(2, 3, dtype=m.float64)
        ),
    ),
    (
        "scatter_add dtype",
        lambda m: m.zeros(2, 3).scatter_add(
            1, m.zeros(2, 3, dtype=m.int64), m.ones(2, 3, dtype=m.float64)
        ),
    ),
    (
        "index_add dtype",
        lambda m: m.zeros(2, 3).index_add(0, m.tensor([0]), m.ones(1, 3, dtype=m.float64)),
    ),
    ("softmax dim oob", lambda m: m.softmax(m.ones(2, 3), dim=2)),
    ("log_softmax dim oob", lambda m: m.log_softmax(m.ones(2, 3), dim=-3)),
    ("F.softmax dim oob", lambda m: m.nn.functional.softmax(m.ones(2, 3), dim=5)),
    ("softmax int", lambda m: m.softmax(m.ones(3, dtype=m.int64), dim=0)),
    ("sum dim oob", lambda m: m.ones(2, 3).sum(dim=2)),
    ("mean int", lambda m: m.ones(3, dtype=m.int64).mean()),
    ("mean dim oob", lambda m: m.ones(2, 3).mean(dim=3)),
    ("argmax dim oob", lambda m: m.ones(2, 3).argmax(dim=2)),
    ("max dim oob", lambda m: m.ones(2, 3).max(dim=2)),
    ("transpose oob", lambda m: m.ones(2, 3).transpose(0, 2)),
    ("permute bad", lambda m: m.ones(2, 3).permute(0, 0)),
    ("permute len", lambda m: m.ones(2, 3).permute(0)),
    ("squeeze oob", lambda m: m.ones(2, 3).squeeze(3)),
    ("unsqueeze oob", lambda m: m.ones(2, 3).unsqueeze(4)),
    ("flatten oob", lambda m: m.ones(2, 3).flatten(0, 3)),
    ("expand bad", lambda m: m.ones(2, 3).expand(3, 3)),
    ("expand fewer", lambda m: m.ones(2, 3).expand(3)),
    ("broadcast add", lambda m: m.ones(2, 3) + m.ones(4)),
    ("index oob", lambda m: m.ones(2, 3)[5]),
    ("index too many", lambda m: m.ones(2, 3)[0, 0, 0]),
    ("index float", lambda m: m.ones(2, 3)[m.tensor([0.0])]),
    ("bool mask shape", lambda m: m.ones(2, 3)[m.tensor([True, False, True])]),
    ("setitem shape", lambda m: m.ones(2, 3).__setitem__(0, m.ones(4))),
    ("narrow oob", lambda m: m.ones(2, 3).narrow(1, 2, 3)),
    ("select oob", lambda m: m.ones(2, 3).select(1, 5)),
    ("split dim oob", lambda m: m.ones(2, 3).split(1, dim=2)),
    ("chunk 0", lambda m: m.ones(2, 3).chunk(0)),
    ("topk k", lambda m: m.ones(2, 3).topk(5)),
    ("cumsum dim oob", lambda m: m.ones(2, 3).cumsum(dim=2)),
    ("roll dims", lambda m: m.roll(m.ones(2, 3), 1, dims=2)),
    ("flip dims", lambda m: m.flip(m.ones(2, 3), (2,))),
    ("repeat fewer", lambda m: m.ones(2, 3).repeat(2)),
    ("layer_norm shape", lambda m: m.nn.functional.layer_norm(m.ones(2, 3), (4,))),
    ("batch_norm shape", lambda m: m.nn.functional.batch_norm(m.ones(2, 3), m.zeros(4), m.ones(4))),
    ("one_hot float", lambda m: m.nn.functional.one_hot(m.tensor([0.0, 1.0]))),
    ("one_hot oob", lambda m: m.nn.functional.one_hot(m.tensor([0, 3]), 2)),
    ("pad too many", lambda m: m.nn.functional.pad(m.ones(2, 3), (1, 1, 1, 1, 1, 1))),
    ("max_pool2d small", lambda m: m.nn.functional.max_pool2d(m.ones(1, 1, 2, 2), 3)),
    ("avg_pool2d small", lambda m: m.nn.functional.avg_pool2d(m.ones(1, 1, 2, 2), 3)),
    ("linalg.inv non-square", lambda m: m.linalg.inv(m.ones(2, 3))),
    ("det non-square", lambda m: m.det(m.ones(2, 3))),
    ("solve shape", lambda m: m.linalg.solve(m.ones(2, 2), m.ones(3))),
    ("norm dim oob", lambda m: m.linalg.norm(m.ones(2, 3), dim=3)),
    ("einsum bad", lambda m: m.einsum("ij,jk->ik", m.ones(2, 3), m.ones(4, 5))),
    ("where shape", lambda m: m.where(m.tensor([True, False]), m.ones(3), m.ones(3))),
    ("clamp none", lambda m: m.clamp(m.ones(3))),
    ("arange bad step", lambda m: m.arange(0, 5, 0)),
    ("arange wrong sign", lambda m: m.arange(0, 5, -1)),
    ("zeros neg", lambda m: m.zeros(-1)),
    ("full bad", lambda m: m.full((2,), m.ones(2))),
    ("item multi", lambda m: m.ones(3).item()),
    ("backward nonscalar", lambda m: (m.ones(3, requires_grad=True) * 2).backward()),
    ("backward no grad", lambda m: m.ones(3).sum().backward()),
    ("numpy rg", lambda m: m.ones(3, requires_grad=True).numpy()),
    ("inplace leaf", lambda m: m.ones(3, requires_grad=True).add_(1)),
    ("int add float inplace", lambda m: m.ones(3, dtype=m.int64).add_(1.5)),
    ("triu 1d", lambda m: m.triu(m.ones(3))),
    ("diag 3d", lambda m: m.diag(m.ones(2, 2, 2))),
    ("trace 3d", lambda m: m.trace(m.ones(2, 2, 2))),
    ("masked_fill float mask", lambda m: m.ones(3).masked_fill(m.tensor([1.0, 0.0, 1.0]), 0.0)),
    ("sort dim oob", lambda m: m.sort(m.ones(3), dim=1)),
    ("unbind oob", lambda m: m.ones(2, 3).unbind(2)),
    ("cross shape", lambda m: m.cross(m.ones(3, 2), m.ones(3, 2), dim=1)),
    ("ctc", lambda m: m.nn.functional.cross_entropy(m.ones(2, 3, 4), m.zeros(2, 5, dtype=m.int64))),
    ("pixel_shuffle bad", lambda m: m.nn.functional.pixel_shuffle(m.ones(1, 3, 2, 2), 2)),
    ("unfold bad", lambda m: m.ones(3).unfold(0, 5, 1)),
    (
        "conv2d groups",
        lambda m: m.nn.functional.conv2d(m.ones(1, 4, 5, 5), m.ones(3, 2, 2, 2), groups=2),
    ),
    (
        "conv2d stride0",
        lambda m: m.nn.functional.conv2d(m.ones(1, 2, 5, 5), m.ones(3, 2, 2, 2), stride=0),
    ),
    (
        "conv2d pad neg",
        lambda m: m.nn.functional.conv2d(m.ones(1, 2, 5, 5), m.ones(3, 2, 2, 2), padding=-1),
    ),
    (
        "conv2d bias shape",
        lambda m: m.nn.functional.conv2d(m.ones(1, 2, 5, 5), m.ones(3, 2, 2, 2), m.ones(4)),
    ),
    ("conv1d channels", lambda m: m.nn.functional.conv1d(m.ones(1, 3, 5), m.ones(3, 2, 2))),
    ("conv1d ndim", lambda m: m.nn.functional.conv1d(m.ones(1, 1, 3, 5), m.ones(3, 2, 2))),
    ("conv1d kernel big", lambda m: m.nn.functional.conv1d(m.ones(1, 2, 2), m.ones(3, 2, 3))),
    ("conv1d groups", lambda m: m.nn.functional.conv1d(m.ones(1, 4, 5), m.ones(3, 2, 2), groups=2)),
    (
        "conv1d stride0",
        lambda m: m.nn.functional.conv1d(m.ones(1, 2, 5), m.ones(3, 2, 2), stride=0),
    ),
    (
        "conv1d int both",
        lambda m: m.nn.functional.conv1d(
            m.ones(1, 2, 5, dtype=m.int64), m.ones(3, 2, 2, dtype=m.int64)
        ),
    ),
    (
        "conv2d int both",
        lambda m: m.nn.functional.conv2d(
            m.ones(1, 2, 5, 5, dtype=m.int64), m.ones(3, 2, 2, 2, dtype=m.int64)
        ),
    ),
    (
        "conv3d channels",
        lambda m: m.nn.functional.conv3d(m.ones(1, 3, 4, 4, 4), m.ones(3, 2, 2, 2, 2)),
    ),
    ("conv3d ndim", lambda m: m.nn.functional.conv3d(m.ones(4, 4, 4), m.ones(3, 2, 2, 2, 2))),
    ("Conv2d wrong channels", lambda m: m.nn.Conv2d(3, 4, 3)(m.ones(1, 2, 8, 8))),
    ("Conv1d wrong channels", lambda m: m.nn.Conv1d(3, 4, 3)(m.ones(1, 2, 8))),
    (
        "conv_transpose1d dtype",
        lambda m: m.nn.functional.conv_transpose1d(
            m.ones(1, 2, 5, dtype=m.float64), m.ones(2, 3, 2)
        ),
    ),
    (
        "conv_transpose2d channels",
        lambda m: m.nn.functional.conv_transpose2d(m.ones(1, 3, 5, 5), m.ones(2, 3, 2, 2)),
    ),
    ("embedding 3d weight", lambda m: m.nn.functional.embedding(m.tensor([0]), m.ones(4, 3, 2))),
    (
        "embedding uint8",
        lambda m: m.nn.functional.embedding(m.tensor([0], dtype=m.uint8), m.ones(4, 3)),
    ),
    ("embedding bool", lambda m: m.nn.functional.embedding(m.tensor([True]), m.ones(4, 3))),
    (
        "embedding int32 ok",
        lambda m: m.nn.functional.embedding(m.tensor([1], dtype=m.int32), m.ones(4, 3)),
    ),
    ("nll 0d", lambda m: m.nn.functional.nll_loss(m.tensor(1.0), m.tensor(0))),
    ("ce 0d", lambda m: m.nn.functional.cross_entropy(m.tensor(1.0), m.tensor(0))),
    ("nll 1d target2", lambda m: m.nn.functional.nll_loss(m.ones(4), m.tensor([0, 1]))),
    (
        "nll 1d target1",
        lambda m: m.nn.functional.nll_loss(m.ones(4), m.tensor([0]), reduction="none"),
    ),
    ("ce 1d target1", lambda m: m.nn.functional.cross_entropy(m.ones(4), m.tensor([0]))),
    (
        "ce bool target",
        lambda m: m.nn.functional.cross_entropy(m.ones(3, 4), m.tensor([True, False, True])),
    ),
    (
        "ce uint8 target",
        lambda m: m.nn.functional.cross_entropy(m.ones(3, 4), m.tensor([0, 1, 2], dtype=m.uint8)),
    ),
    (
        "ce prob f64",
        lambda m: m.nn.functional.cross_entropy(
            m.ones(3, 4), m.ones(3, 4, dtype=m.float64), reduction="none"
        ),
    ),
    (
        "ce 3d target",
        lambda m: m.nn.functional.cross_entropy(m.ones(3, 4, 5), m.zeros(3, 4, dtype=m.int64)),
    ),
    ("ce 2d target", lambda m: m.nn.functional.cross_entropy(m.ones(3, 4), m.tensor([[0, 1, 2]]))),
    (
        "ce weight shape",
        lambda m: m.nn.functional.cross_entropy(
            m.ones(3, 4), m.tensor([0, 1, 2]), weight=m.ones(3)
        ),
    ),
    (
        "nll weight shape",
        lambda m: m.nn.functional.nll_loss(m.ones(3, 4), m.tensor([0, 1, 2]), weight=m.ones(3)),
    ),
    (
        "ce bad reduction",
        lambda m: m.nn.functional.cross_entropy(m.ones(3, 4), m.tensor([0, 1, 2]), reduction="avg"),
    ),
    (
        "mse bad reduction",
        lambda m: m.nn.functional.mse_loss(m.ones(3), m.ones(3), reduction="avg"),
    ),
    ("mse broadcast", lambda m: m.nn.functional.mse_loss(m.ones(3, 1), m.ones(3))),
    (
        "l1 int",
        lambda m: m.nn.functional.l1_loss(m.ones(3, dtype=m.int64), m.ones(3, dtype=m.int64)),
    ),
    ("l1 mixed", lambda m: m.nn.functional.l1_loss(m.ones(3), m.ones(3, dtype=m.float64))),
    (
        "bce out of range",
        lambda m: m.nn.functional.binary_cross_entropy(m.full((3,), 1.5), m.ones(3)),
    ),
    (
        "bce dtype",
        lambda m: m.nn.functional.binary_cross_entropy(m.ones(3), m.ones(3, dtype=m.float64)),
    ),
    (
        "bce weight shape",
        lambda m: m.nn.functional.binary_cross_entropy(m.ones(3), m.ones(3), weight=m.ones(4)),
    ),
    (
        "bcel pos_weight shape",
        lambda m: m.nn.functional.binary_cross_entropy_with_logits(
            m.ones(2, 3), m.ones(2, 3), pos_weight=m.ones(4)
        ),
    ),
    ("kl_div bad red", lambda m: m.nn.functional.kl_div(m.ones(3), m.ones(3), reduction="avg")),
    (
        "margin_ranking shape",
        lambda m: m.nn.functional.margin_ranking_loss(m.ones(3), m.ones(4), m.ones(3)),
    ),
    ("hinge_embedding shape", lambda m: m.nn.functional.hinge_embedding_loss(m.ones(3), m.ones(4))),
    ("soft_margin shape", lambda m: m.nn.functional.soft_margin_loss(m.ones(3), m.ones(4))),
    ("poisson_nll shape", lambda m: m.nn.functional.poisson_nll_loss(m.ones(3), m.ones(4))),
    (
        "gaussian_nll shape",
        lambda m: m.nn.functional.gaussian_nll_loss(m.ones(3), m.ones(4), m.ones(3)),
    ),
    (
        "gaussian_nll neg var",
        lambda m: m.nn.functional.gaussian_nll_loss(m.ones(3), m.ones(3), -m.ones(3)),
    ),
    (
        "triplet shape",
        lambda m: m.nn.functional.triplet_margin_loss(m.ones(2, 3), m.ones(2, 3), m.ones(2, 4)),
    ),
    (
        "cosine_emb shape",
        lambda m: m.nn.functional.cosine_embedding_loss(m.ones(2, 3), m.ones(2, 3), m.ones(3)),
    ),
    (
        "multilabel_margin",
        lambda m: m.nn.functional.multilabel_soft_margin_loss(m.ones(2, 3), m.ones(2, 4)),
    ),
    (
        "multi_margin float tgt",
        lambda m: m.nn.functional.multi_margin_loss(m.ones(2, 3), m.tensor([0.0, 1.0])),
    ),
    (
        "CrossEntropyLoss float",
        lambda m: m.nn.CrossEntropyLoss()(m.ones(3, 4), m.tensor([0.0, 1.0, 2.0])),
    ),
    ("NLLLoss int32", lambda m: m.nn.NLLLoss()(m.ones(3, 4), m.tensor([0, 1, 2], dtype=m.int32))),
    ("MSELoss shape", lambda m: m.nn.MSELoss()(m.ones(3), m.ones(4))),
    ("split sizes sum", lambda m: m.ones(5).split([2, 2])),
    ("tensor_split oob", lambda m: m.ones(5).tensor_split(2, dim=1)),
    ("squeeze dims tuple oob", lambda m: m.ones(2, 1).squeeze((0, 3))),
    ("movedim oob", lambda m: m.movedim(m.ones(2, 3), 0, 2)),
    ("movedim dup", lambda m: m.movedim(m.ones(2, 3, 4), (0, 0), (1, 2))),
    ("swapaxes oob", lambda m: m.swapaxes(m.ones(2, 3), 0, 2)),
    ("unflatten bad", lambda m: m.ones(2, 6).unflatten(1, (4, 2))),
    ("unflatten oob", lambda m: m.ones(2, 6).unflatten(2, (3, 2))),
    ("tile neg", lambda m: m.ones(2).tile((-1,))),
    ("repeat neg", lambda m: m.ones(2).repeat(-1)),
    ("view_as bad", lambda m: m.ones(2, 3).view_as(m.ones(4))),
    ("expand_as bad", lambda m: m.ones(2, 3).expand_as(m.ones(4))),
    ("broadcast_to bad", lambda m: m.broadcast_to(m.ones(2, 3), (4, 3))),
    ("flatten start>end", lambda m: m.ones(2, 3, 4).flatten(2, 1)),
    ("stack dtypes", lambda m: m.stack([m.ones(2), m.ones(3, dtype=m.float64)])),
    ("cat 0d", lambda m: m.cat([m.tensor(1.0), m.tensor(2.0)])),
    ("cat tensor not list", lambda m: m.cat(m.ones(2, 3))),
    ("hstack shape", lambda m: m.hstack([m.ones(2, 3), m.ones(3, 3)])),
    ("vstack shape", lambda m: m.vstack([m.ones(2, 3), m.ones(2, 4)])),
    ("narrow neg len", lambda m: m.ones(5).narrow(0, 1, -1)),
    ("narrow dim oob", lambda m: m.ones(5).narrow(1, 0, 1)),
    ("chunk dim oob", lambda m: m.ones(5).chunk(2, dim=1)),
    ("unbind 0d", lambda m: m.tensor(1.0).unbind(0)),
    ("select 0d", lambda m: m.tensor(1.0).select(0, 0)),
    ("select neg oob", lambda m: m.ones(3).select(0, -4)),
    ("take oob", lambda m: m.take(m.ones(2, 3), m.tensor([6]))),
    ("take float", lambda m: m.take(m.ones(2, 3), m.tensor([0.0]))),
    (
        "take_along_dim shape",
        lambda m: m.take_along_dim(m.ones(2, 3), m.zeros(3, 3, dtype=m.int64), 1),
    ),
    ("masked_select shape", lambda m: m.masked_select(m.ones(2, 3), m.tensor([True, False]))),
    ("masked_fill shape", lambda m: m.ones(2, 3).masked_fill(m.tensor([True, False]), 0.0)),
    (
        "masked_fill tensor val",
        lambda m: m.ones(2, 3).masked_fill(m.tensor([True, False, True]), m.tensor([1.0, 2.0])),
    ),
    (
        "index_put shape",
        lambda m: m.zeros(3).index_put((m.tensor([0, 1]),), m.tensor([1.0, 2.0, 3.0])),
    ),
    ("index_fill oob", lambda m: m.zeros(3).index_fill(0, m.tensor([5]), 1.0)),
    ("index_copy shape", lambda m: m.zeros(3, 2).index_copy(0, m.tensor([0]), m.ones(2, 2))),
    ("index_add oob", lambda m: m.zeros(3, 2).index_add(0, m.tensor([5]), m.ones(1, 2))),
    ("index_add dim1 oob", lambda m: m.zeros(3, 2).index_add(1, m.tensor([5]), m.ones(3, 1))),
    ("index_select dim0 oob", lambda m: m.index_select(m.ones(2, 3), 0, m.tensor([5]))),
    ("index_select 1d oob", lambda m: m.index_select(m.ones(3), 0, m.tensor([-1]))),
    ("gather neg idx", lambda m: m.gather(m.ones(2, 3), 1, m.full((2, 3), -1, dtype=m.int64))),
    ("gather int32", lambda m: m.gather(m.ones(2, 3), 1, m.zeros(2, 3, dtype=m.int32))),
    (
        "scatter_add shape",
        lambda m: m.zeros(2, 3).scatter_add(1, m.zeros(3, 3, dtype=m.int64), m.ones(3, 3)),
    ),
    (
        "scatter reduce bad",
        lambda m: m.zeros(2, 3).scatter(1, m.zeros(2, 3, dtype=m.int64), 1.0, reduce="max"),
    ),
    (
        "scatter_reduce bad",
        lambda m: m.zeros(2, 3).scatter_reduce(
            1, m.zeros(2, 3, dtype=m.int64), m.ones(2, 3), reduce="foo"
        ),
    ),
    ("getitem list oob", lambda m: m.ones(3)[[0, 5]]),
    ("getitem tensor oob", lambda m: m.ones(3)[m.tensor([0, 5])]),
    ("getitem neg oob", lambda m: m.ones(3)[-4]),
    ("getitem 0d", lambda m: m.tensor(1.0)[0]),
    ("setitem oob", lambda m: m.ones(3).__setitem__(5, 1.0)),
    ("setitem tensor oob", lambda m: m.ones(3).__setitem__(m.tensor([5]), 1.0)),
    ("matmul 1d mismatch", lambda m: m.matmul(m.ones(3), m.ones(4))),
    ("matmul batch", lambda m: m.matmul(m.ones(2, 2, 3), m.ones(3, 3, 4))),
    ("mm int", lambda m: m.mm(m.ones(2, 3, dtype=m.int64), m.ones(3, 2))),
    ("mv dtype", lambda m: m.mv(m.ones(2, 3), m.ones(3, dtype=m.float64))),
    ("mv 1d", lambda m: m.mv(m.ones(3), m.ones(3))),
    ("addmm shape", lambda m: m.addmm(m.ones(2, 2), m.ones(2, 3), m.ones(4, 2))),
    ("addmm bias shape", lambda m: m.addmm(m.ones(3, 3), m.ones(2, 3), m.ones(3, 2))),
    ("baddbmm shape", lambda m: m.baddbmm(m.ones(2, 2, 2), m.ones(2, 2, 3), m.ones(2, 4, 2))),
    ("tensordot bad", lambda m: m.tensordot(m.ones(2, 3), m.ones(4, 5), dims=1)),
    ("kron 0", lambda m: m.kron(m.ones(2), 3)),
    ("outer dtype", lambda m: m.outer(m.ones(2), m.ones(3, dtype=m.float64))),
    ("inner shape", lambda m: m.inner(m.ones(2, 3), m.ones(2, 4))),
    ("vdot dtype", lambda m: m.vdot(m.ones(3), m.ones(3, dtype=m.float64))),
    ("linalg.matmul shape", lambda m: m.linalg.matmul(m.ones(2, 3), m.ones(2, 3))),
    ("chain_matmul", lambda m: m.linalg.multi_dot([m.ones(2, 3), m.ones(4, 5)])),
    ("linear 0d", lambda m: m.nn.functional.linear(m.tensor(1.0), m.ones(4, 3))),
    ("linear int", lambda m: m.nn.functional.linear(m.ones(2, 3, dtype=m.int64), m.ones(4, 3))),
    (
        "bilinear shape",
        lambda m: m.nn.functional.bilinear(m.ones(2, 3), m.ones(2, 4), m.ones(5, 3, 3)),
    ),
    ("arange float step0", lambda m: m.arange(0.0, 1.0, 0.0)),
    ("linspace neg", lambda m: m.linspace(0, 1, -1)),
    ("eye neg", lambda m: m.eye(-1)),
    ("full_like bad", lambda m: m.full_like(m.ones(2), m.ones(2))),
    ("zeros float size", lambda m: m.zeros(2.5)),
    ("tensor rg bool", lambda m: m.tensor([True], requires_grad=True)),
    ("ones rg int", lambda m: m.ones(2, dtype=m.int32, requires_grad=True)),
    ("arange rg int", lambda m: m.arange(3, requires_grad=True)),
    ("zeros_like rg int", lambda m: m.zeros_like(m.ones(2, dtype=m.int64), requires_grad=True)),
]


@pytest.mark.parametrize("fn", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_error_type_matches_torch(fn):
    check(fn, grad=False)


def test_dtype_errors_are_runtime_errors_that_programs_catch():
    # The probe's programs: `except RuntimeError` around a dtype mix-up.
    cases = [
        lambda: dg.nn.functional.conv1d(dg.ones(1, 2, 5, dtype=dg.float64), dg.ones(3, 2, 2)),
        lambda: dg.nn.Conv2d(2, 3, 2)(dg.ones(1, 2, 5, 5, dtype=dg.float64)),
        lambda: dg.nn.functional.conv3d(
            dg.ones(1, 2, 4, 4, 4, dtype=dg.float64), dg.ones(3, 2, 2, 2, 2)
        ),
        lambda: dg.nn.functional.embedding(dg.tensor([0.0, 1.0]), dg.ones(4, 3)),
        lambda: dg.nn.functional.cross_entropy(dg.ones(3, 4), dg.tensor([0.0, 1.0, 2.0])),
        lambda: dg.nn.functional.nll_loss(dg.ones(3, 4), dg.tensor([0, 1, 2], dtype=dg.int32)),
        lambda: dg.tensor([1], requires_grad=True),
        lambda: dg.zeros(2, dtype=dg.int64, requires_grad=True),
        lambda: dg.arange(3, requires_grad=True),
    ]
    for make in cases:
        with pytest.raises(RuntimeError) as caught:
            make()
        # (the TypeError base keeps deltagrad's earlier `except TypeError` callers working)
        assert isinstance(caught.value, (TypeError, ValueError)), caught.value
    with pytest.raises(
        RuntimeError,
        match=r"Input type \(deltagrad.float64\), weight type "
        r"\(deltagrad.float32\)",
    ):
        dg.nn.functional.conv1d(dg.ones(1, 2, 5, dtype=dg.float64), dg.ones(3, 2, 2))
    with pytest.raises(RuntimeError, match="floating point and complex dtype can require"):
        dg.tensor([1], requires_grad=True)


def test_index_select_error_type_follows_the_dim():
    # PyTorch: IndexError along dim 0 (and for 1-d inputs), RuntimeError along other dims.
    with pytest.raises(IndexError):
        dg.index_select(dg.ones(2, 3), 0, dg.tensor([5]))
    with pytest.raises(RuntimeError):
        dg.index_select(dg.ones(2, 3), 1, dg.tensor([5]))
    with pytest.raises(RuntimeError):
        dg.index_select(dg.ones(2, 3), -1, dg.tensor([5]))


def test_one_dimensional_input_takes_a_one_element_target():
    log_p = np.log(np.array([0.1, 0.2, 0.7]))
    for loss in ("nll_loss", "cross_entropy"):
        for reduction in ("mean", "none"):
            ours = getattr(dg.nn.functional, loss)(
                dg.tensor(log_p), dg.tensor([2]), reduction=reduction
            )
            theirs = getattr(torch.nn.functional, loss)(
                torch.tensor(log_p), torch.tensor([2]), reduction=reduction
            )
            assert tuple(ours.shape) == tuple(theirs.shape)
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


def test_save_into_a_missing_directory(tmp_path):
    target = tmp_path / "missing" / "x.pt"
    with pytest.raises(RuntimeError, match="Parent directory .*missing does not exist"):
        dg.save({"a": dg.ones(1)}, target)
    with pytest.raises(RuntimeError):
        torch.save({"a": torch.ones(1)}, target)
