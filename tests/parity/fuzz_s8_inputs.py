"""A generated sweep of inputs that are not tensors where a tensor is expected: each callable of
``torch``, ``torch.nn.functional``, ``torch.linalg``, ``torch.special`` and ``Tensor`` that the
s6 fuzzer knows is first called with a pattern that both libraries accept (its tensors of
shape (2, 3), or a hand-written call for the layers' functions: conv, linear, norms, pools);
then each tensor argument in turn (``self`` of a method excepted) is replaced by the same
values as a list, a tuple, a NumPy array and a Python number, and the call lands in one class:

- ``same``: both return the same (values, dtypes, shapes), or both raise compatible errors;
- ``silent-accept``: PyTorch raises (its "argument 'input' (position 1) must be Tensor, not
  list") and deltagrad returns: a program that passes a batch list computes garbage silently;
- ``silent``: both return, results differ;
- ``raise-mismatch``: both raise, deltagrad's exception not PyTorch's class or a subclass;
- ``we-raise``: deltagrad raises where PyTorch returns (a breadth gap, not silent);
- ``reviewed``: a ``silent-accept`` kept on purpose (``REVIEWED``, with its reason).

Deterministic (fixed data). Run as a script::

    .venv/bin/python tests/parity/fuzz_s8_inputs.py [--only NAME,...] [--namespace F,torch]

``test_s8_W2_inputs.py`` runs it over the layers' functions and asserts no silent class.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections import defaultdict

import numpy as np
import torch
from fuzz_s6 import (
    _build,
    _describe,
    _no_not_implemented,
    _normal,
    compatible,
    difference,
    summarize,
    targets,
)

import deltagrad as dg

# The first pattern both libraries accept is the seed of a callable's sweep.
SEEDS = [
    ("float32:m23",), ("float32:m23", "float32:m23"), ("float32:m23", "float32:v3"),
    ("float32:m23", ("n", 1)), ("float32:m23", "float32:m23", "float32:m23"),
    ("float32:m23", ("n", 2.5)), ("int64:m23",), ("int64:m23", "int64:m23"),
    ("bool:m23",), ("bool:m23", "float32:m23", "float32:m23"), ("float32:v3",),
    ("float32:v3", "float32:v3"), ("float32:0d",),
]


# Acceptances kept on purpose (label, what was replaced) -> why; classed ``reviewed``.
_EXTENSION = "deltagrad's documented extension (NumPy arrays of ids / class targets), tested"
REVIEWED = {("F.embedding", "arg 0 as ndarray"): _EXTENSION,
            ("F.cross_entropy", "arg 1 as ndarray"): _EXTENSION,
            ("F.nll_loss", "arg 1 as ndarray"): _EXTENSION}


def _r(*shape, seed=0):
    return np.random.default_rng(seed + len(shape)).standard_normal(shape).astype(np.float32)


# Hand-written calls of the functions whose inputs need particular shapes (name -> arguments;
# an ndarray is a tensor argument, a ("n", v) tuple a plain value).
LAYER_CALLS = {
    "conv1d": (_r(1, 2, 5), _r(3, 2, 2)), "conv2d": (_r(1, 2, 4, 4), _r(3, 2, 2, 2)),
    "conv3d": (_r(1, 2, 3, 3, 3), _r(3, 2, 2, 2, 2)),
    "conv_transpose1d": (_r(1, 2, 5), _r(2, 3, 2)),
    "conv_transpose2d": (_r(1, 2, 4, 4), _r(2, 3, 2, 2)),
    "conv_transpose3d": (_r(1, 2, 3, 3, 3), _r(2, 3, 2, 2, 2)),
    "linear": (_r(2, 3), _r(4, 3), _r(4)), "bilinear": (_r(2, 3), _r(2, 4), _r(5, 3, 4)),
    "embedding": (np.array([[0, 2], [1, 1]]), _r(3, 4)),
    "embedding_bag": (np.array([[0, 2], [1, 1]]), _r(3, 4)),
    "layer_norm": (_r(2, 3), ("n", (3,)), _r(3), _r(3)),
    "group_norm": (_r(2, 4, 3), ("n", 2), _r(4), _r(4)),
    "batch_norm": (_r(2, 3), _r(3), np.abs(_r(3)) + 1, _r(3), _r(3)),
    "instance_norm": (_r(2, 3, 4),), "local_response_norm": (_r(1, 3, 4), ("n", 2)),
    "rms_norm": (_r(2, 3), ("n", (3,)), _r(3)),
    "max_pool1d": (_r(1, 2, 6), ("n", 2)), "max_pool2d": (_r(1, 2, 4, 4), ("n", 2)),
    "max_pool3d": (_r(1, 1, 4, 4, 4), ("n", 2)), "avg_pool1d": (_r(1, 2, 6), ("n", 2)),
    "avg_pool2d": (_r(1, 2, 4, 4), ("n", 2)), "avg_pool3d": (_r(1, 1, 4, 4, 4), ("n", 2)),
    "lp_pool1d": (_r(1, 2, 6), ("n", 2), ("n", 2)), "lp_pool2d": (_r(1, 2, 4, 4), ("n", 2),
                                                                  ("n", 2)),
    "adaptive_avg_pool1d": (_r(1, 2, 6), ("n", 3)),
    "adaptive_avg_pool2d": (_r(1, 2, 4, 4), ("n", 2)),
    "adaptive_max_pool1d": (_r(1, 2, 6), ("n", 3)),
    "adaptive_max_pool2d": (_r(1, 2, 4, 4), ("n", 2)),
    "interpolate": (_r(1, 2, 4, 4), ("n", None), ("n", 2.0)),
    "upsample": (_r(1, 2, 4, 4), ("n", None), ("n", 2.0)),
    "upsample_nearest": (_r(1, 2, 4, 4), ("n", None), ("n", 2)),
    "upsample_bilinear": (_r(1, 2, 4, 4), ("n", None), ("n", 2)),
    "pad": (_r(2, 3), ("n", (1, 1))), "unfold": (_r(1, 2, 4, 4), ("n", 2)),
    "fold": (_r(1, 8, 9), ("n", 4), ("n", 2)), "pixel_shuffle": (_r(1, 4, 2, 2), ("n", 2)),
    "pixel_unshuffle": (_r(1, 1, 4, 4), ("n", 2)),
    "grid_sample": (_r(1, 1, 3, 3), np.clip(_r(1, 2, 2, 2), -1, 1)),
    "affine_grid": (_r(1, 2, 3), ("n", [1, 1, 3, 3])),
    "scaled_dot_product_attention": (_r(1, 2, 3), _r(1, 2, 3), _r(1, 2, 3)),
    "cross_entropy": (_r(2, 3), np.array([0, 2])), "nll_loss": (_r(2, 3), np.array([0, 2])),
    "multi_margin_loss": (_r(2, 3), np.array([0, 2])),
    "multilabel_margin_loss": (_r(2, 3), np.array([[0, -1, 1], [2, -1, 0]])),
    "one_hot": (np.array([0, 2]),), "prelu": (_r(2, 3), _r(1)),
    "ctc_loss": None, "triplet_margin_loss": (_r(2, 3), _r(2, 3), _r(2, 3)),
    "cosine_embedding_loss": (_r(2, 3), _r(2, 3), np.array([1.0, -1.0], np.float32)),
    "margin_ranking_loss": (_r(3), _r(3), np.array([1.0, -1.0, 1.0], np.float32)),
    "hinge_embedding_loss": (_r(2, 3), np.sign(_r(2, 3))),
    "gaussian_nll_loss": (_r(2, 3), _r(2, 3), np.abs(_r(2, 3)) + 0.1),
    "cosine_similarity": (_r(2, 3), _r(2, 3)), "pairwise_distance": (_r(2, 3), _r(2, 3)),
    "normalize": (_r(2, 3),), "glu": (_r(2, 4),), "multi_head_attention_forward": None,
}


def _to_spec(value):
    return value if isinstance(value, tuple) else ("a", value)


def _make(lib, spec):
    if isinstance(spec, tuple) and spec and spec[0] == "a":
        array = spec[1].copy()
        return torch.tensor(array) if lib is torch else dg.tensor(array, dtype=array.dtype)
    return _build(lib, spec)


# The stand-ins for a tensor argument: its values in each non-tensor form.
def _stand_ins(t: torch.Tensor) -> dict:
    values = t.detach().numpy()
    forms = {"list": values.tolist(), "ndarray": values.copy()}
    if values.ndim:
        forms["tuple"] = tuple(values.tolist())
    forms["number"] = values.reshape(-1)[0].item() if values.size else 1.5
    forms["list-of-tensor"] = "wrap"  # ([t]: a batch list, Lightning's default predict_step)
    return forms


def _call(fn, lib, specs, replace=None):
    args = [_make(lib, s) for s in specs]
    if replace is not None:
        i, value = replace
        if isinstance(value, str):  # "wrap": the library's own tensor in a list
            args[i] = [args[i]]
        else:  # (a fresh copy per call: a function may write into it)
            args[i] = value.copy() if isinstance(value, np.ndarray) else value
    return _no_not_implemented(fn(*args))


def _classify(theirs, ours, specs, replace_t, replace_d) -> tuple[str, str]:
    try:
        expected, t_error = _call(theirs, torch, specs, replace_t), None
    except Exception as e:  # noqa: BLE001 - whatever PyTorch raises is the spec
        t_error = e
    try:
        got, d_error = _call(ours, dg, specs, replace_d), None
    except Exception as e:  # noqa: BLE001
        d_error = e
    if t_error is not None and d_error is not None:
        if compatible(t_error, d_error):
            return "same", ""
        return "raise-mismatch", (f"torch {type(t_error).__name__}, ours "
                                  f"{type(d_error).__name__}: {str(d_error)[:80]}")
    if t_error is not None:
        return "silent-accept", (f"torch raises {type(t_error).__name__}: "
                                 f"{str(t_error).splitlines()[0][:80]}; ours returns "
                                 f"{_describe(got)}")
    if d_error is not None:
        return "we-raise", f"{type(d_error).__name__}: {str(d_error)[:90]}"
    why = difference(_normal(expected), _normal(got))
    return ("silent", why) if why else ("same", "")


def _seed(label, theirs, ours):
    """The first argument specs both libraries accept, or None."""
    name = label.split(".", 1)[1]
    if label.startswith("F.") and name in LAYER_CALLS:
        candidates = [] if LAYER_CALLS[name] is None else [
            tuple(_to_spec(v) for v in LAYER_CALLS[name])]
    else:
        candidates = SEEDS
    for specs in candidates:
        try:
            _call(theirs, torch, specs)
            _call(ours, dg, specs)
            return specs
        except Exception:  # noqa: BLE001
            continue
    return None


def sweep(selected):
    """{label: [(what was replaced, class, why)]} over every tensor argument of each seed."""
    results = defaultdict(list)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(0)
        for label, theirs, ours in selected:
            specs = _seed(label, theirs, ours)
            if specs is None:
                results[label].append(("-", "no-seed", ""))
                continue
            first = 1 if label.startswith("Tensor.") else 0  # (self is a tensor by nature)
            for i in range(first, len(specs)):
                if isinstance(specs[i], tuple) and specs[i][0] == "n":
                    continue
                for form, value in _stand_ins(_make(torch, specs[i])).items():
                    cls, why = _classify(theirs, ours, specs, (i, value), (i, value))
                    if cls == "silent-accept" and (label, f"arg {i} as {form}") in REVIEWED:
                        cls, why = "reviewed", REVIEWED[label, f"arg {i} as {form}"]
                    results[label].append((f"arg {i} as {form}", cls, why))
    return results


# (the classes this sweep gives, in the order it prints them)
CLASSES = ("silent-accept", "silent", "raise-mismatch", "we-raise", "reviewed")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--namespace", default="F,torch,linalg,special,Tensor")
    parser.add_argument("--only", default="", help="comma-separated names (any namespace)")
    parser.add_argument("--show", type=int, default=3, help="examples per callable")
    options = parser.parse_args(argv)
    selected = targets(options.namespace.split(","))
    if options.only:
        wanted = set(options.only.split(","))
        selected = [t for t in selected if t[0].split(".", 1)[1] in wanted or t[0] in wanted]
    start = time.perf_counter()
    summarize(sweep(selected), show=options.show, classes=CLASSES)
    print(f"\n{len(selected)} callables, {time.perf_counter() - start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
