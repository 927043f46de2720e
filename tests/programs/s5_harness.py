"""What the s5 program probes share: weights copied from PyTorch, and results compared.

Programs return nested dicts / lists of tensors, numbers, dtypes and strings; ``compare`` checks
that deltagrad's match PyTorch's (values to float32 tolerance, dtypes, shapes; strings as text,
with ``deltagrad.`` read as ``torch.``).
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

try:
    import torch as real_torch
except ImportError:  # the deltagrad half of each test still runs
    real_torch = None

RTOL, ATOL = 1e-4, 1e-5  # float32 run-to-run variation between two summation orders


def copy_weights(dg_model, torch_model) -> None:
    """Load ``torch_model``'s state dict (parameters and buffers) into ``dg_model`` via NumPy."""
    state = {name: dg.tensor(value.detach().numpy().copy())
             for name, value in torch_model.state_dict().items()}
    dg_model.load_state_dict(state)


def flatten(value, prefix="out"):
    """The numbers a program returned, as a flat ``{path: ndarray or str}`` dict."""
    if isinstance(value, dict):
        items = {}
        for key, item in value.items():
            items.update(flatten(item, f"{prefix}.{key}"))
        return items
    if isinstance(value, (list, tuple)) and not all(isinstance(v, (int, float, bool))
                                                      for v in value):
        items = {}
        for index, item in enumerate(value):
            items.update(flatten(item, f"{prefix}[{index}]"))
        return items
    if isinstance(value, str):
        return {prefix: value}
    if value is None:
        return {prefix: "None"}
    if hasattr(value, "detach"):  # a tensor of either library
        value = value.detach().numpy()
    if hasattr(value, "is_floating_point") or type(value).__name__ == "dtype":
        return {prefix: str(value).replace("torch.", "").replace("deltagrad.", "")}
    return {prefix: np.asarray(value)}


def compare(dg_out, torch_out, rtol=RTOL, atol=ATOL) -> None:
    """Every number (and dtype name) deltagrad returned matches PyTorch's, dtype included."""
    dg_flat, torch_flat = flatten(dg_out), flatten(torch_out)
    assert dg_flat.keys() == torch_flat.keys()
    for key, ours in dg_flat.items():
        theirs = torch_flat[key]
        if isinstance(theirs, str) or isinstance(ours, str):
            assert ours.replace("deltagrad.", "torch.") == theirs, key
            continue
        assert ours.shape == theirs.shape, (key, ours.shape, theirs.shape)
        assert ours.dtype == theirs.dtype, (key, ours.dtype, theirs.dtype)
        if ours.dtype.kind in "fc":
            np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=key)
        else:
            np.testing.assert_array_equal(ours, theirs, err_msg=key)


def build_models(build):
    """``(deltagrad model, PyTorch model or None)`` from ``build(lib)``, PyTorch's weights copied
    into deltagrad's; ``(None, None)`` without a ``build``."""
    if build is None:
        return None, None
    dg_model, torch_model = build(dg), None
    if real_torch is not None:
        real_torch.manual_seed(0)
        torch_model = build(real_torch)
        copy_weights(dg_model, torch_model)
    return dg_model, torch_model


def xfail(reason):
    return pytest.mark.xfail(strict=True, reason=reason)
