"""Adam and AdamW, with AMSGrad, and lazy (SparseAdam-style) updates for row-sparse gradients."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._engine import threads
from .._engine.api.creation import from_numpy
from .._engine.buffers import known_row_values, known_rows
from .._engine.sparse import RowSparseGrad
from .._engine.tensor import Tensor
from . import _bf16, _differentiable
from .optimizer import (
    Optimizer,
    ParamsT,
    _advance_step,
    _check_at_least,
    _check_betas,
    _coalesce_rows,
    _decay_factor,
    _scalar_tensor,
    _step_count,
)

__all__ = ["Adam", "AdamW"]


def _zeros(p: np.ndarray) -> np.ndarray:
    # np.zeros maps zero pages lazily where zeros_like writes every byte: the NER demo's
    # 400k x 50 embedding moments (160 MB) cost 1.2 s of first-touch writes on a busy machine
    # against 0.01 s, and sparse steps touch only the rows they use (s16, issue 18).
    # zeros_like keeps a non-contiguous parameter's strides, as PyTorch's state does.
    return np.zeros(p.shape, p.dtype) if p.flags.c_contiguous else np.zeros_like(p)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba), PyTorch's ``torch.optim.Adam`` algorithm.

    At step t of a parameter θ (t counts that parameter's own steps), with gradient ∇ (negated
    if ``maximize``)::

        g ← ∇ + λθ                       (if weight_decay λ ≠ 0 and not decoupled)
        θ ← θ − γλθ                      (if weight_decay λ ≠ 0 and decoupled: AdamW)
        m ← m + (1 − β₁)(g − m)           (β₁m + (1 − β₁)g in PyTorch's lerp form)
        v ← β₂v + (1 − β₂)g²
        v_max ← max(v_max, v)            (if amsgrad; then v_max replaces v below)
        θ ← θ − γ (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)

    **Row-sparse gradients** (``Embedding(sparse=True)``) get PyTorch's ``SparseAdam`` update,
    which is *lazy*: only the rows the gradient touches have m, v and θ updated, with t still
    counting the parameter's steps; untouched rows keep their moments as they are. Dense Adam
    instead decays every row's moments at every step (a row seen once keeps moving for a while
    afterwards), so the two are different optimizers on the same data, as in PyTorch. Also as
    in ``SparseAdam``, ε is added to √v before the bias correction of v::

        θ_rows ← θ_rows − γ (√(1 − β₂ᵗ) / (1 − β₁ᵗ)) m_rows / (√v_rows + ε)

    Sparse gradients need weight_decay = 0 and amsgrad = False in that parameter's group
    (``SparseAdam`` has neither).

    Args:
        params: tensors to optimize, or dicts of parameter groups with their own options.
        lr: learning rate γ.
        betas: (β₁, β₂), the decay rates of the first and second moment averages.
        eps: ε, added to the denominator for numerical stability.
        weight_decay: λ; an L2 penalty added to the gradient, or with
            ``decoupled_weight_decay`` a shrinking of the weights (AdamW).
        amsgrad: use the AMSGrad variant (the running maximum of v).
        maximize: maximize the objective instead of minimizing it.
        foreach, fused: PyTorch's kernel choices; accepted and ignored (same arithmetic).
        capturable: must be False (CUDA graphs).
        differentiable: record the step in the autograd graph (optim/_differentiable.py).
        decoupled_weight_decay: apply weight decay to θ directly, as AdamW.

    >>> import deltagrad as dg
    >>> w = dg.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = dg.optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()                  # the first Adam step moves each weight by about lr
    >>> w
    tensor([ 0.9000, -0.9000], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False):
        _check_tensor_options(lr, betas, eps, foreach, capturable)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)
        self._flat_cache: dict[tuple, tuple] = {}  # see _flat_moments
        self._row_scan_wait: dict[int, int] = {}  # see _nonzero_rows

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        _check_betas(group["betas"])
        _check_at_least("epsilon value", group["eps"], 0.0)
        _check_at_least("weight_decay value", group["weight_decay"], 0.0)

    @staticmethod
    def _init_state(p: np.ndarray, state: dict, amsgrad: bool, tensor_step: bool = True) -> None:
        if "step" not in state:
            # PyTorch's Adam counts in a float32 0-d tensor, its SparseAdam in an int.
            state["step"] = _scalar_tensor() if tensor_step else 0
            state["exp_avg"] = from_numpy(_zeros(p))
            state["exp_avg_sq"] = from_numpy(_zeros(p))
        if amsgrad and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = from_numpy(_zeros(p))

    def _differentiable_update(self, param: Tensor, grad: Tensor, state: dict,
                               group: dict) -> None:
        self._init_state(param._data, state, group["amsgrad"])
        _differentiable.adam(param, grad, state, group)

    def _dense_update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        weight_decay = float(group["weight_decay"])
        self._init_state(p, state, group["amsgrad"])
        step = _advance_step(state)
        if _bf16.holds(p):  # PyTorch's rounding after each operation (optim/_bf16.py)
            _bf16.adam_step(p, g, state, group, step)
            return
        if weight_decay != 0.0 and group["decoupled_weight_decay"]:
            p *= _decay_factor(group)  # AdamW: decay the weights, not the gradient
            weight_decay = 0.0
        d = g
        if weight_decay != 0.0 or group["maximize"]:
            d = self._direction(p, g, weight_decay, group["maximize"],
                                out=self._scratch(p, slot=0))
        m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
        rows = d_rows = None
        if not group["amsgrad"] and p.ndim >= 2 and p.shape[0] >= _ROW_SCAN_MIN_ROWS:
            # d is ±g without weight decay: the gradient's maker may know its non-zero rows.
            known = known_rows(g) if weight_decay == 0.0 else None
            if known is None:
                rows = self._nonzero_rows(p, d, self._scratch(p, slot=1))
            elif known.size <= p.shape[0] // 2:
                rows = known
                if d is g:  # and maybe their values too (the embedding's): no gather
                    noted = known_row_values(g)
                    d_rows = None if noted is None else noted[1]
            # else: rows cover most of the table, where the plain update is cheaper
        constants = _adam_constants(step, group)
        if rows is not None:
            touched = _adam_update_rows(d, m, v, p, rows, constants, d_rows)
            self._add_update(p, (m, v), _adam_decay_step, constants)
            if touched is not None:
                _adam_finish_rows(p, m, v, rows, touched, constants)
        elif group["amsgrad"]:
            self._add_update(p, (d, m, v, state["max_exp_avg_sq"]._data), _adam_update,
                             constants)
        else:
            self._add_update(p, (d, m, v), _adam_update_plain, constants)

    def _add_update(self, p: np.ndarray, operands: tuple, update, constants: tuple) -> None:
        """``p += work`` after ``update(*operands, work, constants)`` wrote the step into
        ``work`` (it may change the operands in place, elementwise): over the whole arrays,
        or a chunk at a time when they are large and contiguous (see ``_CHUNK_BYTES``); the
        same numbers either way."""
        size = _chunk_size(p)
        if (p.size <= 2 * size or not p.flags.c_contiguous
                or not all(a.flags.c_contiguous for a in operands)):
            work = self._scratch(p, slot=1)
            update(*operands, work, constants)
            p += work
            return
        # The loop as lean as the hand-written floor's (no per-chunk list of the pieces, no
        # keyword call): W1 dense's 7-pass update of the 25,000 x 50 table (20 chunks) took
        # 958 us against the floor's 916 before, 912 now (alternated, 1 thread).
        n = p.size
        flat_p = p.reshape(-1)
        flat = [a.reshape(-1) for a in operands]
        if n >= _SPLIT_MIN_CHUNKS * size and threads.count() > 1:  # (see _split_chunks)
            _split_chunks(flat_p, flat, update, constants, size)
            return
        work = self._scratch(flat_p[:size], slot=1)
        for start in range(0, n, size):
            stop = start + size
            w = work if stop <= n else work[:n - start]
            update(*[a[start:stop] for a in flat], w, constants)
            flat_p[start:stop] += w

    def _nonzero_rows(self, p: np.ndarray, d: np.ndarray, work: np.ndarray):
        """The rows where the gradient is not all zero, when they are few (an embedding
        table's dense gradient: the rows of the batch's words); else None.

        Found from the row sums of |d|, exactly 0 only for an all-zero row (summed by einsum,
        not BLAS: with two threads OpenBLAS's matrix-vector product on a 25,000 x 50 table took
        1.5 to 4.5 times as long as with one, einsum the same); a table whose gradient fills
        most rows is not looked at again for a while.
        """
        key = id(p)
        wait = self._row_scan_wait.get(key, 0)
        if wait:
            self._row_scan_wait[key] = wait - 1
            return None
        if not d.flags.c_contiguous:
            return None
        magnitude = np.abs(d, out=work).reshape(d.shape[0], -1)
        rows = np.flatnonzero(np.einsum("ij->i", magnitude))
        if rows.size > d.shape[0] // 2:
            self._row_scan_wait[key] = 100  # mostly dense: the plain update, for 100 steps
            return None
        return rows

    def _dense_updates(self, items: list, group: dict) -> None:
        # Small parameters (biases, small layers) are updated together, through flat arrays of
        # their moments: Adam's 12 NumPy passes once for all of them instead of once each,
        # which is most of the cost on arrays this small. The same arithmetic element by
        # element, so the same numbers bit for bit.
        small = [(param, g) for param, g in items
                 if param._data.size <= _FLAT_MAX_SIZE and not _bf16.holds(param._data)]
        flat = None
        # AdamW's decoupled decay (θ ← θ − γλθ before the update) keeps the flat path: one
        # scaling per parameter. W4's AdamW step (54 parameters, weight_decay 1e-2) took the
        # per-parameter loop before this (opt.step() 890 us against torch-fused 422).
        decoupled = group["weight_decay"] != 0.0 and group["decoupled_weight_decay"]
        if (len(small) > 1 and not group["amsgrad"] and not group["maximize"]
                and (group["weight_decay"] == 0.0 or decoupled)):
            flat = self._flat_moments(small)
        if flat is None:
            super()._dense_updates(items, group)
            return
        if len(small) < len(items):
            super()._dense_updates([item for item in items
                                    if item[0]._data.size > _FLAT_MAX_SIZE
                                    or _bf16.holds(item[0]._data)], group)
        m, v, g, work, updates = flat
        step = 0
        states = self.state
        for param, _ in small:
            step = _advance_step(states[param])
        constants = _adam_constants(step, group)
        # Many parameters together can be large: a chunk at a time then (see _CHUNK_BYTES).
        size = _chunk_size(g)
        if g.size <= 2 * size:
            # The gradients read in place, not copied into g first: W1's opt.step() (its four
            # dense parameters flat, 51,205 elements, + the lazy table) 459 -> 433 us (paired
            # CPU time, 32 blocks of 25 steps, 1 thread; 0.950, range 0.911-0.971).
            _adam_update_gathered([grad for _, grad in small],
                                  [states[param]["exp_avg"]._data for param, _ in small],
                                  m, v, work, updates, constants)
        else:
            np.concatenate([grad.reshape(-1) for _, grad in small], out=g)
            for start in range(0, g.size, size):
                stop = start + size
                _adam_update(g[start:stop], m[start:stop], v[start:stop], None,
                             work[start:stop], constants)
        if decoupled:
            shrink = _decay_factor(group)
            for (param, _), update in zip(small, updates):
                data = param._data
                data *= shrink  # (as _dense_update: decay, then the Adam step)
                data += update
            return
        for (param, _), update in zip(small, updates):
            param._data += update

    def _flat_moments(self, small: list):
        """The flat layout of these parameters: their moment arrays m and v, whose states then
        hold views of them, a buffer for their gradients, one for the update and its views
        shaped like each parameter (made again when the parameters, a state, the dtypes or the
        step counts changed); None if the parameters cannot share them."""
        key = tuple([id(param) for param, _ in small])
        cached = self._flat_cache.get(key)
        if cached is not None:
            # The layout holds while every parameter's moments are still its views (a loaded
            # or hand-set state replaces them), the dtypes are its own and the step counts
            # agree: one plain loop, as the checks below in generator expressions cost 3.3 us
            # a step (W1's four small parameters; 1.8 us now, alone in a loop).
            m, v = cached[:2]
            dtype, count = m.dtype, None
            states = self.state
            for param, g in small:
                state = states[param]
                exp_avg, exp_avg_sq = state.get("exp_avg"), state.get("exp_avg_sq")
                if (exp_avg is None or exp_avg_sq is None or exp_avg._data.base is not m
                        or exp_avg_sq._data.base is not v or g.dtype != dtype
                        or param._data.dtype != dtype):
                    break  # (the full checks below)
                step = _step_count(state)
                if count is None:
                    count = step
                elif step != count:
                    return None  # parameters added at different times: one by one
            else:
                return cached
        dtype = small[0][0]._data.dtype
        states = [self.state[param] for param, _ in small]
        if any(param._data.dtype != dtype or g.dtype != dtype for param, g in small):
            return None
        if len({_step_count(state) for state in states}) != 1:
            return None  # parameters added at different times: one by one
        sizes = [param._data.size for param, _ in small]
        offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        m, v = np.empty(offsets[-1], dtype), np.empty(offsets[-1], dtype)
        for (param, _), state, start, stop in zip(small, states, offsets[:-1], offsets[1:]):
            self._init_state(param._data, state, amsgrad=False)
            for flat, name in ((m, "exp_avg"), (v, "exp_avg_sq")):
                flat[start:stop] = state[name]._data.reshape(-1)
                state[name] = from_numpy(flat[start:stop].reshape(param.shape))
        # One layout per set of parameters (per group, in practice); a layout that shares a
        # parameter with this one is stale.
        members = set(key)
        self._flat_cache = {k: layout for k, layout in self._flat_cache.items()
                            if members.isdisjoint(k)}
        work = np.empty(offsets[-1], dtype)
        updates = [work[start:stop].reshape(param.shape)
                   for (param, _), start, stop in zip(small, offsets[:-1], offsets[1:])]
        self._flat_cache[key] = (m, v, np.empty(offsets[-1], dtype), work, updates)
        return self._flat_cache[key]

    def _sparse_update(self, p: np.ndarray, grad: RowSparseGrad, state: dict,
                       group: dict) -> None:
        name = type(self).__name__
        if group["weight_decay"] != 0:
            raise RuntimeError(
                f"{name} with weight_decay != 0 does not support sparse gradients (from "
                f"Embedding(sparse=True)): PyTorch's SparseAdam has no weight decay; put the "
                f"embedding in its own param group with weight_decay=0, or use sparse=False"
            )
        if group["amsgrad"]:
            raise RuntimeError(
                f"{name} with amsgrad does not support sparse gradients (from "
                f"Embedding(sparse=True)); set amsgrad=False in the embedding's param group, or "
                f"use sparse=False"
            )
        _lazy_adam_update(p, grad, state, group)


def _lazy_adam_update(p: np.ndarray, grad: RowSparseGrad, state: dict, group: dict,
                      tensor_step: bool = True) -> None:
    """SparseAdam's lazy update of the rows a sparse gradient touches (``group`` gives lr,
    betas, eps and maximize); shared by ``Adam`` (a tensor step count) and ``SparseAdam``
    (an int one, as PyTorch's)."""
    lr = float(group["lr"])
    beta1, beta2 = (float(beta) for beta in group["betas"])
    eps = float(group["eps"])
    Adam._init_state(p, state, amsgrad=False, tensor_step=tensor_step)
    if isinstance(state["step"], int):
        step = state["step"] = state["step"] + 1
    else:
        step = _advance_step(state)
    # g is only read (a gradient coalesced before, by clipping, is not copied), unless negated.
    rows, g = _coalesce_rows(grad, p.dtype, writable=False)
    if group["maximize"]:
        g = np.negative(g)
    m = state["exp_avg"]._data
    v = state["exp_avg_sq"]._data

    # Gather the touched rows (take: faster than m[rows]), update them, scatter them back;
    # rows are unique. The moments in SparseAdam's own form, m ← m + (1 − β₁)(g − m) and
    # v ← v + (1 − β₂)(g² − v), which rounds as PyTorch's does (β·m + (1 − β)·g differed from
    # it in the last bit of about a quarter of the moments); the same number of passes (W1's
    # opt.step() 419 -> 414 us, 0.990 paired, 32 blocks: no slower).
    m_rows = m.take(rows, axis=0)
    v_rows = v.take(rows, axis=0)
    term = np.subtract(g, m_rows)
    term *= 1.0 - beta1
    m_rows += term
    np.multiply(g, g, out=term)
    term -= v_rows
    term *= 1.0 - beta2
    v_rows += term
    m[rows] = m_rows
    v[rows] = v_rows

    step_size = lr * math.sqrt(1.0 - beta2 ** step) / (1.0 - beta1 ** step)
    update = np.sqrt(v_rows, out=v_rows)
    update += eps
    np.divide(m_rows, update, out=update)
    update *= -step_size
    p_rows = p.take(rows, axis=0)
    p_rows += update
    p[rows] = p_rows


_FLAT_MAX_SIZE = 1 << 16  # parameters up to this many elements share flat moment arrays

# Large parameters are updated a chunk of this many bytes (per array) at a time
# (``Adam._add_update``): Adam's passes then find their operands in the core's cache instead of
# streaming every array through memory once per pass. Measured on W1 dense's 25,000 x 50
# float32 table (1 thread, alternated, CPU time): the 12-pass update takes 0.52 of the time
# whole, the 7-pass row update 0.80 (the W1 dense step, with add_rows_at's float pairs, 0.83);
# 256 KB was the best of 128 KB to 1 MB. (The row update's decay is in the chunks since s26,
# when m's lerp form made it two operations: see _adam_update_rows.)
_CHUNK_BYTES = 1 << 18


def _chunk_size(p: np.ndarray) -> int:
    return max(_CHUNK_BYTES // p.itemsize, 1)


def _adam_constants(step: float, group: dict) -> tuple[float, float, float, float]:
    """(β₁, β₂, ε·c, −γ·c/(1 − β₁ᵗ)) with c = √(1 − β₂ᵗ), for ``_adam_step``: m̂/(√v̂ + ε) =
    c·m / ((1 − β₁ᵗ)(√v + c·ε)), one pass fewer than dividing v by its correction first."""
    lr = float(group["lr"])
    beta1, beta2 = (float(beta) for beta in group["betas"])
    eps = float(group["eps"])
    correction1 = 1.0 - beta1 ** step
    correction2_sqrt = math.sqrt(1.0 - beta2 ** step)
    betas = group["betas"]
    if isinstance(betas[0], Tensor) and not group["fused"]:
        # Tensor betas: PyTorch's bias corrections are 0-d tensor ops in the betas' dtype
        # (float32): 1 - β₁ᵗ, √(1 - β₂ᵗ) and lr / (1 - β₁ᵗ) each rounded there.
        kind = betas[0]._data.dtype.type
        one, count = kind(1), kind(step)
        # (NumPy scalars: a 0-d array's integer power multiplies, where PyTorch calls pow)
        correction1 = one - kind(betas[0]._data.item()) ** count
        correction2_sqrt = np.sqrt(one - kind(betas[1]._data.item()) ** count)
        if isinstance(group["lr"], Tensor):  # a tensor division
            step_size = float(group["lr"]._data.reshape(()).astype(kind) / correction1)
        else:  # number / tensor: PyTorch's reciprocal, then the product
            step_size = float((one / correction1) * kind(lr))
        c = float(correction2_sqrt)
        return beta1, beta2, eps * c, -step_size * c
    if isinstance(group["lr"], Tensor) and not group["fused"]:
        # PyTorch divides a Tensor lr as a 0-d tensor op, in its dtype (float32): the step
        # size is that rounded quotient (seen on float64 parameters; its fused kernel takes
        # the lr as a double instead).
        lr_array = group["lr"]._data
        step_size = float(lr_array.reshape(()) / lr_array.dtype.type(correction1))
        return beta1, beta2, eps * correction2_sqrt, -step_size * correction2_sqrt
    return beta1, beta2, eps * correction2_sqrt, -lr * correction2_sqrt / correction1


def _adam_update(d, m, v, v_max, work, constants: tuple) -> None:
    """Adam's moment updates (in place) and its step, written into ``work``: the arithmetic
    shared by the one-parameter (whole or chunked) and the flat paths."""
    beta1, beta2 = constants[:2]
    np.multiply(d, d, out=work)
    work *= 1.0 - beta2
    v *= beta2
    v += work
    # m in PyTorch's lerp form m + (1 − β₁)(g − m), not β₁m + (1 − β₁)g: the same 3 passes,
    # and rounding as PyTorch's (less its FMA, which NumPy lacks) near an optimum where m and
    # θ shrink into subnormals together. Minimizing sum(θ²) from ones(2), Adam(lr=3e-2):
    # PyTorch and this reach θ = 0 (±3e-45) and stay; the β₁m form drifted off to -0.0034 by
    # step 45,000 (cooper-optim's convergence test; s26 AD1). One more array read: a [1e6]
    # float32 step 1462 -> 1528 us (1.046, CPU time, 15 alternated rounds; /tmp script).
    np.subtract(d, m, out=work)
    work *= 1.0 - beta1
    m += work
    if v_max is not None:  # AMSGrad
        np.maximum(v_max, v, out=v_max)
        v = v_max
    _adam_step(m, v, work, constants)


def _adam_update_gathered(grads: list, m_pieces: list, m, v, work, pieces: list,
                          constants: tuple) -> None:
    """``_adam_update`` of flat m, v, work (no AMSGrad) for several parameters' gradients
    ``grads``, read where they lie: the two passes that read the gradient write each one's
    piece of ``work`` (``pieces``, views shaped like the gradients; ``m_pieces`` those of m)
    instead of first copying them all into one flat array. The same operations element by
    element, so the same bits."""
    beta1, beta2 = constants[:2]
    for grad, piece in zip(grads, pieces):
        np.multiply(grad, grad, out=piece)
    work *= 1.0 - beta2
    v *= beta2
    v += work
    for grad, m_piece, piece in zip(grads, m_pieces, pieces):
        np.subtract(grad, m_piece, out=piece)  # (m's lerp form: see _adam_update)
    work *= 1.0 - beta1
    m += work
    _adam_step(m, v, work, constants)


def _adam_update_plain(d, m, v, work, constants: tuple) -> None:
    """``_adam_update`` without AMSGrad (the operands ``_add_update`` slices)."""
    _adam_update(d, m, v, None, work, constants)


_ROW_SCAN_MIN_ROWS = 1024  # Adam looks for all-zero gradient rows in tables this tall


def _adam_update_rows(d, m, v, p, rows, constants: tuple, d_rows=None):
    """The first half of Adam's update for a gradient that is zero outside ``rows``: the
    touched rows' new moments (m, v) and their θ as it is now, gathered from m, v, p (not
    changed here), or None for no rows. ``_adam_decay_step`` then updates every row as if its
    gradient were zero (a chunk at a time: the moments' decay and the step in the cache), and
    ``_adam_finish_rows`` writes the touched rows over it: the same numbers as the plain
    update's, in 7 passes over the table instead of 12. Rows may repeat (each copy computes
    and writes the same values). ``d_rows``, if given, is ``d[rows]`` (only read).

    m's decay is two operations in the lerp form (s26 AD1): in the chunks, W1 dense 1.036 to
    1.045 of the β₁m form's time (ab.py --workload w1-dense --threads 1 --rounds 15 --cpu,
    twice), against 1.086 with the decay as two passes over the whole table."""
    if not rows.size:
        return None
    beta1, beta2 = constants[:2]
    owned = d_rows is None  # a gathered copy, which may be changed in place
    if owned:
        d_rows = d.take(rows, axis=0)
    m_rows, v_rows = m.take(rows, axis=0), v.take(rows, axis=0)
    square = np.multiply(d_rows, d_rows)
    square *= 1.0 - beta2
    v_rows *= beta2
    v_rows += square
    if owned:
        d_rows -= m_rows
    else:
        d_rows = np.subtract(d_rows, m_rows)
    d_rows *= 1.0 - beta1
    m_rows += d_rows
    return m_rows, v_rows, p.take(rows, axis=0)


def _adam_decay_step(m, v, work, constants: tuple) -> None:
    """``_adam_update`` of a zero gradient: m ← m − (1 − β₁)m (its m + (1 − β₁)(0 − m)),
    v ← β₂v, and the step into ``work``."""
    m -= np.multiply(m, 1.0 - constants[0], out=work)
    v *= constants[1]
    _adam_step(m, v, work, constants)


def _adam_finish_rows(p, m, v, rows, touched: tuple, constants: tuple) -> None:
    """Write ``_adam_update_rows``' rows into m and v, and into p their θ (gathered before the
    step) plus their step."""
    m_rows, v_rows, p_rows = touched
    m[rows] = m_rows
    v[rows] = v_rows
    work = np.sqrt(v_rows)  # (``_adam_step``'s operations)
    work += constants[2]
    np.divide(m_rows, work, out=work)
    work *= constants[3]
    p_rows += work
    p[rows] = p_rows


def _split_chunks(flat_p, flat: list, update, constants: tuple, size: int) -> None:
    """``Adam._add_update``'s chunk loop shared out across the intra-op threads (two or more):
    each piece a run of whole chunks, with its own work chunk. Every element takes the same
    operations as in the loop on one thread, so the same bits.

    NumPy releases the GIL inside each pass over a chunk, so the pieces run at once. W1 dense's
    25,000 x 50 float32 table on two threads, its 7-pass update with the moments' decay split
    too: 1,063 -> 722 us a step (medians of 15 alternated rounds); the W1 dense
    step 0.83 to 0.86 of its time (ab.py --workload w1-dense --threads 2, 12 rounds, twice),
    1.25 -> 1.05 x numpy-dense-adam-rows; 0.93 when other processes loaded the memory bus.
    (Measured at real-time priority, chrt -f: the shared 2-core machine had a load of 15.)
    SGD's chunk loop split the same way made W3 on two threads 1.04 x slower (the BLAS threads
    of W3's large GEMMs still spin on the second core then), so SGD does not split.
    """
    n = flat_p.size

    def chunks(first, last):
        work = np.empty(size, flat_p.dtype)
        for start in range(first * size, min(last * size, n), size):
            stop = start + size
            w = work if stop <= n else work[:n - start]
            update(*[a[start:stop] for a in flat], w, constants)
            flat_p[start:stop] += w

    threads.split(chunks, -(-n // size), elements=n)


# Parameters from this many chunks on are updated across the intra-op threads: on smaller ones
# (a 313,600-element weight, 5 chunks: 0.91 of the time on an idle second core, 1.3 times it
# on a busy one) the gain is small and a late worker costs more than it saves.
_SPLIT_MIN_CHUNKS = 16


def _adam_step(m, v, work, constants: tuple) -> None:
    """The bias-corrected step -lr m̂ / (√v̂ + ε), written into ``work``."""
    np.sqrt(v, out=work)
    work += constants[2]
    np.divide(m, work, out=work)
    work *= constants[3]


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter), PyTorch's ``torch.optim.AdamW``.

    As ``Adam`` with ``decoupled_weight_decay=True``: before the Adam update each step shrinks
    the weights, θ ← θ − γλθ, instead of adding λθ to the gradient, so the decay does not pass
    through the moment estimates. Row-sparse gradients get the lazy ``SparseAdam`` update of
    ``Adam`` and need weight_decay = 0 in their group (the default here is 1e-2)::

        AdamW([{"params": embedding.parameters(), "weight_decay": 0.0},
               {"params": rest_of_the_model}], lr=1e-3)

    Args:
        params: tensors to optimize, or dicts of parameter groups with their own options.
        lr: learning rate γ.
        betas: (β₁, β₂), the decay rates of the first and second moment averages.
        eps: ε, added to the denominator for numerical stability.
        weight_decay: λ, the decoupled weight decay.
        amsgrad: use the AMSGrad variant (the running maximum of v).
        maximize: maximize the objective instead of minimizing it.
        foreach, fused: PyTorch's kernel choices; accepted and ignored (same arithmetic).
        capturable: must be False (CUDA graphs).
        differentiable: record the step in the autograd graph (optim/_differentiable.py).
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)


def _check_tensor_options(lr: Any, betas: Any, eps: Any, foreach: Any, capturable: Any) -> None:
    """PyTorch's Adam/AdamW constructor checks of Tensor options: its foreach kernels take no
    Tensor lr or betas (without capturable), and betas are both floats or both Tensors (so
    ``betas=(0, 0.9)``, an int, is refused there too)."""
    if isinstance(lr, Tensor) and foreach and not capturable:
        raise ValueError("lr as a Tensor is not supported for capturable=False and foreach=True")
    # PyTorch's order: the value checks first (a str beta: TypeError there), then the types.
    _check_at_least("learning rate", lr, 0.0)
    _check_at_least("epsilon value", eps, 0.0)
    _check_betas(betas)
    pair = betas[0], betas[1]
    if not (all(isinstance(beta, float) for beta in pair)
            or all(isinstance(beta, Tensor) for beta in pair)):
        raise ValueError("betas must be either both floats or both Tensors")
    for index, beta in enumerate(pair):
        if isinstance(beta, Tensor) and foreach and not capturable:
            raise ValueError(f"betas[{index}] as a Tensor is not supported for "
                             f"capturable=False and foreach=True")
