"""e3nn's FX-generated modules (FX, session 14), run unchanged on PyTorch and under
``python -m deltagrad run``: FullyConnectedTensorProduct, Linear, ElementwiseTensorProduct,
Legendre, NormActivation, spherical_harmonics_alpha_beta and Gate build their forward by
making Proxies by hand and calling torch functions on them (graph building outside a trace),
then GraphModule code generation. Records forward values, gradients back to the inputs and
the weights, and the generated graphs' node counts. Keys ``<module>.<what>``; a module that
raises records ``ERR.<module>``.
Usage: ``python prog_s14_FX_e3nn.py OUT.npz``."""

import sys
import traceback
import warnings

import numpy as np
import torch

OUT: dict = {}


def put(key: str, value) -> None:
    if isinstance(value, torch.Tensor):
        OUT[key] = value.detach().numpy().copy()
        OUT[key + ".dtype"] = np.array(str(value.dtype).rsplit(".", 1)[-1])
    else:
        OUT[key] = np.array(value)


def inputs(*shapes, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [torch.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
            for shape in shapes]


def build_all():
    from e3nn import nn as e3nn_nn
    from e3nn import o3

    gate = e3nn_nn.Gate("2x0e", [torch.tanh], "1x0e", [torch.sigmoid], "1x1o")
    return {
        "fctp": (lambda: o3.FullyConnectedTensorProduct("2x0e+1x1o", "1x1o", "1x0e+1x1e"),
                 [(4, 5), (4, 3)]),
        "linear": (lambda: o3.Linear("2x0e+1x1o", "1x0e+2x1o"), [(4, 5)]),
        "elementwise": (lambda: o3.ElementwiseTensorProduct("2x1o", "2x1e"), [(4, 6), (4, 6)]),
        "legendre": (lambda: o3.Legendre([0, 1, 2, 3]), [(4,), (4,)]),
        "norm_activation": (lambda: e3nn_nn.NormActivation("2x0e+1x1o", torch.sigmoid),
                            [(4, 5)]),
        "gate": (lambda: gate, [(4, 6)]),
    }


def run(name: str, build, shapes) -> None:
    torch.manual_seed(0)
    module = build()
    with torch.no_grad():  # (the same weights on both sides, whatever the seeded init)
        for i, param in enumerate(module.parameters()):
            rng = np.random.default_rng(100 + i)
            param.copy_(torch.tensor(rng.standard_normal(tuple(param.shape))
                                     .astype(np.float32)))
    args = inputs(*shapes)
    out = module(*args)
    put(f"{name}.out", out)
    out.pow(2).sum().backward()
    for i, arg in enumerate(args):
        put(f"{name}.grad{i}", arg.grad)
    for i, param in enumerate(module.parameters()):
        put(f"{name}.param_grad{i}", param.grad)
    graphs = [m for m in module.modules() if isinstance(m, torch.fx.GraphModule)]
    put(f"{name}.graph_nodes", sum(len(m.graph.nodes) for m in graphs))


def main() -> None:
    warnings.filterwarnings("ignore")
    for name, (build, shapes) in build_all().items():
        try:
            run(name, build, shapes)
        except Exception:
            OUT[f"ERR.{name}"] = np.array(traceback.format_exc())
    try:
        from e3nn import o3

        alpha, beta = inputs((5,), (5,), seed=3)
        values = o3.spherical_harmonics_alpha_beta([0, 1, 2], alpha, beta)
        put("harmonics_alpha_beta.out", values)
    except Exception:
        OUT["ERR.harmonics_alpha_beta"] = np.array(traceback.format_exc())
    np.savez(sys.argv[1], **OUT)


if __name__ == "__main__":
    main()
