"""e3nn programs (T16), run unchanged on PyTorch and under ``python -m deltagrad run``: Irreps
algebra, spherical harmonics (values, gradients, equivariance), Wigner D matrices and 3j
symbols, random rotations, e3nn.math helpers, e3nn.nn's FullyConnectedNet / Activation /
BatchNorm, and what the FX-generated modules (TensorProduct, Linear, ...) do.

e3nn's TensorProduct, Linear, Legendre (so spherical_harmonics_alpha_beta), Gate and
NormActivation build their forward with torch.fx (Graph / Proxy /
GraphModule code generation; no e3nn switch avoids it). They record ``fx.<name>`` = "built"
(or the NotImplementedError a missing FX piece would raise, with its message).

Usage: ``prog_s9_T16_e3nn.py OUT.npz SECTIONS`` (comma-separated of irreps, harmonics,
rotations, math, nn, fx). A section that raises records its traceback as ``ERR.<section>``.
"""

import sys
import traceback
import types
import warnings

import numpy as np
import torch

OUT: dict = {}
UNDER_DELTAGRAD = hasattr(torch, "install_as_torch")
if UNDER_DELTAGRAD and "functional" not in vars(torch):
    # opt_einsum_fx (imported by e3nn) reads torch.functional.einsum / tensordot at import time;
    # deltagrad has no top-level `functional` module (reported: a shared __init__ entry).
    torch.functional = types.SimpleNamespace(einsum=torch.einsum, tensordot=torch.tensordot)


def put(prefix: str, value) -> None:
    """Records tensors, numbers, strings and (nested) lists / tuples of them."""
    if isinstance(value, torch.Tensor):
        OUT[prefix] = value.detach().numpy()
        OUT[prefix + ".dtype"] = np.asarray(str(value.dtype).rsplit(".", 1)[-1])
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            put(f"{prefix}.{index}", item)
    else:
        OUT[prefix] = np.asarray(value)


def run_irreps():
    from e3nn import o3

    irreps = o3.Irreps("3x0e + 2x1o + 1x2e + 0x3o + 1x1o")
    put("irreps.str", str(irreps))
    put("irreps.dim", irreps.dim)
    put("irreps.num", irreps.num_irreps)
    put("irreps.simplify", str(irreps.simplify()))
    put("irreps.sort", str(irreps.sort().irreps))
    put("irreps.sort_inv", list(irreps.sort().inv))
    put("irreps.slices", [(s.start, s.stop) for s in irreps.slices()])
    put("irreps.ls", list(irreps.ls))
    put("irreps.spherical", str(o3.Irreps.spherical_harmonics(3, p=-1)))
    put("irreps.mul", [str(ir) for ir in o3.Irrep("1o") * o3.Irrep("2e")])
    put("irreps.scaled", str(2 * o3.Irreps("1x1o + 0e")))
    put("irreps.product", [str(ir) for ir in o3.Irrep("1o") * o3.Irrep("1o")])
    put("irreps.iterator", [str(ir) for ir in o3.Irrep.iterator(2)])
    torch.manual_seed(0)
    put("irreps.randn", irreps.randn(2, -1, normalization="norm"))


def run_harmonics():
    from e3nn import o3

    generator = torch.Generator().manual_seed(1)
    x = torch.randn(7, 3, generator=generator, dtype=torch.float64)
    for normalization in ("integral", "component", "norm"):
        y = o3.spherical_harmonics(list(range(5)), x, normalize=True,
                                   normalization=normalization)
        put(f"harmonics.{normalization}", y)
    module = o3.SphericalHarmonics("1x0e+1x1o+1x2e+1x3o", normalize=False,
                                   normalization="component")
    xs = x.float().clone().requires_grad_(True)
    y = module(xs)
    put("harmonics.module", y)
    (y ** 2 * torch.arange(16.0)).sum().backward()
    put("harmonics.grad", xs.grad)
    # Equivariance: Y(R x) = D(R) Y(x).
    rotation = o3.angles_to_matrix(*[torch.tensor(v, dtype=torch.float64)
                                     for v in (0.3, -1.1, 0.7)])
    irreps = o3.Irreps.spherical_harmonics(3)
    left = o3.spherical_harmonics(irreps, x @ rotation.T, normalize=True)
    right = o3.spherical_harmonics(irreps, x, normalize=True) @ irreps.D_from_matrix(rotation).T
    put("harmonics.equivariance", (left - right).abs().max())
    put("harmonics.left", left)


def run_rotations():
    from e3nn import o3

    angles = [torch.tensor([0.3, -0.4]), torch.tensor([1.2, 0.1]), torch.tensor([-0.5, 2.0])]
    for l in range(4):
        put(f"rotations.wigner_D.{l}", o3.wigner_D(l, *angles))
    for l1, l2, l3 in ((1, 1, 2), (1, 2, 3), (2, 2, 2), (0, 1, 1)):
        put(f"rotations.w3j.{l1}{l2}{l3}", o3.wigner_3j(l1, l2, l3))
    torch.manual_seed(2)
    matrix = o3.rand_matrix(3)
    put("rotations.rand_matrix", matrix)
    put("rotations.angles", o3.matrix_to_angles(matrix))
    put("rotations.quaternion", o3.matrix_to_quaternion(matrix))
    put("rotations.axis_angle", o3.matrix_to_axis_angle(matrix))
    put("rotations.compose", o3.compose_angles(*angles, *[a.flip(0) for a in angles]))
    irreps = o3.Irreps("2x0e + 1x1o + 1x2e + 1x3o")
    put("rotations.D", irreps.D_from_matrix(matrix))
    put("rotations.D_angles", irreps.D_from_angles(*angles))
    put("rotations.rand_angles", o3.rand_angles(4))
    put("rotations.identity", o3.identity_angles(2))
    put("rotations.xyz_to_angles", o3.xyz_to_angles(torch.tensor([[1.0, 2.0, -0.5]])))


def run_math():
    from e3nn import math as e3math

    x = torch.linspace(-1.2, 2.3, 9)
    for basis in ("gaussian", "cosine", "smooth_finite", "fourier", "bessel"):
        put(f"math.soft_one_hot.{basis}", e3math.soft_one_hot_linspace(
            x, start=0.0, end=2.0, number=5, basis=basis, cutoff=True))
    put("math.soft_unit_step", e3math.soft_unit_step(x))
    put("math.direct_sum", e3math.direct_sum(torch.eye(2), 2 * torch.ones(1, 3)))
    torch.manual_seed(3)
    put("math.normalize2mom", e3math.normalize2mom(torch.tanh).cst)
    put("math.orthonormalize", e3math.orthonormalize(
        torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]]), 1e-9))


def run_nn():
    from e3nn import nn as e3nn_nn
    from e3nn import o3

    torch.manual_seed(4)
    net = e3nn_nn.FullyConnectedNet([3, 16, 16, 2], torch.nn.functional.silu)
    x = torch.randn(5, 3, requires_grad=True)
    y = net(x)
    y.pow(2).sum().backward()
    put("nn.fcnet", y)
    put("nn.fcnet.grads", [p.grad for p in net.parameters()])
    put("nn.fcnet.x_grad", x.grad)
    irreps = o3.Irreps("4x0e + 2x1o + 1x2e")
    activation = e3nn_nn.Activation("4x0e", [torch.tanh])
    put("nn.activation", activation(torch.linspace(-2, 2, 8).reshape(2, 4)))
    batchnorm = e3nn_nn.BatchNorm(irreps)
    features = torch.randn(6, irreps.dim)
    for _ in range(2):
        out = batchnorm(features)
    put("nn.batchnorm.out", out)
    put("nn.batchnorm.running_mean", batchnorm.running_mean)
    put("nn.batchnorm.running_var", batchnorm.running_var)
    batchnorm.eval()
    put("nn.batchnorm.eval", batchnorm(features))


def run_fx():
    from e3nn import nn as e3nn_nn
    from e3nn import o3

    builds = {
        "fctp": lambda: o3.FullyConnectedTensorProduct("2x0e+1x1o", "1x1o", "1x0e+1x1e"),
        "linear": lambda: o3.Linear("2x0e+1x1o", "1x0e+2x1o"),
        "elementwise": lambda: o3.ElementwiseTensorProduct("2x1o", "2x1e"),
        "legendre": lambda: o3.Legendre([0, 1, 2, 3]),
        "norm_activation": lambda: e3nn_nn.NormActivation("2x0e+1x1o", torch.sigmoid),
    }
    for name, build in builds.items():
        try:
            module = build()
            put(f"fx.{name}", "built")
            put(f"fx.{name}.n_params", sum(p.numel() for p in module.parameters()))
        except NotImplementedError as error:
            put(f"fx.{name}", "NotImplementedError")
            put(f"fx.{name}.message", str(error))


def main() -> None:
    out_path, sections = sys.argv[1], sys.argv[2].split(",")
    warnings.filterwarnings("ignore")
    import e3nn.o3  # noqa: F401 - fail here, not in a section, if it cannot import

    for name in sections:
        try:
            globals()[f"run_{name}"]()
        except Exception:  # noqa: BLE001 - recorded for the test to show
            OUT[f"ERR.{name}"] = np.asarray(traceback.format_exc())
    np.savez(out_path, **OUT)


if __name__ == "__main__":
    main()
