"""``torch.utils.flop_counter``: ``FlopCounterMode`` counts the floating-point operations of the
matrix products and convolutions run inside it, forward and backward, as PyTorch's does.

PyTorch counts only its matrix-product and convolution kernels (``mm``, ``addmm``, ``bmm``,
``baddbmm``, ``convolution`` and ``convolution_backward``, the fused attention kernels), 2 FLOPs
per multiply-add; everything else counts 0. Here the same is counted where deltagrad computes it:
the ``matmul``, ``linear`` and two-operand ``einsum`` ops (and their backward rules: one product
per input that needs a gradient) and the convolution ops (conv1d / conv2d / conv3d and the
transposed ones, with PyTorch's formula for the weight gradient). Matrix-vector and dot products
count 0, as PyTorch's ``mv`` / ``dot``; so does scaled_dot_product_attention, whose CPU kernel
PyTorch does not count. Counting what deltagrad cannot count as PyTorch does (an ``einsum`` of
three or more operands, whose pairwise order PyTorch takes from opt_einsum) would be a silent
wrong number: ``get_total_flops`` raises NotImplementedError naming it instead.

While a counter is active the ops' kernels are wrapped (installed on entry, removed on exit), so
nothing is paid otherwise. Counts are kept under ``"Global"`` only: PyTorch's per-module
breakdown (``get_flop_counts()[module_name]``) is not collected.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict

from .._engine.ops import OPS
from ..nn import functional, more_layers
from ..nn.attention import _NotCounted
from ..nn.conv import _CONV1D
from ..nn.conv2d import _CONV, _CONV_TRANSPOSE
from ..nn.rnn import _RecurrentLayer

__all__ = ["FlopCounterMode", "conv_flop_count", "get_suffix_str", "mm_flop"]


def mm_flop(a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    """FLOPs of ``[m, k] @ [k, n]``: 2 m k n."""
    m, k = a_shape
    k2, n = b_shape
    assert k == k2
    return 2 * m * n * k


def conv_flop_count(x_shape, w_shape, out_shape, transposed: bool = False) -> int:
    """FLOPs of a convolution of input ``x_shape`` by weight ``w_shape`` giving ``out_shape``
    (PyTorch's formula: every output position of every channel pair, 2 per multiply-add)."""
    batch = x_shape[0]
    spatial = (x_shape if transposed else out_shape)[2:]
    c_out, c_in, *kernel = w_shape
    return 2 * batch * c_out * c_in * math.prod(spatial) * math.prod(kernel)


def get_suffix_str(number: int) -> str:
    """The unit suffix PyTorch's table uses for ``number`` ('', 'K', 'M', 'B', 'T')."""
    suffixes = ["", "K", "M", "B", "T"]
    index = max(0, min(len(suffixes) - 1, (len(str(int(number))) - 2) // 3))
    return suffixes[index]


def _transposed(shape) -> tuple:
    return (shape[1], shape[0], *shape[2:])


# --------------------------------------------------------------------------------------------
# What each wrapped kernel counts: (PyTorch's op name, FLOPs) or None for nothing.


def _matmul_count(x, y, **attrs):
    if y.ndim == 1:
        return None  # dot / mv: PyTorch does not count them
    k, n = y.shape[-2:]
    if y.ndim == 2:
        # x's rows (all its leading dims) in one mm, as PyTorch's matmul folds them.
        return "aten.mm", 2 * math.prod(x.shape[:-1]) * k * n
    m = 1 if x.ndim == 1 else x.shape[-2]
    batch = math.prod(_broadcast(x.shape[:-2], y.shape[:-2]))
    return "aten.bmm", 2 * batch * m * k * n


def _broadcast(a: tuple, b: tuple) -> tuple:
    length = max(len(a), len(b))
    a, b = (1,) * (length - len(a)) + tuple(a), (1,) * (length - len(b)) + tuple(b)
    return tuple(max(i, j) for i, j in zip(a, b))


def _linear_count(x, w, *bias, **attrs):
    flops = 2 * math.prod(x.shape[:-1]) * w.shape[0] * w.shape[1]
    return ("aten.addmm" if bias else "aten.mm"), flops


def _einsum_count(*operands, equation: str, **attrs):
    terms, output = equation.split("->")
    terms = terms.split(",")
    if len(terms) == 1:
        return None  # a sum or a permutation: no product
    if len(terms) > 2:
        raise _Uncountable(f"einsum of {len(terms)} operands")
    sizes = {}
    for term, operand in zip(terms, operands):
        sizes.update(zip(term, operand.shape))
    left, right = set(terms[0]), set(terms[1])
    if not (left & right) - set(output):
        return None  # nothing contracted: PyTorch multiplies elementwise (not counted)
    # Labels in one operand only and not in the output are summed away before the product.
    kept = (left & right) | set(output)
    return "aten.bmm", 2 * math.prod(sizes[label] for label in kept)


_COUNTS = {"matmul": _matmul_count, "linear": _linear_count, "einsum": _einsum_count}


class _Uncountable(Exception):
    """An op whose FLOPs deltagrad cannot count as PyTorch does (the message names it)."""


# --------------------------------------------------------------------------------------------
# The wrappers (installed while at least one counter is active).

_active: list[FlopCounterMode] = []
_originals: dict = {}  # id(owner) -> (owner, attribute, original)
_depth = [0]  # > 0 inside a counted kernel: what it calls is part of it, never counted again


def _add(name: str, flops: int) -> None:
    for counter in _active:
        counter._counts[name] += flops


def _note(problem: str) -> None:
    for counter in _active:
        counter._uncountable.add(problem)


def _count_forward(count, arrays, attrs):
    if _depth[0] or not _active:
        return None
    try:
        found = count(*arrays, **attrs)
    except _Uncountable as problem:
        _note(str(problem))
        return None
    if found is not None:
        _add(*found)
    return found


def _wrap_forward(count, forward):
    @functools.wraps(forward)
    def counted(*arrays, **attrs):
        found = _count_forward(count, arrays, attrs)
        _depth[0] += 1
        try:
            out = forward(*arrays, **attrs)
        finally:
            _depth[0] -= 1
        if found is not None and _NotCounted.depth:
            # Inside scaled_dot_product_attention (PyTorch's CPU kernel counts 0): undo, and
            # remember the result so that its backward is not counted either.
            _add(found[0], -found[1])
            _Suppressed.outputs[id(out)] = out
        return out

    return counted


def _wrap_vjp(count, vjp):
    @functools.wraps(vjp)
    def counted(F, g, out, *inputs, needs=None, **attrs):  # noqa: N803 - the rules' namespace
        if _active and not _depth[0] and _Suppressed.outputs.get(id(out)) is not out:
            try:
                found = count(*inputs, **attrs)
            except _Uncountable as problem:
                _note(str(problem))
                found = None
            if found is not None and needs is None:
                # (einsum's rule is not told which operands need a gradient, and PyTorch
                # counts one product per operand that does)
                _note("the backward of einsum")
            elif found is not None:
                wanted = sum(1 for need in needs[:2] if need)
                name = "aten.bmm" if found[0] == "aten.bmm" else "aten.mm"
                _add(name, found[1] * wanted)
        _depth[0] += 1
        try:
            if needs is None:
                return vjp(F, g, out, *inputs, **attrs)
            return vjp(F, g, out, *inputs, needs=needs, **attrs)
        finally:
            _depth[0] -= 1

    return counted


class _Suppressed:
    """The results of products run inside fused attention (``_NotCounted``), whose backward
    is not counted either: id(output array) -> the array."""

    outputs: dict = {}


def _conv_forward_count(transposed: bool, x, weight, out) -> int:
    return conv_flop_count(tuple(x.shape), tuple(weight.shape), tuple(out.shape), transposed)


def _conv_backward_count(transposed: bool, x_shape, w_shape, grad, needs) -> int:
    """PyTorch's ``convolution_backward`` count: the input gradient costs the forward's FLOPs,
    the weight gradient is counted as a convolution over the whole batch (``groups`` times the
    forward's FLOPs when grouped), the bias gradient nothing."""
    g_shape = tuple(grad.shape)
    flops = 0
    if needs[0]:
        flops += conv_flop_count(g_shape, w_shape, x_shape, not transposed)
    if len(needs) > 1 and needs[1]:
        if transposed:
            flops += conv_flop_count(_transposed(g_shape), _transposed(x_shape),
                                     _transposed(w_shape))
        else:
            flops += conv_flop_count(_transposed(x_shape), _transposed(g_shape),
                                     _transposed(w_shape))
    return flops


def _wrap_conv_forward(transposed: bool, forward):
    @functools.wraps(forward)
    def counted(x, weight, *args, **attrs):
        counting = _active and not _depth[0]
        _depth[0] += 1
        try:
            out = forward(x, weight, *args, **attrs)
        finally:
            _depth[0] -= 1
        if counting:
            _add("aten.convolution", _conv_forward_count(transposed, x, weight, out))
        return out

    return counted


def _wrap_conv_vjp(transposed: bool, vjp):
    @functools.wraps(vjp)
    def counted(F, g, out, x, weight, *args, needs, **attrs):  # noqa: N803 - the namespace
        if _active and not _depth[0]:
            _add("aten.convolution_backward",
                 _conv_backward_count(transposed, tuple(x.shape), tuple(weight.shape), g,
                                      needs))
        _depth[0] += 1
        try:
            return vjp(F, g, out, x, weight, *args, needs=needs, **attrs)
        finally:
            _depth[0] -= 1

    return counted


def _wrap_recurrent_forward(forward):
    @functools.wraps(forward)
    def counted(ctx, *args, mode: str, **kwargs):
        if _active and not _depth[0] and mode != "LSTM":
            # PyTorch counts each step's products of GRU / RNN layers (its LSTM kernel, none);
            # deltagrad's recurrent kernel does not count them.
            _note(f"{mode} layers")
        return forward(ctx, *args, mode=mode, **kwargs)

    return counted


def _not_counted(function):
    @functools.wraps(function)
    def uncounted(*args, **kwargs):
        _NotCounted.depth += 1
        try:
            return function(*args, **kwargs)
        finally:
            _NotCounted.depth -= 1

    return uncounted


def _install() -> None:
    # bilinear: PyTorch's kernel (_trilinear) is not counted; deltagrad's runs a matmul.
    for module in (more_layers, functional):
        _originals[id(module), "bilinear"] = (module, "bilinear", module.bilinear)
        module.bilinear = _not_counted(module.bilinear)
    forward = _RecurrentLayer.__dict__["forward"]
    _originals[id(_RecurrentLayer), "forward"] = (_RecurrentLayer, "forward", forward)
    _RecurrentLayer.forward = staticmethod(_wrap_recurrent_forward(forward.__func__))
    for name, count in _COUNTS.items():
        op = OPS[name]
        _originals[id(op), "forward"] = (op, "forward", op.forward)
        _originals[id(op), "vjp"] = (op, "vjp", op.vjp)
        op.forward = _wrap_forward(count, op.forward)
        op.vjp = _wrap_vjp(count, op.vjp)
    for op in (_CONV, _CONV_TRANSPOSE, _CONV1D):  # (the convolution ops: not in OPS)
        transposed = op is _CONV_TRANSPOSE
        _originals[id(op), "forward"] = (op, "forward", op.forward)
        _originals[id(op), "vjp"] = (op, "vjp", op.vjp)
        op.forward = _wrap_conv_forward(transposed, op.forward)
        op.vjp = _wrap_conv_vjp(transposed, op.vjp)


def _uninstall() -> None:
    for owner, attribute, original in _originals.values():
        setattr(owner, attribute, original)
    _originals.clear()
    _Suppressed.outputs.clear()


class FlopCounterMode:
    """Count the FLOPs of the matrix products and convolutions run inside the ``with`` block
    (forward and backward), as PyTorch's ``FlopCounterMode``.

    Args:
        mods: PyTorch's (deprecated) modules argument: accepted, unused.
        depth: how many module levels the table shows (kept; only "Global" is collected).
        display: print the table on exit.
        custom_mapping: PyTorch's per-op FLOP formulas for its dispatcher ops: not supported
            (deltagrad has no dispatcher), a non-empty one raises NotImplementedError.

    >>> import deltagrad as dg
    >>> with FlopCounterMode(display=False) as counter:
    ...     y = dg.ones(3, 4) @ dg.ones(4, 5)
    >>> counter.get_total_flops()
    120
    """

    def __init__(self, mods=None, depth: int = 2, display: bool = True,
                 custom_mapping: dict | None = None) -> None:
        if custom_mapping:
            raise NotImplementedError("FlopCounterMode(custom_mapping=...): deltagrad has no "
                                      "dispatcher ops to map formulas to")
        self.depth = depth
        self.display = display
        self._counts: dict = defaultdict(int)
        self._uncountable: set = set()

    def __enter__(self):
        self._counts.clear()
        self._uncountable.clear()
        if not _active:
            _install()
        _active.append(self)
        return self

    def __exit__(self, *exc) -> bool:
        _active.remove(self)
        if not _active:
            _uninstall()
        if self.display and exc[0] is None:
            print(self.get_table(self.depth))
        return False

    def _check(self) -> None:
        if self._uncountable:
            raise NotImplementedError(
                "FlopCounterMode: deltagrad cannot count these as PyTorch does: "
                + ", ".join(sorted(self._uncountable)))

    def get_total_flops(self) -> int:
        """All FLOPs counted (raises NotImplementedError if an op ran that cannot be counted
        as PyTorch counts it, naming it)."""
        self._check()
        return sum(self._counts.values())

    def get_flop_counts(self) -> dict:
        """``{"Global": {op name: FLOPs}}``, op names as PyTorch's (``"aten.mm"``). The totals
        are PyTorch's; the split between names may differ (deltagrad's ``addmm`` runs as a
        product and a sum, so it shows as ``aten.mm``), and the per-module entries PyTorch
        adds are not collected."""
        self._check()
        return {"Global": {name: flops for name, flops in self._counts.items() if flops}}

    def get_table(self, depth=None) -> str:
        """The counts as a text table (module "Global", then one row per op)."""
        total = self.get_total_flops()
        rows = [f"{'Module':<20}{'FLOP':>14}{'% Total':>10}", f"{'Global':<20}{total:>14,}"
                f"{'100%' if total else '0%':>10}"]
        for name, flops in sorted(self._counts.items()):
            if flops:
                rows.append(f"{' - ' + name:<20}{flops:>14,}{100 * flops / total:>9.2f}%")
        return "\n".join(rows)
