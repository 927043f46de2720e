"""Activation functions of ``torch.nn.functional`` (re-exported by ``nn.functional``).

The smooth ones with cheaper or steadier fused forms (elu, selu, celu, silu, mish, hardswish,
hardsigmoid, softshrink, logsigmoid, softplus, gelu) are primitives in ``_engine.ops``; the
others are compositions. ``inplace=True`` writes the result into the input and returns it, as
PyTorch: on a tensor that takes part in a graph the result is computed from a clone, so that
the op's own backward never reads the overwritten values.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import _engine as dg
from .._engine import bf16 as _bf16
from .._engine import stream as _stream
from .._engine import versions as _versions
from .._engine.api._common import apply_checked, tensor_arg, wrap_dim
from .._engine.api._common import tensor_input as _t
from .._engine.api._pointwise import write_out
from .._engine.api.factories import type_words
from .._engine.api.inplace import _inplace
from .._engine.api.softmax import _DIM_ATTRS, _LOG_SOFTMAX, _SOFTMAX, _softmax
from .._engine.api.write_checks import DUAL_LEAF
from .._engine.autograd import _counters, _GradMode, _InferenceMode
from .._engine.modes import check_inference_inplace
from .._engine.node_names import name_node
from .._engine.ops import OPS
from .._engine.ops.relu_zeros import zeros_for
from .._engine.promotion import check_fits
from .._engine.random import numpy_generator, torch_source
from .._engine.tensor import Tensor, _leaf, apply
from ..autograd.forward_ad import refuse_tangents
from ._functional_args import (
    check_flag,
    check_int,
    check_number,
    check_reduced_kernel,
    check_str,
)

__all__ = [
    "celu", "celu_", "elu", "elu_", "gelu", "glu", "hardshrink", "hardsigmoid", "hardswish",
    "hardtanh", "hardtanh_", "leaky_relu", "leaky_relu_", "log_softmax", "logsigmoid", "mish",
    "prelu", "relu", "relu6", "relu_", "rrelu", "rrelu_", "selu", "selu_", "sigmoid", "silu",
    "softmax", "softmin", "softplus", "softshrink", "softsign", "tanh", "tanhshrink",
    "threshold", "threshold_",
]

# SELU's constants (Klambauer et al., 2017), as PyTorch spells them.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _floating(name: str, input, complex_ok: bool = False) -> Tensor:
    """The input as a Tensor; integer and boolean inputs are refused, as PyTorch does, and
    complex ones unless ``complex_ok`` (PyTorch's real-only kernels: was a value computed from
    NumPy's ordering of complex numbers)."""
    x = input if type(input) is Tensor else _t(input, 2)
    kind = x._data.dtype.kind
    if (kind != "f" and x._data.dtype is not _bf16.BF16) and (kind != "c" or not complex_ok):
        # (the array's dtype: Tensor.dtype costs 0.7 us; bfloat16 is floating, its kind "V")
        raise NotImplementedError(f"{name}: not implemented for {x.dtype} input of shape "
                                  f"{x.shape}; a {'real ' if kind == 'c' else ''}"
                                  "floating-point tensor is expected")
    return x


_number = check_number  # (PyTorch's Scalar argument)
_F32_MAX = float(np.finfo(np.float32).max)
_EXACT = 2 ** 53  # (ints up to this are exact in float64)


def _no_bool(name: str, x: Tensor) -> None:
    if x._data.dtype.kind == "b":
        raise RuntimeError(f"{name}: boolean inputs are not supported")


# The fused ops, looked up once. The functions below call ``apply`` directly when not in place
# (no closure for ``_apply``): about 0.4 us of each call's 10 (benchmarks/op_overhead.py).
_ELU, _LEAKY_RELU, _HARDTANH = OPS["elu"], OPS["leaky_relu"], OPS["hardtanh"]
_SOFTPLUS, _GELU, _SOFTSHRINK = OPS["softplus"], OPS["gelu"], OPS["softshrink"]
_HARDSHRINK, _THRESHOLD, _PRELU = OPS["hardshrink"], OPS["threshold"], OPS["prelu"]


def _apply(input: Tensor, compute, inplace: bool) -> Tensor:
    """``compute(input)``, or, with ``inplace``, its value written into ``input``."""
    if not inplace:
        return compute(input)
    if (dg.is_grad_enabled() or DUAL_LEAF[0] is not None) and input._rg:
        # (a dual level on: a dual's tangent is updated there under no_grad too; s30 BR22)
        # The engine's in-place path (Tensor.relu_'s): the op's node takes the old value's
        # place, which it snapshots only if its rule reads it. A clone and copy_ made a clone,
        # a copy node and a where node: leaky_relu(0.2, inplace=True) forward + backward on
        # [32, 16, 8, 8] float32 235 -> 141 us (thread time, alternated); the W8 DCGAN step
        # 0.91 of its time with BatchNorm's _channel_rows change (ab.py --workload w8-dcgan).
        return _inplace(input, "inplace activation", compute)
    if not _GradMode.enabled and _direct_write(input, compute):
        return input
    with dg.no_grad():
        return input.copy_(compute(input))


def _direct_write(x: Tensor, compute) -> bool:
    """With grad mode off, ``compute(x)`` (the out-of-place op: its bits) written straight into
    a plain float32 / float64 writeable ``x``, with copy_'s inference check and version bump:
    no no_grad context or copy_ call. False (nothing done) where that does not apply.
    [1, 16, 28, 28] float32 under no_grad: F.hardtanh(inplace=True) 18.1 -> 16.6 us,
    F.leaky_relu_ 9.7 -> 8.3, F.elu_ 23.6 -> 22.0, Tensor.tanh_ 9.3 -> 8.5; Tensor.relu_ (by
    relu's own direct path, below) 10.0 -> 6.7 us (thread time, 1 thread, 15 alternated
    rounds against HEAD's src, SP29)."""
    if type(x) is not Tensor or (x._rg and DUAL_LEAF[0] is not None):
        return False  # (a dual level: _inplace keeps a dual's tangent; s30 BR25)
    data = x._data
    if data.dtype not in _RELU_ZERO or not data.flags.writeable:
        return False
    value = compute(x)._data
    if value.dtype != data.dtype or value.shape != data.shape:
        return False  # (not met by the activations: copy_ then casts / broadcasts)
    if _InferenceMode.marking:
        check_inference_inplace(x)
    np.copyto(data, value)
    _versions.bump(data, _counters.created)
    return True


_NEGATIVE_IN_PLACE = ("In-place {} backward calculation is triggered with a negative slope "
                      "which is not supported. This is caused by calling in-place forward "
                      "function with a negative slope, please call out-of-place version "
                      "instead.")
_LEAKY_ISSUE = (" File an issue at https://github.com/pytorch/pytorch if you do require "
                "supporting in-place leakRelu backward calculation with negative slope")


def _named(result: Tensor, name: str, refuse: str = "", saves: str = "") -> Tensor:
    """Print ``result``'s node as PyTorch's ``name`` when it records a gradient; ``refuse``:
    PyTorch's error at backward (its in-place forms' backward with a negative slope);
    ``saves``: PyTorch's in-place form saves its result (its node's short name, as its
    message prints it), so a later in-place change of the result fails its backward."""
    # (``_op``, not ``grad_fn``: the property builds a node object and looks its PyTorch name
    # up, 1.9 us against 0.04: thread time, 30 alternated rounds, s24 SP11)
    if result._op is not None and result._rg and dg.is_grad_enabled():
        name_node(result, name)
        if refuse or saves:  # (the hook: leaky_relu(0.2, inplace=True) forward + backward on
            # [32, 16, 8, 8] float32 334 -> 345 us, 1 thread, 60 alternated rounds)
            result.register_hook(_backward_check(result, refuse, saves))
    return result


def _backward_check(result: Tensor, refuse: str, saves: str):
    data, expected = result._data, result._version  # (the array: no reference cycle)

    def check_at_backward(grad):
        if refuse:
            raise RuntimeError(refuse)
        now = _versions.version(data)
        if now != expected:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by "
                f"an inplace operation: [deltagrad.{_versions.type_name(data.dtype)}Tensor "
                f"{list(data.shape)}], which is output 0 of {saves}, is at version {now}; "
                f"expected version {expected} instead. Hint: the backward of '{saves}' reads "
                "this value; clone() it before the in-place change, or make the change out "
                "of place.")

    return check_at_backward


# ----------------------------------------------------------------------------------------------
# Rectifiers and their clipped forms.


def relu(input, inplace: bool = False) -> Tensor:
    """max(x, 0) elementwise; its gradient at 0 is 0. Integer inputs keep their dtype.

    Args:
        input: any shape; integer or floating (not boolean).
        inplace: write the result into ``input`` and return it.

    >>> import deltagrad as dg
    >>> relu(dg.tensor([-1.0, 0.0, 2.0]))
    tensor([0., 0., 2.])
    """
    x = _t(input)
    _no_bool("relu", x)
    if inplace is True and not _GradMode.enabled and type(x) is Tensor and not (
            x._rg and DUAL_LEAF[0] is not None):  # (a dual's tangent: _apply's path, BR25)
        data = x._data
        zero = _RELU_ZERO.get(data.dtype)
        if zero is not None and data.flags.writeable:
            # The engine's relu (np.maximum(0, x): x second, so -0.0 stays) written straight
            # into x's array, with copy_'s inference check and version bump, when nothing
            # records: no result array, copy_ or no_grad context. nn.ReLU(inplace=True) on
            # [1, 16, 28, 28] float32 under no_grad 12.4 -> 7.5 us (thread time, 1 thread, 15
            # alternated rounds against HEAD's src).
            if _InferenceMode.marking:
                check_inference_inplace(x)
            np.maximum(zeros_for(data, zero), data, out=data)  # (SP34: relu_zeros.py)
            _versions.bump(data, _counters.created)
            return x
    return _apply(x, lambda t: t.relu(), inplace)


# relu's zero in the dtypes of relu(inplace=True)'s direct path (0-d: no conversion per call)
_RELU_ZERO = {np.dtype(t): np.zeros((), t) for t in (np.float32, np.float64)}


def relu_(input) -> Tensor:
    """``relu`` in place."""
    return relu(input, inplace=True)


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """Clip to [min_val, max_val]; the gradient is 1 strictly inside, 0 elsewhere.

    >>> import deltagrad as dg
    >>> hardtanh(dg.tensor([-2.0, 0.5, 3.0]))
    tensor([-1.0000,  0.5000,  1.0000])
    """
    return _hardtanh(input, min_val, max_val, inplace, True)


def _hardtanh(input, min_val, max_val, inplace: bool, ordered: bool) -> Tensor:
    # (PyTorch takes 0-d tensors as its Scalar bounds; F.hardtanh compares them in Python
    # first, where a tensor of several elements has no truth value)
    if ordered:
        check_flag(min_val, "min_val", "hardtanh")
        check_flag(max_val, "max_val", "hardtanh")
    inplace = check_flag(inplace, "inplace", "hardtanh")
    min_val = _number(min_val, "min_val", "hardtanh")
    max_val = _number(max_val, "max_val", "hardtanh")
    if ordered and min_val > max_val:  # (F.hardtanh's own check; hardtanh_ has none)
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    x = input if type(input) is Tensor else _t(input, 2)
    kind = x._data.dtype.kind
    if kind == "c":  # (relu6 too; was a clip by NumPy's ordering of complex numbers)
        raise NotImplementedError(f"hardtanh: not implemented for {x.dtype} input")
    if kind == "u" and (int(min_val) < 0 or int(max_val) < 0):
        raise RuntimeError("cannot do hardtanh on an unsigned type with negative limits")
    if kind == "f" and not inplace:  # (the common call)
        return apply(_HARDTANH, x, min_val=min_val, max_val=max_val)
    _no_bool("hardtanh", x)
    if kind in "iu":
        # As PyTorch: the bounds are truncated to the integer dtype first.
        low, high = int(min_val), int(max_val)
        check_fits(low, x._data.dtype)  # (PyTorch converts both bounds to the dtype)
        check_fits(high, x._data.dtype)
        return _apply(x, lambda t: _leaf(np.clip(t.detach().numpy(), low, high)), inplace)
    return _apply(x, lambda t: apply(_HARDTANH, t, min_val=min_val, max_val=max_val),
                  inplace)


def hardtanh_(input, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """``hardtanh`` in place; min_val > max_val gives max_val everywhere (PyTorch's
    ``hardtanh_`` skips ``hardtanh``'s ValueError)."""
    return _hardtanh(input, min_val, max_val, True, False)


def relu6(input, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6): ``hardtanh(x, 0, 6)`` (gradient 0 at both kinks, as PyTorch)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, ``negative_slope * x`` otherwise (that slope at 0, as PyTorch)."""
    inplace = check_flag(inplace, "inplace", "leaky_relu")  # (F.leaky_relu tests it first)
    negative_slope = _number(negative_slope, "negative_slope", "leaky_relu")
    x = _floating("leaky_relu", input)
    if not inplace:
        return apply(_LEAKY_RELU, x, negative_slope=negative_slope)
    out = _apply(x, lambda t: apply(_LEAKY_RELU, t, negative_slope=negative_slope), inplace)
    # (PyTorch's in-place form saves its result, so it refuses a negative slope at backward)
    return _named(out, "LeakyReluBackward1", _NEGATIVE_IN_PLACE.format("leakyReLu")
                  + _LEAKY_ISSUE if negative_slope < 0 else "", "LeakyRelu1")


def leaky_relu_(input, negative_slope: float = 0.01) -> Tensor:
    """``leaky_relu`` in place."""
    return leaky_relu(input, negative_slope, inplace=True)


def threshold(input, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else ``value`` (the gradient is 0 there).

    Args:
        input: any shape; integer or floating (``value`` is cast to its dtype).
        threshold: the bound, exclusive.
        value: the replacement.
        inplace: write the result into ``input``.
    """
    threshold = _number(threshold, "threshold", "threshold")
    value = _number(value, "value", "threshold")
    x = _t(input)
    char = x._data.dtype.char
    if char in "?FD":  # (complex: was compared by NumPy's ordering of complex numbers)
        raise NotImplementedError(f"threshold: not implemented for {x.dtype} input")
    if not inplace and char in "fd" and (
            type(value) is float and -_F32_MAX <= value <= _F32_MAX
            or type(value) is int and -_EXACT <= value <= _EXACT):
        # float32 / float64 and a value that fits both (an int exact in float64, so one
        # rounding): no checked conversion, no errstate (the value rounded to float32 as the
        # cast does). Node named ThresholdBackward0 by node_names._FIXED. With the op's 0-d
        # bounds and no dtype.name: op_overhead.py --ops threshold 1.05 -> 0.46-0.51 x
        # PyTorch (30.1 -> 12.5-13.4 us, four runs, load 5-12); ab.py --workload ops --ops
        # threshold against the code before: 0.46 of its time (s24 SP11).
        fill = float(np.float32(value)) if char == "f" else float(value)
        return apply(_THRESHOLD, x, threshold=threshold, value=fill)

    def compute(t):
        # PyTorch replaces x <= threshold, so NaN is kept (not x > threshold: NaN replaced).
        check_fits(value, t._data.dtype)  # (PyTorch's checked conversion: 300 into uint8
        with np.errstate(invalid="ignore", over="ignore"):  # raises; -9 wraps to 247)
            fill = np.asarray(value).astype(t._data.dtype)
        # (the value in the dtype, as a number: a bfloat16 one is exact in float32)
        return apply(_THRESHOLD, t, threshold=threshold, value=fill.item())

    if not inplace:  # (ThresholdBackward0: node_names._FIXED)
        return compute(x)
    return _named(_apply(x, compute, inplace), "ThresholdBackward1")


_threshold = threshold  # (threshold_'s argument shadows the function's name)


def threshold_(input, threshold: float, value: float) -> Tensor:
    """``threshold`` in place."""
    return _threshold(input, threshold, value, inplace=True)


def rrelu(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False, *, generator=None) -> Tensor:
    """Randomized leaky ReLU: negative inputs scaled by a slope drawn from U(lower, upper) per
    element in training, by the fixed (lower + upper) / 2 in evaluation.

    Args:
        input: floating, any shape.
        lower, upper: the slope's range.
        training: draw random slopes (from ``generator``, default the global one).
        inplace: write the result into ``input``.
    """
    if not isinstance(training, bool):  # (PyTorch's parser; s29 BR19: None read as False)
        raise TypeError(f"rrelu(): argument 'training' (position 4) must be bool, not "
                        f"{type_words(training)}")
    x = _floating("rrelu", input)
    if inplace:  # (PyTorch has no forward-mode formula for rrelu_with_noise_; s30 BR22)
        refuse_tangents("rrelu_with_noise_", x)
    if not lower <= upper:  # (PyTorch checks in evaluation too)
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    name = f"RreluWithNoiseBackward{int(bool(inplace))}"
    if not training:
        return _named(_fresh_row_major(leaky_relu(x, (lower + upper) / 2.0, inplace), inplace),
                      name)
    check_reduced_kernel(x, "rrelu_with_noise_out_cpu", ("Half",))
    data = _bf16.upcast(x._data)  # (bfloat16: its float32 values; slopes rounded back below)
    source = torch_source(generator)
    if source is not None:
        # PyTorch's kernel walks the elements in order and draws one double uniform u (64
        # bits) for each x <= 0 only, keeping slope 1 elsewhere (NaN too); the slope is
        # u (upper - lower) + lower in double, not fused, with the bounds first rounded to
        # the input's precision (bit-identical to torch for float32 and float64).
        negative = data <= 0
        scale = np.ones(data.shape, data.dtype)
        low, high = (np.float64(data.dtype.type(bound)) for bound in (lower, upper))
        u = _stream.uniform(source._bits, (int(negative.sum()),), np.float64)
        scale[negative] = u * (high - low) + low
        scale = _leaf(scale.astype(x._data.dtype, copy=False))
    else:
        slopes = numpy_generator(generator).uniform(lower, upper, data.shape)
        # NOTE: PyTorch keeps slope 1 where x > 0 and draws one where x <= 0.
        scale = _leaf(np.where(data > 0, 1.0, slopes).astype(x._data.dtype))
    return _named(_fresh_row_major(_apply(x, lambda t: t * scale, inplace), inplace), name)


def _fresh_row_major(out: Tensor, inplace: bool) -> Tensor:
    """rrelu's result row-major, as PyTorch's kernel writes it whatever the input's layout (a
    permuted input's leaky_relu / product kept its layout; session 27, BR15)."""
    if not inplace and not out._data.flags.c_contiguous:
        out._data = np.ascontiguousarray(out._data)  # (a fresh result: nothing else holds it)
    return out


def rrelu_(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False) -> Tensor:
    """``rrelu`` in place."""
    return rrelu(input, lower, upper, training, inplace=True)


def prelu(input, weight) -> Tensor:
    """x for x > 0, ``weight * x`` otherwise, with one learned slope in total or one per
    channel (dim 1 of the input).

    Args:
        input: floating ``[N, C, *]`` (or any shape with a single slope).
        weight: 0-d or 1-d, of 1 or C elements, the input's dtype.
    """
    w = tensor_arg(weight, "weight", "prelu")  # (a number: PyTorch's TypeError, checked first)
    x = _floating("prelu", input)
    # (the arrays' shapes and dtypes, not the Tensor properties: op_overhead.py --ops prelu
    # 0.91 -> 0.88 x PyTorch, s27 SP37)
    wd, xd = w._data, x._data
    if wd.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {w.ndim}")
    channels = xd.shape[1] if xd.ndim >= 2 else 1
    if wd.size != 1 and wd.size != channels:
        raise RuntimeError(f"prelu: mismatch of parameter numbers and input channel size: "
                           f"{w.numel()} parameters for {channels} channels (input shape "
                           f"{x.shape})")
    if wd.dtype != xd.dtype:
        raise RuntimeError(f"prelu: type promotion is not supported: input {x.dtype}, weight "
                           f"{w.dtype}")
    if wd.size == 1 or xd.ndim < 2:
        slope = w.reshape(())
    else:
        slope = w.reshape((channels,) + (1,) * (xd.ndim - 2))
    # NOTE: at x == 0 the gradient takes the negative side (weight), as PyTorch.
    # (PyTorch's PreluKernelBackward0 by node_names._FIXED, not _named's grad_fn and
    # name_node: op_overhead.py --ops prelu 0.67 -> 0.55-0.56 x PyTorch; ab.py --workload ops
    # --ops prelu against the code before: 0.77 of its time, s24 SP11)
    return apply(_PRELU, x, slope)


# ----------------------------------------------------------------------------------------------
# Exponential and sigmoid-shaped units.


def elu(input, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (exp(x) - 1) otherwise.

    >>> import deltagrad as dg
    >>> elu(dg.tensor([1.0, 0.0]))
    tensor([1., 0.])
    """
    inplace = check_flag(inplace, "inplace", "elu")  # (F.elu tests it first)
    alpha = _number(alpha, "alpha", "elu")
    x = _floating("elu", input)
    if not inplace:
        return apply(_ELU, x, alpha=float(alpha), scale=1.0, input_scale=1.0)
    out = _apply(x, lambda t: apply(_ELU, t, alpha=float(alpha), scale=1.0, input_scale=1.0),
                 inplace)
    return _named(out, "EluBackward1", _NEGATIVE_IN_PLACE.format("elu") if alpha < 0 else "",
                  "Elu1")


def elu_(input, alpha: float = 1.0) -> Tensor:
    """``elu`` in place."""
    return elu(input, alpha, inplace=True)


def selu(input, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with SELU's fixed constants (scale ≈ 1.0507, alpha ≈ 1.6733)."""
    x = _floating("selu", input)
    out = _apply(x, lambda t: apply(OPS["elu"], t, alpha=_SELU_ALPHA, scale=_SELU_SCALE,
                                    input_scale=1.0), inplace)
    return _named(out, "EluBackward1", saves="Elu1") if inplace else out


def selu_(input) -> Tensor:
    """``selu`` in place."""
    return selu(input, inplace=True)


def celu(input, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1)); alpha must not be 0."""
    inplace = check_flag(inplace, "inplace", "celu")  # (F.celu tests it first)
    alpha = _number(alpha, "alpha", "celu")
    if alpha == 0:
        raise RuntimeError("celu: ZeroDivisionError: alpha cannot be 0 for CELU")
    x = _floating("celu", input)
    out = _apply(x, lambda t: apply(OPS["elu"], t, alpha=float(alpha), scale=1.0,
                                    input_scale=1.0 / alpha), inplace)
    return _named(out, f"CeluBackward{int(bool(inplace))}",
                  _NEGATIVE_IN_PLACE.format("elu") if inplace and alpha < 0 else "",
                  "Celu1" if inplace else "")


def celu_(input, alpha: float = 1.0) -> Tensor:
    """``celu`` in place."""
    return celu(input, alpha, inplace=True)


def _fused(name: str, input, inplace: bool) -> Tensor:
    x = _floating(name, input, complex_ok=name == "silu")  # (PyTorch's silu takes complex)
    if not inplace:
        return apply(OPS[name], x)
    return _apply(x, lambda t: apply(OPS[name], t), inplace)


def silu(input, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    return _fused("silu", input, inplace)


def mish(input, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    return _fused("mish", input, inplace)


def hardswish(input, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6."""
    return _fused("hardswish", input, inplace)


def hardsigmoid(input, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6."""
    return _fused("hardsigmoid", input, inplace)


def logsigmoid(input, *, out=None) -> Tensor:
    """log(sigmoid(x)), computed without overflow for large |x|."""
    return write_out("logsigmoid", out, _fused("logsigmoid", input, False), exact=True)


def sigmoid(input) -> Tensor:
    """1 / (1 + exp(-x)) elementwise, without overflow (integer input gives float32)."""
    return _t(input).sigmoid()


def tanh(input) -> Tensor:
    """Hyperbolic tangent elementwise (integer input gives float32)."""
    return _t(input).tanh()


def softplus(input, beta: float = 1.0, threshold: float = 20.0, *, out=None) -> Tensor:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (as PyTorch)."""
    beta = _number(beta, "beta", "softplus")
    threshold = _number(threshold, "threshold", "softplus")
    x = _floating("softplus", input)
    return write_out("softplus", out, apply(_SOFTPLUS, x, beta=beta, threshold=threshold),
                     exact=True)


def gelu(input, approximate: str = "none", *, out=None) -> Tensor:
    """x * Phi(x) (``approximate='none'``) or its tanh approximation (``'tanh'``)."""
    check_str(approximate, "approximate", "gelu")
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    x = _floating("gelu", input)
    return write_out("gelu", out, apply(_GELU, x, approximate=approximate), exact=True)


# ----------------------------------------------------------------------------------------------
# Shrinkage and sign-like units.


def hardshrink(input, lambd: float = 0.5, *, out=None) -> Tensor:
    """x where |x| > lambd, else 0."""
    lambd = _number(lambd, "lambd", "hardshrink")  # (PyTorch's parser checks it first)
    x = _floating("hardshrink", input)
    if x._data.dtype is _bf16.BF16:  # (PyTorch compares with lambd in the input's dtype; the
        # op runs on float32 copies of bfloat16: hardshrink(bf16(0.6), 0.6) is 0 there)
        lambd = float(np.asarray(lambd, np.float64).astype(_bf16.BF16).astype(np.float32))
    result = apply(_HARDSHRINK, x, lambd=lambd)  # (nan is kept, as PyTorch's)
    # (PyTorch's HardshrinkBackward0 by node_names._FIXED; with the op's 3 NumPy calls:
    # op_overhead.py --ops hardshrink 0.82 -> 0.53-0.54 x PyTorch, s24 SP11)
    return write_out("hardshrink", out, result, exact=True)


def softshrink(input, lambd: float = 0.5, *, out=None) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between; lambd must be >= 0."""
    lambd = _number(lambd, "lambd", "softshrink")
    x = _floating("softshrink", input)
    if not lambd >= 0:
        raise RuntimeError(f"softshrink: lambda must be non-negative, but found {lambd}")
    return write_out("softshrink", out, apply(_SOFTSHRINK, x, lambd=float(lambd)), exact=True)


def tanhshrink(input) -> Tensor:
    """x - tanh(x)."""
    x = _t(input)
    _no_bool("tanhshrink", x)
    return x - x.tanh()


def softsign(input) -> Tensor:
    """x / (1 + |x|)."""
    x = _t(input)
    if x._data.dtype.kind == "b":
        raise NotImplementedError("softsign: not implemented for bool input")
    return x / (x.abs() + 1)


def glu(input, dim: int = -1) -> Tensor:
    """Gated linear unit: the first half of ``dim`` times the sigmoid of the second half.

    Args:
        input: floating, of even size along ``dim``.
        dim: the dimension to halve.

    Returns:
        The input's shape with ``dim`` halved.
    """
    x = _t(input)
    if x.ndim == 0:  # (F.glu's own check, before its parser's)
        raise RuntimeError("glu does not support scalars because halving size must be even")
    dim = check_int(dim, "dim", "glu")
    if not -x.ndim <= dim < x.ndim:
        raise IndexError(f"glu: dimension out of range (expected to be in range of "
                         f"[{-x.ndim}, {x.ndim - 1}], but got {dim})")
    _floating("glu", x)
    dim %= x.ndim
    size = x.shape[dim]
    if size % 2:
        raise RuntimeError(f"glu: halving dimension must be even, but dimension {dim} is size "
                           f"{size}")
    half = size // 2
    return _named(x.narrow(dim, 0, half) * x.narrow(dim, half, half).sigmoid(), "GluBackward0")


# ----------------------------------------------------------------------------------------------
# Softmax family.


def _softmax_dim(name: str, ndim: int, dim, stacklevel: int) -> int:
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def _empty_result(x: Tensor, dim, dtype) -> Tensor | None:
    """PyTorch's softmax of an empty integer or bool tensor: no kernel runs, so the (empty)
    result keeps the dtype, which its kernels would refuse; None for any other input."""
    if x._data.size or (dtype is None and x._data.dtype.kind in "fc") or \
            (dtype is not None and dtype.is_floating_point):
        return None
    wrap_dim(dim, x.ndim)  # (the dim is still checked)
    return x.detach().to(x.dtype if dtype is None else dtype)


def softmax(input, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (computed stably).

    Args:
        input: floating (or any dtype, with a floating ``dtype``).
        dim: the dimension that sums to 1; None picks one and warns, as PyTorch.
        dtype: cast the input to this dtype first.

    >>> import math, deltagrad as dg
    >>> softmax(dg.tensor([[1.0, 1.0], [0.0, math.log(3)]]), dim=1)
    tensor([[0.5000, 0.5000],
            [0.2500, 0.7500]])
    """
    if type(input) is Tensor and type(dim) is int and dtype is None:
        ndim = input._data.ndim
        if -ndim <= dim < ndim and input._data.dtype.kind == "f":
            # (the common call, as log_softmax; see apply_checked)
            return apply_checked(_SOFTMAX, input, _DIM_ATTRS[dim % ndim])
    x = _t(input)
    dim = _softmax_dim("softmax", x.ndim, dim, _stacklevel)
    if (empty := _empty_result(x, dim, dtype)) is not None:
        return empty
    return _softmax(_SOFTMAX, "softmax", x, dim, dtype)  # (dg.softmax without its wrapper)


def log_softmax(input, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """log(softmax(x)) along ``dim``, computed stably (arguments as ``softmax``)."""
    if type(input) is Tensor and type(dim) is int and dtype is None:
        # The common call: a float tensor and a dim in range go straight to the op (the
        # three calls below: 0.25 us more of a ~10 us forward + backward on [3, 4]).
        ndim = input._data.ndim
        if -ndim <= dim < ndim and input._data.dtype.kind == "f":
            return apply_checked(_LOG_SOFTMAX, input, _DIM_ATTRS[dim % ndim])
    x = _t(input)
    dim = _softmax_dim("log_softmax", x.ndim, dim, _stacklevel)
    if (empty := _empty_result(x, dim, dtype)) is not None:
        return empty
    return _softmax(_LOG_SOFTMAX, "log_softmax", x, dim, dtype)


def softmin(input, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(-x) along ``dim`` (arguments as ``softmax``)."""
    x = _t(input)
    if x._data.dtype.kind == "b":
        raise RuntimeError("softmin: negation of a bool tensor is not supported")
    dim = _softmax_dim("softmin", x.ndim, dim, _stacklevel)
    return softmax(-x, dim, dtype=dtype)



# ----------------------------------------------------------------------------------------------
# Tensor.relu_ / sigmoid_ / tanh_ with grad mode off: the direct write of relu(inplace=True) /
# _apply instead of the generic in-place wrapper of api/inplace.py (that file is at its size
# limit). Grad mode on, subclasses, other dtypes and read-only arrays keep the wrapper.


def _fast_method(name: str, direct):
    generic = getattr(Tensor, name)

    def method(self):
        if not _GradMode.enabled and direct(self):
            return self
        return generic(self)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = generic.__doc__
    return method


def _relu_direct(x) -> bool:
    if type(x) is not Tensor or x._data.dtype not in _RELU_ZERO or not x._data.flags.writeable:
        return False
    if x._rg and DUAL_LEAF[0] is not None:  # (relu's direct path is not taken: s30 BR25)
        return False
    relu(x, inplace=True)  # (its direct path: the dtype and grad mode are those it takes)
    return True


Tensor.relu_ = _fast_method("relu_", _relu_direct)
Tensor.sigmoid_ = _fast_method("sigmoid_", lambda x: _direct_write(x, Tensor.sigmoid))
Tensor.tanh_ = _fast_method("tanh_", lambda x: _direct_write(x, Tensor.tanh))
