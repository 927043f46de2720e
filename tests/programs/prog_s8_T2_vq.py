"""vector-quantize-pytorch (lucidrains) used as its README does: a program run unchanged under
real PyTorch and under ``python -m deltagrad run``; it writes every number it sees to an .npz.

Usage: ``python prog_s8_T2_vq.py OUT.npz``. Sections are seeded on their own and record
``<section>_ERR`` when they raise. Covered: VectorQuantize (EMA codebook updates over several
training steps, cosine similarity, dead-code expiry, learnable codebooks with an in-place
optimizer, heads, orthogonal regularisation, k-means init, rotation trick, masks), ResidualVQ,
GroupedResidualVQ, FSQ, ResidualFSQ, LFQ, ResidualLFQ, LatentQuantize, SimVQ, and
torch.distributed.nn in a world of one.
"""

import os
import sys
import tempfile
import traceback

import numpy as np
import torch
from vector_quantize_pytorch import (
    FSQ,
    LFQ,
    GroupedResidualVQ,
    LatentQuantize,
    ResidualFSQ,
    ResidualLFQ,
    ResidualVQ,
    SimVQ,
    VectorQuantize,
)

OUT = {}
SECTIONS = []


def save(key, value):
    if isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            save(f"{key}.{i}", item)
    elif value is not None:
        OUT[key] = value.detach().numpy() if torch.is_tensor(value) else np.asarray(value)


def section(function):
    SECTIONS.append(function)
    return function


def train(name, quantizer, x, steps=3, **kw):
    """A few training steps: outputs, indices, losses, input gradients, then the state dict
    (EMA cluster sizes, averaged embeddings, codebooks)."""
    x = x.clone().requires_grad_()
    params = [p for p in quantizer.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=0.05) if params else None
    for i in range(steps):
        quantized, indices, loss = quantizer(x, **kw)[:3]
        save(f"{name}_q{i}", quantized)
        save(f"{name}_i{i}", indices)
        save(f"{name}_l{i}", loss)
        (quantized.square().mean() + loss.sum()).backward()
        save(f"{name}_xg{i}", x.grad)
        x.grad = None
        if opt:
            opt.step()
            opt.zero_grad()
    for key, value in quantizer.state_dict().items():
        save(f"{name}_sd_{key}", value)


def _vq_section(name, make, shape):
    def run():
        train(name, make(), torch.randn(*shape))
    run.__name__ = name
    return section(run)


_vq_section("vq_ema", lambda: VectorQuantize(dim=8, codebook_size=16, decay=0.8,
                                             commitment_weight=1.0), (2, 12, 8))
_vq_section("vq_cos", lambda: VectorQuantize(dim=8, codebook_size=16, use_cosine_sim=True,
                                             codebook_dim=4, threshold_ema_dead_code=2),
            (2, 12, 8))
_vq_section("vq_heads", lambda: VectorQuantize(dim=8, codebook_size=16, heads=2,
                                               separate_codebook_per_head=True,
                                               learnable_codebook=True, ema_update=False,
                                               commitment_weight=0.5), (2, 12, 8))
_vq_section("vq_orth", lambda: VectorQuantize(dim=8, codebook_size=16, orthogonal_reg_weight=10,
                                              orthogonal_reg_max_codes=8,
                                              orthogonal_reg_active_codes_only=False,
                                              accept_image_fmap=True), (2, 8, 3, 3))
_vq_section("vq_kmeans", lambda: VectorQuantize(dim=8, codebook_size=6, kmeans_init=True,
                                                kmeans_iters=3, rotation_trick=True),
            (2, 12, 8))
_vq_section("vq_affine", lambda: VectorQuantize(dim=8, codebook_size=8, affine_param=True,
                                                sync_affine_param=False), (2, 12, 8))
_vq_section("rvq", lambda: ResidualVQ(dim=8, num_quantizers=3, codebook_size=16), (2, 12, 8))
_vq_section("grvq", lambda: GroupedResidualVQ(dim=8, num_quantizers=2, groups=2,
                                              codebook_size=8), (2, 12, 8))
_vq_section("simvq", lambda: SimVQ(dim=8, codebook_size=16, rotation_trick=True), (2, 12, 8))


@section
def vq_mask_and_lookup():
    quantizer = VectorQuantize(dim=8, codebook_size=16, decay=0.9, commitment_weight=1.0)
    x = torch.randn(2, 10, 8, requires_grad=True)
    mask = torch.arange(10).expand(2, 10) < torch.tensor([[10], [6]])
    quantized, indices, loss, breakdown = quantizer(x, mask=mask, return_loss_breakdown=True)
    save("mask", (quantized, indices, loss, tuple(breakdown)))
    (quantized.sum() + loss).backward()
    save("mask_xg", x.grad)
    save("mask_codes", quantizer.get_codes_from_indices(indices))
    save("mask_out", quantizer.get_output_from_indices(indices))
    save("mask_sd", tuple(quantizer.state_dict().values()))


@section
def vq_in_place_optimizer():
    quantizer = VectorQuantize(dim=8, codebook_size=16, ema_update=False, learnable_codebook=True,
                               in_place_codebook_optimizer=lambda p: torch.optim.SGD(p, lr=0.1))
    x = torch.randn(2, 10, 8)
    for i in range(2):
        save(f"inplace{i}", quantizer(x))
    save("inplace_sd", tuple(quantizer.state_dict().values()))


@section
def rvq_codes():
    quantizer = ResidualVQ(dim=8, num_quantizers=3, codebook_size=16, shared_codebook=True)
    x = torch.randn(2, 12, 8)
    quantizer.train()
    quantizer(x)
    quantizer.eval()
    quantized, indices, loss, all_codes = quantizer(x, return_all_codes=True)
    save("rvqc", (quantized, indices, loss, all_codes))
    save("rvqc_from", quantizer.get_output_from_indices(indices))


@section
def fsq():
    quantizer = FSQ(levels=[8, 5, 5, 3], dim=12)
    x = torch.randn(2, 10, 12, requires_grad=True)
    quantized, indices = quantizer(x)
    save("fsq", (quantized, indices, quantizer.indices_to_codes(indices)))
    quantized.square().sum().backward()
    save("fsq_xg", x.grad)
    save_grads = [p.grad for p in quantizer.parameters()]
    save("fsq_pg", save_grads)
    plain = FSQ(levels=[8, 6, 5])
    save("fsq_plain", plain(torch.randn(3, 7, 3) * 2))
    symmetric = FSQ(levels=[7, 5, 4], dim=6, num_codebooks=2, preserve_symmetry=True)
    save("fsq_sym", symmetric(torch.randn(2, 5, 6)))
    save("fsq_cf", FSQ(levels=[4, 4], channel_first=True)(torch.randn(2, 2, 3, 3)))


@section
def residual_fsq():
    quantizer = ResidualFSQ(dim=6, levels=[5, 5], num_quantizers=3)
    x = torch.randn(2, 7, 6, requires_grad=True)
    quantized, indices, all_codes = quantizer(x, return_all_codes=True)
    save("rfsq", (quantized, indices, all_codes, quantizer.get_output_from_indices(indices)))
    quantized.sum().backward()
    save("rfsq_xg", x.grad)


@section
def lfq():
    quantizer = LFQ(codebook_size=32, dim=10, entropy_loss_weight=0.1, diversity_gamma=1.0,
                    soft_clamp_input_value=10.0, frac_per_sample_entropy=0.5)
    x = torch.randn(2, 8, 10, requires_grad=True)
    quantized, indices, aux = quantizer(x, inv_temperature=50.0)
    save("lfq", (quantized, indices, aux, quantizer.indices_to_codes(indices)))
    (quantized.square().sum() + aux).backward()
    save("lfq_xg", x.grad)
    save("lfq_pg", [p.grad for p in quantizer.parameters()])
    spherical = LFQ(codebook_size=16, dim=4, spherical=True, num_codebooks=1)
    save("lfq_sph", spherical(torch.randn(2, 4, 3, 3)))
    quantizer.eval()
    save("lfq_eval", quantizer(x)[:2])


@section
def residual_lfq():
    quantizer = ResidualLFQ(dim=8, codebook_size=16, num_quantizers=2)
    x = torch.randn(2, 6, 8, requires_grad=True)
    quantized, indices, aux = quantizer(x)
    save("rlfq", (quantized, indices, aux))
    (quantized.sum() + aux.sum()).backward()
    save("rlfq_xg", x.grad)


@section
def latent_quantize():
    quantizer = LatentQuantize(levels=[5, 5, 8], dim=8, commitment_loss_weight=0.1,
                               quantization_loss_weight=0.1)
    x = torch.randn(2, 8, 6, requires_grad=True)
    quantized, indices, loss = quantizer(x)
    save("latq", (quantized, indices, loss))
    (quantized.sum() + loss).backward()
    save("latq_xg", x.grad)


@section
def distributed_nn():
    """torch.distributed.nn's differentiable collectives in a world of one."""
    import torch.distributed as dist
    from torch.distributed import nn as dist_nn
    store = os.path.join(tempfile.mkdtemp(), "store")
    dist.init_process_group("gloo", init_method="file://" + store, rank=0, world_size=1)
    try:
        x = torch.arange(6.0).reshape(2, 3).requires_grad_()
        reduced = dist_nn.all_reduce(x * 2)
        (reduced * torch.arange(6.0).reshape(2, 3)).sum().backward()
        save("dnn_ar", (reduced, x.grad))
        x.grad = None
        (gathered,) = dist_nn.all_gather(x)
        (gathered ** 2).sum().backward()
        save("dnn_ag", (gathered, x.grad))
    finally:
        dist.destroy_process_group()


def run_sections():
    """Runs every section; returns the recorded numbers (key -> ndarray)."""
    for function in SECTIONS:
        try:
            torch.manual_seed(0)
            function()
        except Exception as error:  # recorded, compared by the test
            OUT[function.__name__ + "_ERR"] = np.array(f"{type(error).__name__}: {error}"[:400])
            traceback.print_exc()
    return OUT


if __name__ == "__main__":
    np.savez(sys.argv[1], **run_sections())
