"""Pruning (PyTorch's ``torch.nn.utils.prune``): masks that zero parts of a parameter.

Pruning ``module.<name>`` moves the parameter to ``<name>_orig``, registers the mask as the
buffer ``<name>_mask`` and makes ``module.<name>`` a plain attribute, ``<name>_mask *
<name>_orig``, recomputed by a forward pre-hook (the pruning method) before every call; so the
state-dict keys are ``<name>_orig`` and ``<name>_mask`` and gradients reach ``<name>_orig``.
Pruning again combines the masks in a ``PruningContainer``; ``remove`` makes the pruned value
the parameter again. The random methods draw from the global generator as PyTorch's do
(``rand_like``, ``rand``), so after ``manual_seed`` they choose the same entries.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np

from .. import _engine as dg
from .._engine.tensor import Tensor
from .convert_parameters import parameters_to_vector
from .module import Module
from .utils_norms import _forward_pre_hooks, _remove_forward_pre_hook

__all__ = ["BasePruningMethod", "CustomFromMask", "Identity", "L1Unstructured", "LnStructured",
           "PruningContainer", "RandomStructured", "RandomUnstructured", "custom_from_mask",
           "global_unstructured", "identity", "is_pruned", "l1_unstructured", "ln_structured",
           "random_structured", "random_unstructured", "remove"]


def _array(t: Tensor) -> np.ndarray:
    return t.detach().numpy()


def _validate_amount_init(amount) -> None:
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    integral = isinstance(amount, numbers.Integral)
    if (integral and amount < 0) or (not integral and not 0.0 <= float(amount) <= 1.0):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a "
                         "non-negative integer")


def _amount_to_prune(amount, size: int) -> int:
    """How many of ``size`` entries (or channels) ``amount`` prunes; checked against size."""
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(f"amount={amount} should be smaller than the number of parameters "
                             f"to prune={size}")
        return int(amount)
    return round(amount * size)


def _validate_structured(t: Tensor, dim: int) -> None:
    if t.dim() <= 1:
        raise ValueError(f"Structured pruning can only be applied to multidimensional tensors. "
                         f"Found tensor of shape {t.shape} with {t.dim()} dims")
    if dim >= t.dim():
        raise IndexError(f"Invalid index {dim} for tensor of size {t.shape}")


def _channel_mask(t: Tensor, dim: int, keep: np.ndarray, default_mask: Tensor) -> Tensor:
    """Ones over the kept channels (``keep``: indices or a boolean vector) of ``dim``, zeros
    elsewhere, times ``default_mask``."""
    mask = np.zeros(t.shape, dtype=_array(t).dtype)
    index = [slice(None)] * t.dim()
    index[dim] = keep
    mask[tuple(index)] = 1
    mask *= _array(default_mask).astype(mask.dtype)
    return dg.from_numpy(mask)


class BasePruningMethod:
    """A pruning method: ``compute_mask`` says which entries to keep; as a forward pre-hook,
    it sets ``module.<name>`` to ``<name>_mask * <name>_orig`` before every call."""

    PRUNING_TYPE: str | None = None
    _tensor_name: str | None = None

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self._tensor_name, self.apply_mask(module))

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """The new mask of ``t`` (the importance scores), within ``default_mask``."""
        raise NotImplementedError

    def apply_mask(self, module: Module) -> Tensor:
        """``<name>_mask * <name>_orig`` of ``module`` (differentiable in ``<name>_orig``)."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned")
        orig = getattr(module, self._tensor_name + "_orig")
        mask = getattr(module, self._tensor_name + "_mask")
        return mask.to(dtype=orig.dtype) * orig

    @classmethod
    def apply(cls, module: Module, name: str, *args, importance_scores: Tensor | None = None,
              **kwargs) -> BasePruningMethod:
        """Prune ``module.<name>`` with ``cls(*args, **kwargs)``, combined with any earlier
        pruning of that parameter; returns the method installed as the hook."""
        previous = [(key, hook) for key, hook in _forward_pre_hooks(module)
                    if isinstance(hook, BasePruningMethod) and hook._tensor_name == name]
        if len(previous) > 1:
            raise AssertionError(f"Avoid adding multiple pruning hooks to the same tensor "
                                 f"{name} of module {module}. Use a PruningContainer.")
        for key, _hook in previous:
            _remove_forward_pre_hook(module, key)
        # (made after the earlier hook is removed, as PyTorch's order is: invalid arguments
        # to a second pruning leave the tensor without its hook, is_pruned False)
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if previous:
            old = previous[0][1]
            container = old if isinstance(old, PruningContainer) else PruningContainer(old)
            container.add_pruning_method(method)
            method = container
        orig = getattr(module, name)
        if importance_scores is not None:
            if importance_scores.shape != orig.shape:
                raise AssertionError(f"importance_scores should have the same shape as "
                                     f"parameter {name} of {module}")
        else:
            importance_scores = orig
        if not isinstance(method, PruningContainer):
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = dg.ones_like(orig)
        else:
            default_mask = getattr(module, name + "_mask").detach().clone()
        try:
            mask = method.compute_mask(importance_scores.detach(), default_mask=default_mask)
            module.register_buffer(name + "_mask", mask)
            setattr(module, name, method.apply_mask(module))
            module.register_forward_pre_hook(method)
        except Exception:
            if not isinstance(method, PruningContainer):
                orig = getattr(module, name + "_orig")
                module.register_parameter(name, orig)
                del module._parameters[name + "_orig"]
            raise
        return method

    def prune(self, t: Tensor, default_mask: Tensor | None = None,
              importance_scores: Tensor | None = None) -> Tensor:
        """``t`` times the mask computed from ``importance_scores`` (``t`` if None)."""
        scores = t if importance_scores is None else importance_scores
        if scores.shape != t.shape:
            raise AssertionError("importance_scores should have the same shape as tensor t")
        default_mask = dg.ones_like(t) if default_mask is None else default_mask
        return t * self.compute_mask(scores.detach(), default_mask=default_mask)

    def remove(self, module: Module) -> None:
        """Make the pruned value ``module.<name>``'s parameter again (the mask and
        ``<name>_orig`` go away)."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned before pruning can be "
                                 "removed")
        weight = self.apply_mask(module)
        if self._tensor_name in module.__dict__:
            delattr(module, self._tensor_name)
        orig = module._parameters[self._tensor_name + "_orig"]
        orig.data = weight.data
        del module._parameters[self._tensor_name + "_orig"]
        delattr(module, self._tensor_name + "_mask")
        setattr(module, self._tensor_name, orig)


class PruningContainer(BasePruningMethod):
    """The pruning methods applied in turn to one parameter; each later method works only on
    what the earlier ones left (the unpruned entries, or the unpruned channels)."""

    def __init__(self, *args) -> None:
        self._pruning_methods: tuple = ()
        if len(args) == 1:
            self._tensor_name = args[0]._tensor_name
            self.add_pruning_method(args[0])
        else:
            for method in args:
                self.add_pruning_method(method)

    def add_pruning_method(self, method: BasePruningMethod) -> None:
        """Append ``method`` (it must prune the same parameter)."""
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError(f"Can only add pruning methods acting on the parameter named "
                             f"'{self._tensor_name}' to PruningContainer {self}. Found "
                             f"'{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """The last method's mask, computed on the part ``default_mask`` leaves."""
        method = self._pruning_methods[-1]
        mask = _array(default_mask).astype(_array(t).dtype)
        if method.PRUNING_TYPE == "unstructured":
            index = mask == 1
        elif method.PRUNING_TYPE == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError("Pruning methods of PRUNING_TYPE 'structured' need to "
                                     "have the attribute `dim` defined.")
            dim = method.dim + t.dim() if method.dim < 0 else method.dim
            if dim < 0:
                raise IndexError(f"Index is out of bounds for tensor of size {t.shape}")
            others = tuple(d for d in range(t.dim()) if d != dim)
            keep = mask.sum(axis=others) != 0
            index = [slice(None)] * t.dim()
            index[dim] = keep
            index = tuple(index)
        elif method.PRUNING_TYPE == "global":
            index = (slice(None),) * t.dim()
        else:
            raise ValueError(f"Unrecognized PRUNING_TYPE {method.PRUNING_TYPE}")
        part = method.compute_mask(dg.from_numpy(np.ascontiguousarray(_array(t)[index])),
                                   default_mask=dg.from_numpy(np.ascontiguousarray(mask[index])))
        mask = mask.copy()
        mask[index] = _array(part).astype(mask.dtype)
        return dg.from_numpy(mask)


class Identity(BasePruningMethod):
    """Prunes nothing: the mask is all ones."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        return default_mask

    @classmethod
    def apply(cls, module: Module, name: str) -> Identity:
        return super().apply(module, name)


class _UnstructuredAmount(BasePruningMethod):
    """Prunes ``amount`` entries (a fraction in [0, 1] or a count): those ``_pruned`` picks."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount) -> None:
        _validate_amount_init(amount)
        self.amount = amount

    def _pruned(self, t: Tensor, count: int) -> Tensor:
        raise NotImplementedError

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        count = _amount_to_prune(self.amount, t.numel())
        mask = _array(default_mask).copy()
        if count:
            mask.reshape(-1)[_array(self._pruned(t, count))] = 0
        return dg.from_numpy(mask)


class RandomUnstructured(_UnstructuredAmount):
    """Prunes ``amount`` entries chosen at random (a fraction in [0, 1] or a count)."""

    def _pruned(self, t: Tensor, count: int) -> Tensor:
        return dg.topk(dg.rand_like(t).view(-1), k=count).indices

    @classmethod
    def apply(cls, module: Module, name: str, amount) -> RandomUnstructured:
        return super().apply(module, name, amount=amount)


class L1Unstructured(_UnstructuredAmount):
    """Prunes the ``amount`` entries of smallest absolute value (importance)."""

    def _pruned(self, t: Tensor, count: int) -> Tensor:
        return dg.topk(dg.abs(t).view(-1), k=count, largest=False).indices

    @classmethod
    def apply(cls, module: Module, name: str, amount,
              importance_scores: Tensor | None = None) -> L1Unstructured:
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    """Prunes ``amount`` channels along ``dim``, chosen at random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim: int = -1) -> None:
        _validate_amount_init(amount)
        self.amount, self.dim = amount, dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        _validate_structured(t, self.dim)
        size = t.shape[self.dim]
        count = _amount_to_prune(self.amount, size)
        if count == 0:
            return default_mask
        scores = dg.rand(size)
        threshold = dg.kthvalue(scores, k=count).values
        return _channel_mask(t, self.dim, _array(scores > threshold), default_mask)

    @classmethod
    def apply(cls, module: Module, name: str, amount, dim: int = -1) -> RandomStructured:
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prunes the ``amount`` channels along ``dim`` of smallest ``n``-norm."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim: int = -1) -> None:
        _validate_amount_init(amount)
        self.amount, self.n, self.dim = amount, n, dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        _validate_structured(t, self.dim)
        size = t.shape[self.dim]
        count = _amount_to_prune(self.amount, size)
        if count == 0:
            return default_mask
        dims = list(range(t.dim()))
        dims.remove(dims[self.dim])
        norms = dg.norm(t, p=self.n, dim=dims)
        keep = dg.topk(norms, k=size - count, largest=True).indices
        return _channel_mask(t, self.dim, _array(keep), default_mask)

    @classmethod
    def apply(cls, module: Module, name: str, amount, n, dim,
              importance_scores: Tensor | None = None) -> LnStructured:
        return super().apply(module, name, amount=amount, n=n, dim=dim,
                             importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes where the given mask is zero."""

    PRUNING_TYPE = "global"

    def __init__(self, mask: Tensor) -> None:
        self.mask = mask

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        if default_mask.shape != self.mask.shape:
            raise AssertionError(f"mask of shape {tuple(self.mask.shape)} does not match the "
                                 f"parameter's shape {tuple(default_mask.shape)}")
        return default_mask * self.mask.to(dtype=default_mask.dtype)

    @classmethod
    def apply(cls, module: Module, name: str, mask: Tensor) -> CustomFromMask:
        return super().apply(module, name, mask=mask)


# ----------------------------------------------------------------------------------------------
# The functional forms (each returns the module).

def identity(module: Module, name: str) -> Module:
    """Prune nothing, but put the ``<name>_orig`` / ``<name>_mask`` (all ones) form in place."""
    Identity.apply(module, name)
    return module


def random_unstructured(module: Module, name: str, amount) -> Module:
    """Prune ``amount`` random entries of ``module.<name>`` (a fraction or a count)."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module: Module, name: str, amount,
                    importance_scores: Tensor | None = None) -> Module:
    """Prune the ``amount`` entries of ``module.<name>`` of smallest absolute value (of
    ``importance_scores`` if given)."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module: Module, name: str, amount, dim: int) -> Module:
    """Prune ``amount`` random channels of ``module.<name>`` along ``dim``."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module: Module, name: str, amount, n, dim: int,
                  importance_scores: Tensor | None = None) -> Module:
    """Prune the ``amount`` channels along ``dim`` of smallest ``n``-norm."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module: Module, name: str, mask: Tensor) -> Module:
    """Prune ``module.<name>`` where ``mask`` is zero."""
    CustomFromMask.apply(module, name, mask=mask)
    return module


def global_unstructured(parameters: Iterable, pruning_method: type, importance_scores=None,
                        **kwargs) -> None:
    """Prune the ``(module, name)`` pairs of ``parameters`` together, as one vector, with an
    unstructured ``pruning_method`` class built from ``kwargs`` (e.g. ``amount``).

    Raises:
        TypeError: for non-iterable parameters, a non-dict ``importance_scores`` or a method
            that is not unstructured.
    """
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    scores = parameters_to_vector([importance_scores.get((module, name), getattr(module, name))
                                   for module, name in parameters]).detach()
    default_mask = parameters_to_vector([
        getattr(module, name + "_mask", dg.ones_like(getattr(module, name)))
        for module, name in parameters])
    container = PruningContainer()
    container._tensor_name = "temp"
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. '
                        f"Found method {pruning_method} of type {method.PRUNING_TYPE}")
    container.add_pruning_method(method)
    final_mask = container.compute_mask(scores, default_mask.detach())
    start = 0
    for module, name in parameters:
        param = getattr(module, name)
        custom_from_mask(module, name, mask=final_mask[start:start + param.numel()].view_as(param))
        start += param.numel()


def remove(module: Module, name: str) -> Module:
    """Make the pruned ``module.<name>`` a parameter again, holding the pruned value.

    Raises:
        ValueError: if ``module.<name>`` is not pruned.
    """
    for key, hook in _forward_pre_hooks(module):
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            _remove_forward_pre_hook(module, key)
            return module
    raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning "
                     "can be removed")


def is_pruned(module: Module) -> bool:
    """Whether ``module`` or one of its submodules has a pruning hook."""
    return any(isinstance(hook, BasePruningMethod)
               for _, sub in module.named_modules() for _, hook in _forward_pre_hooks(sub))
