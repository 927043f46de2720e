"""The Optimizer base: parameter groups, per-parameter state, zero_grad, step and state dicts."""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .._engine import versions
from .._engine.api.creation import from_numpy
from .._engine.autograd import _counters, enable_grad
from .._engine.sparse import RowSparseGrad, rows_of_coo
from .._engine.tensor import Tensor
from ..autograd.memory import after_optimizer_step
from ..nn.module import zero_grad_of
from ._loaded_state import (  # (moved out: session 27, FS1)
    _cast_like_torch,
    _check_setstate_reads,
    _force_flags,
    _loaded_scalar,
    _loaded_value,
    _other_class_group,
    _scalar_tensor,
    _setstate_fill,
)
from ._precision import widened_update
from ._state_values import _live, _plain
from .optimizer_hooks import (
    OptimizerHooks,
    register_optimizer_step_post_hook,
    register_optimizer_step_pre_hook,
)

__all__ = ["Optimizer", "register_optimizer_step_post_hook", "register_optimizer_step_pre_hook",
           "required"]

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]


class _RequiredParameter:
    """PyTorch's ``torch.optim.optimizer.required``: the default of an option that every
    parameter group must set (third-party optimizers write ``lr=required``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer(OptimizerHooks):
    """Base class of all optimizers: holds parameter groups and per-parameter state.

    Hooks (``register_step_pre_hook`` and the state-dict hooks) come from ``OptimizerHooks``.
    A subclass gives its hyperparameters' defaults, checks them in ``_check_group``, and
    updates one parameter in ``_dense_update`` (and ``_sparse_update`` if it accepts
    row-sparse gradients); ``step`` does the rest. Updates change ``param._data`` in place;
    gradients are only read.

    Args:
        params: the tensors to optimize (leaves) or ``(name, tensor)`` pairs (from
            ``named_parameters()``; the names go to the group's ``"param_names"``), or dicts
            each holding ``"params"`` (the tensors of one group) and any options that differ
            from ``defaults`` for that group.
        defaults: each option's value for groups that do not set it.

    >>> import deltagrad as dg
    >>> w = dg.tensor([1.0, -2.0], requires_grad=True)
    >>> b = dg.tensor([0.5], requires_grad=True)
    >>> opt = dg.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.0}], lr=0.1)
    >>> [group["lr"] for group in opt.param_groups]
    [0.1, 0.0]
    >>> ((w * w).sum() + b.sum()).backward()
    >>> opt.step()
    >>> w, b
    (tensor([ 0.8000, -1.6000], requires_grad=True), tensor([0.5000], requires_grad=True))
    """

    # The state entries PyTorch keeps as 0-d tensors of its scalar dtype (float32) rather than
    # Python numbers; load_state_dict turns saved numbers into such tensors, as PyTorch's
    # __setstate__ does. SparseAdam and LBFGS keep Python numbers: ().
    _scalar_state: tuple[str, ...] = ("step",)

    def __init__(self, params: ParamsT, defaults: dict[str, Any]):
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        # Work arrays for the dense updates, per dtype, reused across steps and parameters so
        # that a step allocates nothing. They are not state: never saved, never loaded.
        self._scratch_arrays: dict[tuple[str, int], np.ndarray] = {}
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {params.type()} (wrap it in a list: [tensor])"
            )
        if isinstance(params, dict):
            raise TypeError("params should be an iterable of dicts; wrap the group in a list")
        # (a set at the top is listed, as PyTorch's ``list(params)``: its order is the set's;
        # a group's 'params' set is refused in add_param_group, as there)
        # (PyTorch's constructors check their options before reading params: an invalid eps
        # raises ValueError even with params=None, which pytorch_optimizer's suite counts on)
        self._check_group({**self.defaults, "params": []})
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        # each group opens with a newline and each option line ends with one: a blank line
        # between groups, as PyTorch prints
        text = f"{type(self).__name__} ("
        for index, group in enumerate(self.param_groups):
            text += f"\nParameter Group {index}\n"
            for key in sorted(group):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    # ---------------------------------------------------------------- groups

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters, with its own options, to optimize from now on.

        Useful to start training layers that were frozen (fine-tuning). Options the group does
        not give take the optimizer's defaults.

        Args:
            param_group: ``{"params": tensors, option: value, ...}``.

        Raises:
            TypeError: ``params`` holds something other than tensors, or is a set (whose order,
                and so the state dict's parameter ids, would change from run to run).
            ValueError: a non-leaf tensor, a tensor already in another
                group, or an invalid option value.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"a param group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        if "params" not in group:  # (KeyError: PyTorch reads param_group["params"])
            raise KeyError("a param group must have a 'params' entry")
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                "optimizer parameters must be given in a fixed order; a set has none, use a list"
            )
        params = list(params)
        # (name, tensor) pairs, as from model.named_parameters(): the names are kept in the
        # group as "param_names", after the keys it was given (PyTorch's layout).
        names = [param[0] for param in params if isinstance(param, tuple)]
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")
            params = [param[1] for param in params]
        seen: set[int] = set()
        duplicated = False
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but a parameter is a "
                    f"{type(param).__name__}"
                )
            if not (param.is_leaf or param.retains_grad or self.defaults.get("differentiable")):
                raise ValueError(
                    f"can't optimize a non-leaf Tensor (shape {param.shape}, made by "
                    f"{param.grad_fn}); optimize the leaf it was computed from"
                )
            if id(param) in seen and not duplicated:
                # PyTorch warns and keeps both entries (a step then updates it twice).
                duplicated = True
                warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                              "in future, this will cause an error; see "
                              "github.com/pytorch/pytorch/issues/40967 for more information",
                              UserWarning, stacklevel=3)
            seen.add(id(param))
        group["params"] = params
        if names:
            group["param_names"] = names
        for key, value in self.defaults.items():
            if value is required and key not in group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {key}")
            group.setdefault(key, value)
        for other in self.param_groups:
            if ("param_names" in group) != ("param_names" in other):
                raise ValueError(
                    "all optimizer param groups should be with/without names. cannot add param "
                    f"group {'with' if 'param_names' in group else 'without'} names to the "
                    f"optimizer"
                )
        for other in self.param_groups:
            if any(id(param) in seen for param in other["params"]):
                raise ValueError("some parameters appear in more than one parameter group")
        # (PyTorch checks option values on the constructor's defaults only, in __init__: a
        # group's own lr=-1.0 is taken, by the constructor and by add_param_group alike)
        if not self._own_step():
            _check_implementation_flags(type(self).__name__, group)
        self.param_groups.append(group)

    def _check_lr(self, lr: Any) -> None:
        """PyTorch's check of the learning rate (``not 0.0 <= lr``; SGD's differs)."""
        _check_at_least("learning rate", lr, 0.0)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Raise ValueError for an invalid option value; subclasses extend this. An optimizer
        with its own ``step`` (third-party) checks its options itself, as on PyTorch, whose
        base class checks none (torch-optimizer's Adafactor takes ``lr=None``)."""
        if self._own_step():
            return
        self._check_lr(group.get("lr", 0.0))
        _check_implementation_flags(type(self).__name__, group)

    # ---------------------------------------------------------------- stepping

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized parameters.

        Args:
            set_to_none: drop the gradients (``param.grad = None``, the default, as in
                PyTorch: cheaper, and ``step`` then skips the parameter) instead of filling
                them with zeros.
        """
        for group in self.param_groups:
            for param in group["params"]:
                zero_grad_of(param, set_to_none)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, once.

        Args:
            closure: optional function that clears the gradients, recomputes the loss, calls
                ``backward`` and returns the loss; it is called (with gradients enabled) before
                the update.

        Returns:
            The closure's loss, or None without a closure.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        updated = []
        for group in self.param_groups:
            if (group.get("differentiable") and not group.get("capturable")
                    and self._differentiable_update is not None):
                self._differentiable_updates(group)
                continue
            if group.get("capturable") or group.get("differentiable"):
                _refuse_step_flags(type(self).__name__, group)
            dense = []
            complex_grads = False
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                g = grad._data  # a sparse gradient Tensor's storage is its RowSparseGrad
                if g.__class__ is not np.ndarray and getattr(g, "is_sparse", False):
                    g = rows_of_coo(g)  # (a COO one set by hand, p.grad = g.to_sparse(): rows)
                if isinstance(g, RowSparseGrad):
                    if tuple(g.shape) != param.shape:
                        raise ValueError(
                            f"{type(self).__name__}: sparse gradient of shape {g.shape} for a "
                            f"parameter of shape {param.shape}"
                        )
                    self._sparse_update(param._data, g, self._param_state(param, group),
                                        group)
                else:
                    if g.shape != param._data.shape:
                        raise ValueError(
                            f"{type(self).__name__}: gradient of shape {g.shape} for a parameter "
                            f"of shape {param.shape}"
                        )
                    dense.append((param, g))
                    complex_grads = complex_grads or g.dtype.kind == "c"
                updated.append(param)
            if complex_grads:
                if group.get("fused"):  # (PyTorch's fused kernels take real dtypes only)
                    raise RuntimeError(
                        f"{type(self).__name__}: `fused=True` requires all the params to be "
                        f"floating point Tensors; got a complex parameter")
                self._updates_with_complex(dense, group)
            elif len({id(param) for param, _ in dense}) < len(dense):
                self._duplicated_updates(dense, group)
            elif dense:
                self._dense_updates(dense, group)
        # The updates write the parameters' arrays in place: count them as in-place changes, so
        # a backward through a graph made before the step raises (as PyTorch's) instead of
        # using the new values.
        for param in updated:
            versions.bump(param._data, _counters.created)
        after_optimizer_step()
        return loss

    # Optimizers whose ``differentiable=True`` step is recorded by autograd set this to a
    # method ``(param, grad, state, group)`` that makes the state and steps with tensor ops.
    _differentiable_update: Callable[..., None] | None = None

    def _differentiable_updates(self, group: dict) -> None:
        """A ``differentiable=True`` group's step, recorded by autograd (optim/_differentiable):
        each parameter with a gradient (sparse ones refused) in the group's order."""
        with enable_grad():
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                if isinstance(grad._data, RowSparseGrad) or grad._data.dtype.kind == "c":
                    raise RuntimeError(
                        f"{type(self).__name__}(differentiable=True) supports dense real "
                        f"gradients only here (a sparse or complex gradient was given)")
                self._differentiable_update(param, grad, self._param_state(param, group),
                                            group)

    def _dense_updates(self, items: list[tuple[Tensor, np.ndarray]], group: dict) -> None:
        """Update a group's parameters that have dense gradients: ``items`` is ``[(param,
        gradient array)]`` in the group's order. One ``_dense_update`` each; optimizers may
        update several at once instead."""
        for param, g in items:
            p = param._data
            if p.itemsize == 2 and p.dtype.kind != "i" and self._widened_half_update(p):
                self._widened_update(p, g, self._param_state(param, group), group)
            else:
                self._dense_update(p, g, self._param_state(param, group), group)

    def _widened_half_update(self, p: np.ndarray) -> bool:
        """Whether a float16/bfloat16 parameter is stepped in float32 (``_widened_update``):
        optimizers whose NumPy update would otherwise round every Python-number factor to the
        parameter's dtype first (0.1 -> 0.10009765625 in bfloat16), which PyTorch never does."""
        return False

    def _widened_update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        widened_update(self, p, g, state, group)

    def _duplicated_updates(self, items: list[tuple[Tensor, np.ndarray]], group: dict) -> None:
        """A group's dense updates where a parameter is listed twice (PyTorch warns at
        construction and steps it once per entry): one at a time, in the group's order."""
        Optimizer._dense_updates(self, items, group)

    def _updates_with_complex(self, items: list[tuple[Tensor, np.ndarray]],
                              group: dict) -> None:
        """A group's dense updates where some parameters are complex. As in PyTorch, a complex
        parameter is stepped as its real view (``view_as_real``: real and imaginary parts two
        independent real numbers), its complex state tensors viewed the same way; state made
        by the step (shaped like the real view) is kept as the complex tensor it views."""
        for param, _ in items:  # the state entries in the group's order, as PyTorch's
            self._param_state(param, group)
        self._dense_updates([(param, g) for param, g in items if g.dtype.kind != "c"], group)
        for param, g in items:
            if g.dtype.kind != "c":
                continue
            state = self._param_state(param, group)
            p_real = _view_as_real(param._data)
            shadow = {key: (from_numpy(_view_as_real(value._data))
                            if isinstance(value, Tensor) and value._data.dtype.kind == "c"
                            else value) for key, value in state.items()}
            self._dense_update(p_real, np.ascontiguousarray(_view_as_real(g)), shadow, group)
            for key, value in shadow.items():
                old = state.get(key)
                if (isinstance(value, Tensor) and value._data.shape == p_real.shape
                        and value._data.dtype == p_real.dtype):
                    if isinstance(old, Tensor) and np.shares_memory(old._data, value._data):
                        continue  # updated in place through the view
                    array = np.ascontiguousarray(value._data).view(param._data.dtype)[..., 0]
                    state[key] = from_numpy(array)
                else:
                    state[key] = value

    def _param_state(self, param: Tensor, group: dict) -> dict:
        """The state dict a step updates for ``param``: its entry in ``self.state`` (made
        now if new). Optimizers that keep no state for some options return a loose dict, so
        that no entry appears, as in PyTorch."""
        return self.state[param]

    def _dense_update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement step")

    def _sparse_update(self, p: np.ndarray, grad: RowSparseGrad, state: dict,
                       group: dict) -> None:
        raise RuntimeError(
            f"{type(self).__name__} does not support sparse gradients (from "
            f"Embedding(sparse=True)); use SGD, Adagrad, Adam, AdamW or SparseAdam, or "
            f"sparse=False"
        )

    @staticmethod
    def _direction(p: np.ndarray, g: np.ndarray, weight_decay: float, maximize: bool,
                   out: np.ndarray) -> np.ndarray:
        """The gradient the update follows: ``±g + weight_decay * p`` (L2 decay coupled into
        the gradient, the sign flipped to maximize), written into ``out`` when it differs
        from ``g`` (which is never modified)."""
        if weight_decay != 0.0:
            np.multiply(p, weight_decay, out=out)
            (np.subtract if maximize else np.add)(out, g, out=out)
            return out
        if maximize:
            return np.negative(g, out=out)
        return g

    def _scratch(self, like: np.ndarray, slot: int = 0) -> np.ndarray:
        """A work array shaped like ``like`` (contents undefined), shared by all parameters."""
        key = (like.dtype.str, slot)
        flat = self._scratch_arrays.get(key)
        if flat is None or flat.size < like.size:
            flat = np.empty(like.size, dtype=like.dtype)
            self._scratch_arrays[key] = flat
        return flat[:like.size].reshape(like.shape)

    # ---------------------------------------------------------------- state dicts

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state and options, with parameters referred to by integer ids.

        The layout is PyTorch's: ``{"state": {id: {name: value}}, "param_groups": [{option:
        value, ..., "params": [id, ...]}]}``, ids numbering the parameters in group order.
        Values are the live state Tensors, as PyTorch's (later steps change them in place:
        keep a ``copy.deepcopy`` of the dict to hold a snapshot), Python numbers, strings,
        booleans, None, tuples (betas), lists and dicts: what ``deltagrad.save`` can store.
        Step counts are float32 0-d tensors where PyTorch's are (all but SparseAdam and
        LBFGS).

        Returns:
            A new dict; ``load_state_dict`` restores it into an optimizer with the same groups.
        """
        ids: dict[int, int] = {}
        memo: dict[int, Any] = {}
        groups = []
        start = 0
        for group in self.param_groups:
            packed = {key: _plain(value, memo) for key, value in group.items()
                      if key != "params"}
            # PyTorch numbers the entries by position; a parameter listed twice in a group
            # (allowed, with a warning) takes the id of its last entry.
            local = {id(param): index for index, param in enumerate(group["params"], start)
                     if id(param) not in ids}
            ids.update(local)
            packed["params"] = [ids[id(param)] for param in group["params"]]
            start += len(group["params"])
            groups.append(packed)
        # PyTorch's order and content: every entry of self.state, in the order the entries
        # were made (a parameter first stepped later comes later), empty ones included (a
        # program's ``optimizer.state[p]`` read makes one there too).
        state = {}
        for param, param_state in self.state.items():
            if id(param) in ids:
                state[ids[id(param)]] = {key: _live(value) for key, value in
                                         param_state.items()}
            elif not isinstance(param, Tensor):  # an optimizer's own entry, kept as PyTorch's
                state[param] = param_state  # (pytorch_optimizer's MADGRAD: state["k"])
        return {"state": state, "param_groups": groups}

    def _own_step(self) -> bool:
        """Whether the optimizer's ``step`` is written outside deltagrad (a third-party
        optimizer subclassing ``torch.optim.Optimizer``): its state is then loaded by PyTorch's
        generic policy, not by the layouts deltagrad's own optimizers keep."""
        for cls in type(self).__mro__:
            if "step" in cls.__dict__:
                # (deltagrad's classes name torch.optim.* while it runs as torch)
                return not cls.__module__.startswith((__name__.split(".")[0] + ".", "torch."))
        return False

    @staticmethod
    def _need_entry(state_dict: dict[str, Any], entry: str) -> None:
        if entry not in state_dict:  # (KeyError, as PyTorch's: a module's dict)
            raise KeyError(f"an optimizer state dict needs 'state' and 'param_groups' entries; "
                           f"this one has no {entry!r}")

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore state and options saved by ``state_dict``.

        The optimizer must have been built with the same groups of same-shaped parameters (in
        the same order). State ids may be ints or strings (JSON turns dict keys into strings).
        Loaded state is cast to each parameter's dtype; a tensor already in it is kept itself,
        as PyTorch's load keeps it (so two optimizers loaded from one live dict share state).
        The step counts may be Python numbers (older deltagrad state dicts, SparseAdam) or 0-d
        tensors (PyTorch): each optimizer keeps them as PyTorch's does (see ``_scalar_state``).

        Args:
            state_dict: a dict from ``state_dict`` (or its JSON / safetensors round trip).

        Raises:
            ValueError: the groups or the parameters' shapes do not match.
            KeyError: no 'param_groups' or 'state' entry (a module's state dict), as PyTorch.
        """
        if not isinstance(state_dict, dict):
            raise ValueError("an optimizer state dict needs 'state' and 'param_groups' entries")
        self._need_entry(state_dict, "param_groups")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has a different number of parameter groups ({len(saved_groups)}"
                f" saved, the optimizer has {len(self.param_groups)})"
            )
        id_to_param: dict[int, Tensor] = {}
        for index, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group that doesn't match the size "
                    f"of optimizer's group (group {index}: {len(saved['params'])} parameters "
                    f"saved, the optimizer's has {len(group['params'])})"
                )
            for saved_id, param in zip(saved["params"], group["params"]):
                id_to_param[int(saved_id)] = param
        # ('state' is read after the groups are checked, as PyTorch reads it)
        self._need_entry(state_dict, "state")
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, saved_state in state_dict["state"].items():
            if not isinstance(key, (int, str)) or isinstance(key, str) and not key.isdigit():
                # (a parameter's id is an int, or its digits after JSON)
                new_state[key] = saved_state  # not a parameter's: as it was saved, as PyTorch
                continue
            try:
                param = id_to_param[int(key)]
            except (KeyError, ValueError):
                raise ValueError(
                    f"loaded state dict has state for parameter id {key!r}, which none of its "
                    f"parameter groups lists"
                ) from None
            if self._own_step():
                new_state[param] = {name: _cast_like_torch(value, param, name)
                                    for name, value in saved_state.items()}
                continue
            new_state[param] = {
                name: (_loaded_scalar(value, param, name) if name in self._scalar_state
                       else _loaded_value(value, param, name))
                for name, value in saved_state.items()
            }
        new_groups, fills = [], []
        memo: dict[int, Any] = {}
        for saved, group in zip(saved_groups, self.param_groups):
            new_group = {}
            for key, value in saved.items():
                if key == "params":
                    continue
                # JSON has no tuples: give back the tuple an option (betas) was built with.
                if isinstance(group.get(key), tuple) and isinstance(value, list):
                    value = tuple(value)
                # (copied, as PyTorch's: a tensor lr too; shared values stay shared)
                new_group[key] = _plain(value, memo)
            # Options a saved group lacks: a deltagrad class's get the flags its PyTorch
            # __setstate__ sets (_setstate_fill), others stay missing, as in PyTorch; another
            # library's subclass keeps its values (its __setstate__ may compute them: timm's
            # Muon). Other keys (a scheduler's "initial_lr") are the saved group's only.
            fill = {key: value for key, value in group.items()
                    if key in self.defaults or key == "param_names"}
            # Another optimizer's group (SGD's into AdamW) replaces this one's, as in PyTorch,
            # whose __setstate__ then adds only its flags (amsgrad, foreach...): the numeric
            # options the saved group lacks (betas, eps) stay missing.
            same = not _other_class_group(saved, group, self.defaults)
            fills.append(_setstate_fill(type(self), fill, same))
            new_group["params"] = group["params"]
            new_groups.append(new_group)
        # Through __setstate__, as PyTorch's: subclasses fix state up there (timm's Adafactor).
        self.__setstate__({"state": new_state, "param_groups": new_groups})
        for new_group, fill in zip(self.param_groups, fills):
            for key, value in fill.items():
                new_group.setdefault(key, value)
            # (option values are not checked, as PyTorch's load checks none: a group's own
            # lr=-1.0 comes back as it was saved)
            if not self._own_step():
                _check_implementation_flags(type(self).__name__, new_group)
        _check_setstate_reads(self)  # (before AdamW's flag, as PyTorch's super().__setstate__)
        for new_group in self.param_groups:
            _force_flags(type(self), new_group)


def _number(value: Any, key: str) -> Any:
    """A hyperparameter as compared: a one-element Tensor by its value (PyTorch takes tensor
    lrs and betas), anything else as it is."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"Tensor {key} must be 1-element")
        return value.item()
    return value


class HyperparameterTypeError(TypeError, ValueError):
    """A hyperparameter that is not a number (``lr="fast"``, None). PyTorch's comparison
    raises TypeError there; a ValueError too, as every other invalid option value is one."""


def _compare(name: str, value: Any, compare: Callable[[Any], bool]) -> bool:
    try:
        return compare(value)
    except TypeError as error:
        if isinstance(error, RuntimeError):  # (a Tensor of several values: PyTorch's error)
            raise
        raise HyperparameterTypeError(f"Invalid {name}: {value!r} is not a number ({error})") \
            from None


def _check_at_least(name: str, value: Any, low: float, key: str = "lr") -> None:
    """PyTorch's ``if not low <= value: raise ValueError``: NaN fails it, and a value that is
    not a number (a string, None) makes the comparison raise TypeError, as there."""
    if not _compare(name, _number(value, key), lambda number: low <= number):
        raise ValueError(f"Invalid {name}: {value}")


def _check_not_negative(name: str, value: Any, key: str = "lr") -> None:
    """PyTorch's other form, ``if value < 0.0: raise ValueError`` (SGD's): NaN passes it."""
    if _compare(name, _number(value, key), lambda number: number < 0.0):
        raise ValueError(f"Invalid {name}: {value}")


def _decay_factor(group: dict[str, Any]) -> float:
    """Decoupled weight decay's shrink 1 − γλ (AdamW, NAdam, RAdam); with a Tensor lr
    computed as PyTorch's 0-d tensor ops in the lr's dtype (float32), except in its fused
    kernel, which takes the lr as a double."""
    lr = group["lr"]
    if isinstance(lr, Tensor) and not group.get("fused"):
        kind = lr._data.dtype.type
        return float(kind(1.0) - lr._data.reshape(()) * kind(group["weight_decay"]))
    return 1.0 - float(lr) * float(group["weight_decay"])


def _lr_over(group: dict[str, Any], divisor: float) -> float:
    """γ / divisor as PyTorch's single-tensor steps compute it: a Tensor lr divides as a 0-d
    tensor op in its own dtype (float32), so the quotient is rounded there (seen on float64
    parameters); a number lr in double precision."""
    lr = group["lr"]
    if isinstance(lr, Tensor):
        return float(lr._data.reshape(()) / lr._data.dtype.type(divisor))
    return float(lr) / divisor


def _view_as_real(array: np.ndarray) -> np.ndarray:
    """A complex array's writable real view of shape ``(..., 2)`` (torch.view_as_real), for
    any strides."""
    real = array.real  # (a view: real dtype, the complex array's strides)
    return np.lib.stride_tricks.as_strided(real, shape=array.shape + (2,),
                                           strides=array.strides + (real.itemsize,))


def _check_implementation_flags(name: str, group: dict[str, Any]) -> None:
    """PyTorch's construction-time checks of its implementation switches.

    ``foreach`` and ``fused`` pick one of PyTorch's kernels for the same arithmetic: accepted,
    kept in the group (as PyTorch does) and otherwise ignored, since every deltagrad step is
    already one vectorized NumPy pass per parameter. ``capturable`` and ``differentiable`` are
    accepted here as PyTorch accepts them, and refused at ``step`` (``_refuse_step_flags``).
    """
    if group.get("fused") and group.get("foreach"):
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    if group.get("fused") and group.get("differentiable"):
        raise RuntimeError("`fused` does not support `differentiable`")


def _refuse_step_flags(name: str, group: dict[str, Any]) -> None:
    """Refuse a step whose group asks for ``capturable`` or ``differentiable``, where a
    parameter of the group has a gradient (PyTorch fails there too on CPU leaf parameters:
    capturable needs CUDA tensors, an AssertionError; a differentiable step writes a leaf that
    requires grad in place, a RuntimeError). A differentiable step over non-leaf parameters,
    which PyTorch records for autograd, is not supported: deltagrad's steps update the arrays
    in place outside the graph, so it raises rather than returning an unrecorded update."""
    if not any(param.grad is not None for param in group["params"]):
        return
    if group.get("capturable"):
        raise AssertionError(
            f"If capturable=True, params and state_steps must be on supported devices: "
            f"['cuda']. {name}(capturable=True) is for CUDA graph capture; deltagrad runs on "
            f"the CPU only, so leave capturable=False"
        )
    raise RuntimeError(
        f"{name}(differentiable=True) is not supported: deltagrad's optimizers update the "
        f"parameters' arrays in place, outside the autograd graph"
    )


def _check_betas(betas: Any) -> None:
    # PyTorch indexes betas[0] and betas[1] (one beta: IndexError; a number: TypeError) and
    # compares each (a string: TypeError; a Tensor of several values: RuntimeError, its truth
    # value being ambiguous).
    for index in (0, 1):
        name = f"beta parameter at index {index}"
        if not _compare(name, betas[index], lambda beta: 0.0 <= beta < 1.0):
            raise ValueError(f"Invalid {name}: {betas[index]} (betas must be in [0, 1))")


def _advance_step(state: dict) -> float:
    """Count one more step in ``state["step"]`` (a 0-d tensor, changed in place as PyTorch's
    ``step_t += 1``) and return the new count as a Python float, read once per step."""
    counter = state["step"]
    if not isinstance(counter, Tensor):  # set by hand to a number: made a tensor again
        counter = state["step"] = _scalar_tensor(float(counter))
    array = counter._data
    step = array.item() + 1.0
    array[()] = step
    return step


def _step_count(state: dict) -> float:
    """The steps taken so far by a parameter (0 before its first), as a Python number."""
    step = state.get("step", 0)
    return step._data.item() if isinstance(step, Tensor) else step


def _coalesce_rows(grad: RowSparseGrad, dtype: np.dtype,
                   writable: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The rows a sparse gradient touches, sorted and unique, and their summed values.

    Returns ``(indices [k] int64, values [k, *row_shape])``; ``values`` is a new array the
    caller may overwrite, or with ``writable=False`` possibly the gradient's own (coalesced
    before, by clipping) for a caller that only reads it. Works on the gradient's rows only,
    never on a dense array; repeats are summed in the order they were recorded, as the dense
    embedding gradient sums them, so sparse and dense SGD agree bit for bit (see
    ``RowSparseGrad.coalesce``).
    """
    n = grad.indices.shape[0]
    if grad.values.shape[0] != n:
        raise ValueError(f"sparse gradient has {n} indices but {grad.values.shape[0]} value rows")
    coalesced = grad.coalesce()
    rows, values = coalesced.indices, coalesced.values
    num_rows = grad.shape[0]
    if rows.size and (rows[0] < 0 or rows[-1] >= num_rows):
        raise IndexError(f"sparse gradient row index out of range for {num_rows} rows")
    # Already coalesced, these are the gradient's own values: copied (once, in the new dtype).
    return rows, values.astype(dtype, copy=writable and coalesced is grad)
