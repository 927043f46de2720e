"""L-BFGS: a limited-memory quasi-Newton method with an optional strong-Wolfe line search."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._engine import Tensor, enable_grad, from_numpy
from .optimizer import Optimizer, ParamsT

__all__ = ["LBFGS"]

# The state entries that are flat vectors over all parameters (or lists of them), not
# parameter-shaped arrays: load_state_dict restores them itself.
_FLAT_STATE = ("d", "prev_flat_grad", "old_dirs", "old_stps")
# The numbers PyTorch keeps as 0-d tensors (lists of them for ro and al; H_diag is the int 1
# until the first curvature pair): 0-d tensors of the parameters' dtype here too.
_SCALAR_STATE = ("ro", "al", "H_diag")


class LBFGS(Optimizer):
    r"""L-BFGS, PyTorch's ``torch.optim.LBFGS`` algorithm (after minFunc).

    Each ``step(closure)`` runs up to ``max_iter`` iterations on the flattened parameters x,
    each one: a direction d = −H g from the two-loop recursion over the last ``history_size``
    pairs (s = x change, y = gradient change; a pair is kept only if yᵀs > 1e-10, and the
    initial H is yᵀs / yᵀy of the newest pair), then a step x ← x + t d with t = lr (the
    first iteration ever: t = lr · min(1, 1/‖g‖₁)), or t from a strong-Wolfe line search
    (cubic interpolation, c₁ = 1e-4, c₂ = 0.9) when ``line_search_fn="strong_wolfe"``.

    It stops when max|g| ≤ tolerance_grad, when the directional derivative gᵀd >
    −tolerance_change, when max|t d| or the loss change falls below tolerance_change, after
    ``max_iter`` iterations or ``max_eval`` closure calls. The history carries over from one
    ``step`` to the next. All parameters form one group (parameter groups raise ValueError).

    Args:
        params: the tensors to optimize (one group).
        lr: the step length along d (the line search's first trial step).
        max_iter: iterations per ``step`` call.
        max_eval: closure calls per ``step`` call (default ``max_iter * 5 // 4``).
        tolerance_grad: stop when every gradient entry is at most this in size.
        tolerance_change: stop when the loss or the parameters change less than this.
        history_size: the number of (s, y) pairs kept.
        line_search_fn: None (fixed steps) or ``"strong_wolfe"``.

    >>> import deltagrad as dg
    >>> x = dg.tensor([3.0, -1.0], dtype=dg.float64, requires_grad=True)
    >>> opt = dg.optim.LBFGS([x], line_search_fn="strong_wolfe")
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = ((x - dg.tensor([1.0, 2.0], dtype=dg.float64)) ** 2).sum()
    ...     loss.backward()
    ...     return loss
    >>> _ = opt.step(closure)       # a quadratic: solved in one step
    >>> [round(value, 6) for value in x.tolist()]
    [1.0, 2.0]
    """

    def __init__(self, params: ParamsT, lr: float = 1, max_iter: int = 20,
                 max_eval: int | None = None, tolerance_grad: float = 1e-7,
                 tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Give LBFGS its parameters; a second group raises ValueError, as in PyTorch."""
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    @property
    def _params(self) -> list:
        return self.param_groups[0]["params"]

    # ---------------------------------------------------------------- flat views

    def _gather_flat_grad(self) -> np.ndarray:
        """All gradients as one new vector (zeros for a parameter without a gradient)."""
        parts = []
        for param in self._params:
            grad = param.grad
            if grad is None:
                parts.append(np.zeros(param.numel(), dtype=param.dtype))
            elif getattr(grad, "is_sparse", False):
                parts.append(grad.to_dense().reshape(-1))
            else:
                parts.append(grad.detach()._data.reshape(-1))
        return np.concatenate(parts)

    def _add_to_params(self, step_size: float, direction: np.ndarray) -> None:
        """x ← x + step_size · direction, in place."""
        offset = 0
        step_size = _alpha(step_size)
        for param in self._params:
            array = param.detach()._data
            array += step_size * direction[offset:offset + array.size].reshape(array.shape)
            offset += array.size

    def _copy_params(self) -> list[np.ndarray]:
        return [param.detach()._data.copy() for param in self._params]

    def _set_params(self, values: list[np.ndarray]) -> None:
        for param, value in zip(self._params, values):
            np.copyto(param.detach()._data, value)

    def _evaluate_along(self, closure: Callable, x: list[np.ndarray], t: float,
                        d: np.ndarray) -> tuple[float, np.ndarray]:
        """The loss and gradient at x + t d; the parameters are put back to x afterwards."""
        self._add_to_params(t, d)
        loss = float(_call(closure))
        flat_grad = self._gather_flat_grad()
        self._set_params(x)
        return loss, flat_grad

    # ---------------------------------------------------------------- the step

    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """Run up to ``max_iter`` L-BFGS iterations.

        Args:
            closure: a function that clears the gradients, computes the loss, calls
                ``backward`` and returns the loss; called (with gradients enabled) once per
                function evaluation.

        Returns:
            The loss from the first closure call (before this step's updates).

        Raises:
            RuntimeError: ``line_search_fn`` is neither None nor ``"strong_wolfe"``.
        """
        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter = group["max_iter"]
        max_eval = group["max_eval"]
        tolerance_grad = group["tolerance_grad"]
        tolerance_change = group["tolerance_change"]
        line_search_fn = group["line_search_fn"]
        history_size = group["history_size"]

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = _call(closure)
        loss = float(orig_loss)
        evaluations = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if np.abs(flat_grad).max() <= tolerance_grad:
            return orig_loss  # already optimal

        d = _array_or_none(state.get("d"))
        t = _number(state.get("t"))
        # What PyTorch's state keeps as "t" (its type too): lr itself (an int lr stays an
        # int), 1.0 * lr, or a 0-d tensor where the first step is scaled by 1/|g|_1.
        saved_t = state.get("t")
        raw_lr = group["lr"]  # (a Tensor lr: PyTorch's state keeps that tensor as "t")
        old_dirs = [_array_or_none(y) for y in state.get("old_dirs") or []]  # y pairs
        old_stps = [_array_or_none(s) for s in state.get("old_stps") or []]  # s pairs
        ro = [_number(value) for value in state.get("ro") or []]
        h_diag = _number(state.get("H_diag"))
        prev_flat_grad = _array_or_none(state.get("prev_flat_grad"))
        prev_loss = state.get("prev_loss")
        al = state.get("al")
        if al is not None:
            al = [_number(value) for value in al]

        iteration = 0
        while iteration < max_iter:
            iteration += 1
            state["n_iter"] += 1

            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                h_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:  # keep only pairs with positive curvature
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / y.dot(y)
                d, al = _two_loop(flat_grad, old_dirs, old_stps, ro, h_diag, al, history_size)

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                np.copyto(prev_flat_grad, flat_grad)
            prev_loss = loss

            if state["n_iter"] == 1:
                ratio = 1.0 / np.abs(flat_grad).sum()
                if ratio < 1.0:
                    t = ratio * lr
                    saved_t = from_numpy(np.array(t, dtype=flat_grad.dtype))
                else:
                    t, saved_t = 1.0 * lr, 1.0 * raw_lr
            else:
                t, saved_t = lr, raw_lr

            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:
                break  # not a descent direction (to tolerance)

            step_evaluations = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_start = self._copy_params()

                def along(x, step, direction):
                    return self._evaluate_along(closure, x, step, direction)

                # NOTE: as in PyTorch, the line search's own tolerance_change stays at its
                # default 1e-9 whatever the optimizer's is.
                first_t = t
                loss, flat_grad, t, step_evaluations = _strong_wolfe(
                    along, x_start, t, d, loss, flat_grad, gtd,
                    max_ls=max_eval - evaluations)
                if t != first_t:
                    # (PyTorch's search can end at its int 0 start: an int in its state; a
                    # step its cubic interpolation gave is a 0-d tensor there, as the slopes
                    # are: a NumPy scalar here, a Python float where a bound was taken)
                    if type(t) is int:
                        saved_t = t
                    elif isinstance(t, np.generic):
                        saved_t = from_numpy(np.array(t))
                    else:
                        saved_t = float(t)
                self._add_to_params(t, d)
                optimal = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_to_params(t, d)
                optimal = False
                if iteration != max_iter:
                    # The last iteration's loss is not needed: the next step() evaluates it.
                    loss = float(_call(closure))
                    flat_grad = self._gather_flat_grad()
                    optimal = np.abs(flat_grad).max() <= tolerance_grad
                    step_evaluations = 1

            evaluations += step_evaluations
            state["func_evals"] += step_evaluations

            if iteration == max_iter or evaluations >= max_eval or optimal:
                break
            if np.abs(d * t).max() <= tolerance_change:
                break  # the parameters hardly moved
            if abs(loss - prev_loss) < tolerance_change:
                break  # the loss hardly changed

        dtype = prev_flat_grad.dtype
        if al is not None:  # (first, as PyTorch's state has it)
            state["al"] = [_zero_d(value, dtype) for value in al]
        state["d"] = from_numpy(d)
        state["t"] = saved_t
        state["old_dirs"] = [from_numpy(y) for y in old_dirs]
        state["old_stps"] = [from_numpy(s) for s in old_stps]
        state["ro"] = [_zero_d(value, dtype) for value in ro]
        state["H_diag"] = h_diag if isinstance(h_diag, int) else _zero_d(h_diag, dtype)
        state["prev_flat_grad"] = from_numpy(prev_flat_grad)
        state["prev_loss"] = float(prev_loss)
        return orig_loss

    # ---------------------------------------------------------------- state dicts

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore state and options saved by ``state_dict`` (see ``Optimizer``).

        The flat vectors (direction, previous gradient and the (s, y) history) are copied
        in the first parameter's dtype; they are not shaped like that parameter.
        """
        if not isinstance(state_dict, dict) or "state" not in state_dict:
            super().load_state_dict(state_dict)  # raises the usual error
            return
        plain_state, flat_state = {}, {}
        for key, entry in state_dict["state"].items():
            plain_state[key] = {name: value for name, value in entry.items()
                                if name not in _FLAT_STATE and name not in _SCALAR_STATE}
            flat_state[key] = {name: value for name, value in entry.items()
                               if name in _FLAT_STATE or name in _SCALAR_STATE}
        super().load_state_dict({**state_dict, "state": plain_state})
        if not flat_state:
            return
        dtype = self._params[0].dtype
        state = self.state[self._params[0]]
        for entry in flat_state.values():
            for name in _SCALAR_STATE:
                if name in entry:
                    value = entry.pop(name)
                    if isinstance(value, (list, tuple)):
                        state[name] = [_zero_d(_number(item), dtype) for item in value]
                    else:
                        state[name] = _zero_d(_number(value), dtype)
        numel = sum(param.numel() for param in self._params)

        def vector(value):
            array = np.array(value.detach().numpy() if isinstance(value, Tensor) else value,
                             dtype=dtype, copy=True).reshape(-1)
            if array.size != numel:
                raise ValueError(f"loaded LBFGS state has a vector of {array.size} entries "
                                 f"but the parameters have {numel}")
            return from_numpy(array)

        for entry in flat_state.values():
            for name, value in entry.items():
                if value is None:
                    state[name] = None
                elif isinstance(value, (list, tuple)):
                    state[name] = [vector(item) for item in value]
                else:
                    state[name] = vector(value)
        # The saved entry's key order, as PyTorch's load keeps it (later steps reassign the
        # keys in place, so a state dict saved after them lists them in the same order).
        for entry in state_dict["state"].values():
            order = [name for name in entry if name in state]
            reordered = {name: state[name] for name in order}
            reordered.update((name, value) for name, value in state.items()
                             if name not in reordered)
            state.clear()
            state.update(reordered)


def _two_loop(flat_grad, old_dirs, old_stps, ro, h_diag, al, history_size):
    """−H g by the two-loop recursion (Nocedal & Wright, algorithm 7.4), with H₀ = h_diag·I.

    Returns the direction and the first loop's coefficients (``al``, reused from the last
    call when given: PyTorch keeps them in the state)."""
    if al is None or len(al) < history_size:
        al = [None] * history_size
    q = -flat_grad
    for i in range(len(old_dirs) - 1, -1, -1):
        al[i] = old_stps[i].dot(q) * ro[i]
        q += _alpha(-al[i]) * old_dirs[i]
    r = q * h_diag
    for i in range(len(old_dirs)):
        beta = old_dirs[i].dot(r) * ro[i]
        r += _alpha(al[i] - beta) * old_stps[i]
    return r, al


def _alpha(value: Any) -> Any:
    """``value`` as the float64 number by which ``x += alpha * y`` rounds once, as PyTorch's
    ``x.add_(y, alpha=value)`` does (a fused multiply-add): rounding the product first made
    float32 runs drift from PyTorch's by an ulp a step (L-BFGS on Rosenbrock, PG s18)."""
    return np.float64(value)


def _call(closure: Callable[[], Any]) -> Any:
    with enable_grad():
        return closure()


def _number(value: Any) -> Any:
    """A 0-d tensor's value as a NumPy scalar of its dtype (float32 arithmetic stays
    float32, as with PyTorch's 0-d tensors); anything else as it is."""
    return value._data[()] if isinstance(value, Tensor) else value


def _zero_d(value: Any, dtype) -> Any:
    """A number as a new 0-d tensor of ``dtype``; None and Python ints (H_diag's first
    value, 1) stay as they are, as in PyTorch's state."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return from_numpy(np.array(value, dtype=dtype))


def _array_or_none(value: Any) -> np.ndarray | None:
    if value is None:
        return None
    if isinstance(value, Tensor):
        return value.detach()._data
    return np.asarray(value)


def _cubic_minimizer(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimizer of the cubic through two points with their values and slopes (Nocedal &
    Wright, eq. 3.59), clipped to ``bounds`` (default: between the points); the middle of
    the bounds when the cubic has no minimizer."""
    if bounds is None:
        low, high = (x1, x2) if x1 <= x2 else (x2, x1)
    else:
        low, high = bounds
    with np.errstate(all="ignore"):  # coincident points give inf / nan, as in PyTorch
        # NOTE: the slopes are 0-d arrays of the parameters' dtype (PyTorch: 0-d tensors)
        # and the losses Python floats: each step rounds as PyTorch's does (float32 for
        # float32 parameters); all in float64 made the searches drift apart (PG, s18).
        g1, g2 = np.asarray(g1)[()], np.asarray(g2)[()]
        d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
        d2_square = d1 * d1 - g1 * g2
        if not d2_square >= 0:
            return (low + high) / 2.0
        d2 = np.sqrt(d2_square)
        # Measured from the right-hand point, so the formula holds whichever comes first.
        if x1 <= x2:
            minimizer = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            minimizer = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(minimizer, low), high)


def _strong_wolfe(evaluate, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """A step length t along d meeting the strong Wolfe conditions
    f(x + td) ≤ f + c₁t gᵀd and |∇f(x + td)ᵀd| ≤ −c₂ gᵀd (Nocedal & Wright, algorithms 3.5
    and 3.6, with cubic interpolation in both phases).

    ``evaluate(x, t, d)`` returns the loss and flat gradient at x + t d. Returns
    ``(loss, gradient, t, evaluations)`` at the step chosen.
    """
    d_norm = np.abs(d).max()
    f_new, g_new = evaluate(x, t, d)
    evaluations = 1
    gtd_new = g_new.dot(d)

    # Phase 1: grow t until an interval [a, b] holding an acceptable step is known. A point
    # is (t, loss, gradient, directional derivative).
    previous = (0, f, g, gtd)
    bracket = None
    found = False
    tries = 0
    while tries < max_ls:
        current = (t, f_new, g_new, gtd_new)
        if f_new > f + c1 * t * gtd or (tries > 1 and f_new >= previous[1]):
            bracket = [previous, current]  # too far: the step lies before t
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket = [current]  # t itself satisfies both conditions
            found = True
            break
        if gtd_new >= 0:
            bracket = [previous, current]  # the slope turned: a minimum in between
            break
        # Still going down: extrapolate, between a little past t and 10 t.
        t_next = _cubic_minimizer(previous[0], previous[1], previous[3], t, f_new, gtd_new,
                                  bounds=(t + 0.01 * (t - previous[0]), t * 10))
        previous = current
        t = t_next
        f_new, g_new = evaluate(x, t, d)
        evaluations += 1
        gtd_new = g_new.dot(d)
        tries += 1
    if bracket is None:  # out of evaluations: the best of the start and the last trial
        bracket = [(0, f, g, None), (t, f_new, g_new, None)]

    # Phase 2 ("zoom"): shrink the bracket, keeping at `low` its point with the lower loss.
    low, high = (0, 1) if bracket[0][1] <= bracket[-1][1] else (1, 0)
    little_progress = False
    while not found and tries < max_ls:
        if abs(bracket[1][0] - bracket[0][0]) * d_norm < tolerance_change:
            break
        (ta, fa, _, gtda), (tb, fb, _, gtdb) = bracket
        t = _cubic_minimizer(ta, fa, gtda, tb, fb, gtdb)
        # Keep the trial at least a tenth of the bracket's width inside it; a trial that was
        # near an end once is allowed there, the second time it is pushed in.
        left, right = min(ta, tb), max(ta, tb)
        margin = 0.1 * (right - left)
        if min(right - t, t - left) < margin:
            if little_progress or t >= right or t <= left:
                t = right - margin if abs(t - right) < abs(t - left) else left + margin
                little_progress = False
            else:
                little_progress = True
        else:
            little_progress = False

        f_new, g_new = evaluate(x, t, d)
        evaluations += 1
        gtd_new = g_new.dot(d)
        tries += 1
        current = (t, f_new, g_new, gtd_new)
        if f_new > f + c1 * t * gtd or f_new >= bracket[low][1]:
            bracket[high] = current  # not enough decrease: the new upper end
            low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                found = True
            elif gtd_new * (bracket[high][0] - bracket[low][0]) >= 0:
                bracket[high] = bracket[low]  # the minimum lies on the other side
            bracket[low] = current

    t, f_new, g_new, _ = bracket[low]
    return f_new, g_new, t, evaluations


# PyTorch's private name of the same function (pytorch-minimize imports it).
_cubic_interpolate = _cubic_minimizer
