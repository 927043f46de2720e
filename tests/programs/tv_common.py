"""Shared pieces of the torchvision / timm probe programs (``prog_s10_*``), imported by them
under real PyTorch and under deltagrad's alias alike."""

import sys

import numpy as np
import torch

_DECLARED: list = []


def declare_torchvision_ops() -> None:
    """Under real PyTorch (the CPU build) torchvision's PyPI wheel is the CUDA build: its C++ ops
    cannot load, and its import then fails registering fakes for two of them. Declaring their
    schemas (no kernels) lets it import; calling them raises, as under deltagrad, which cannot
    load compiled libraries at all. Once per process, and only before torchvision's import."""
    if _DECLARED or "deltagrad" in sys.modules or "torchvision" in sys.modules:
        return
    for op in ("nms", "qnms"):
        torch.library.define(f"torchvision::{op}",
                             "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _DECLARED.append(True)


def put(out: dict, key: str, value) -> None:
    """``out[key]`` = the value as an array (a tensor's dtype name beside it, ``key.dtype``)."""
    if isinstance(value, torch.Tensor):
        out[key] = value.detach().numpy().copy()
        out[key + ".dtype"] = np.array(str(value.dtype))
    else:
        out[key] = np.array(value)


def fill_state_from_numpy(model, seed: int = 0) -> None:
    """Every floating entry of the state_dict from NumPy (BN variances positive), so both
    libraries hold the same numbers whatever their seeded inits."""
    rng = np.random.default_rng(seed)
    state = {}
    for name, value in model.state_dict().items():
        shape = tuple(value.shape)
        if not value.is_floating_point():
            state[name] = value
            continue
        if name.endswith("running_var"):
            array = rng.uniform(0.5, 1.5, shape)
        elif name.endswith("running_mean") or len(shape) <= 1:
            array = 0.1 * rng.standard_normal(shape) + (1.0 if name.endswith("weight") else 0)
        else:
            fan_in = int(np.prod(shape[1:])) or 1
            array = rng.standard_normal(shape) / np.sqrt(fan_in)
        state[name] = torch.from_numpy(np.asarray(array, dtype=np.float32))
    model.load_state_dict(state)
