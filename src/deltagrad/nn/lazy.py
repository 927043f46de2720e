"""Lazy modules: parameters whose shape is inferred from the first input (PyTorch's
``UninitializedParameter``, ``UninitializedBuffer``, ``LazyModuleMixin``, ``LazyLinear``, the
lazy convolutions and the lazy batch and instance norms).

An uninitialized parameter is an empty tensor of a Tensor subclass, marked as a parameter; its
``materialize(shape)`` gives it storage of that shape and turns it, in place (same object, so
optimizers built earlier keep it), into an ordinary parameter. A lazy module's first forward
infers the shapes, materializes, initializes as its eager class does, then becomes that class
(``LazyLinear`` -> ``Linear``). Loading a state dict into a lazy module materializes it too.

Difference from PyTorch: PyTorch refuses every operation on an uninitialized tensor with a
ValueError; here ops see an empty tensor, which fails with a shape error (a ValueError too)
in matmul, linear and convolution, but not in every op (``w * 2`` gives an empty tensor);
reading its size (``numel``, ``dim``, ``len``, ...) raises PyTorch's ValueError.
"""

from __future__ import annotations

import itertools

import numpy as np

from .._engine import no_grad
from .._engine.api.creation import from_numpy
from .._engine.device import check_device
from .._engine.tensor import Tensor
from ._factory import parameter_dtype
from .buffer import buffer_persistence, mark_buffer
from .conv import Conv1d
from .conv2d import Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .layers import Linear
from .module import Parameter, _mark_parameter, _ParameterType
from .norm2d import BatchNorm2d, BatchNorm3d, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from .normalization import BatchNorm1d

__all__ = ["LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyConv1d", "LazyConv2d",
           "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d",
           "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d", "LazyLinear",
           "LazyModuleMixin", "UninitializedBuffer", "UninitializedParameter", "is_lazy"]

_SHAPE_ERROR = ("Can't access the shape of an uninitialized parameter or buffer. This error "
                "usually happens in `load_state_dict` when trying to load an uninitialized "
                "parameter into an initialized one. Call `forward` to initialize the parameters "
                "before accessing their attributes.")


def is_lazy(param) -> bool:
    """Whether ``param`` is an uninitialized parameter or buffer (PyTorch's
    ``torch.nn.parameter.is_lazy``)."""
    return getattr(type(param), "_is_uninitialized", False)


class _UninitializedTensorMixin:
    """What uninitialized parameters and buffers share: ``materialize`` and the refusals."""

    __slots__ = ()  # the same layout as Tensor, so that materialize can change the class back
    _is_uninitialized = True

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give the tensor storage of ``shape`` (zeros; the lazy module initializes it next)
        and make it an ordinary parameter or buffer, in place.

        Args:
            shape: the new shape.
            device: None or the CPU.
            dtype: the dtype (by default the one given at construction).
        """
        check_device(device, f"{type(self).__name__}.materialize")
        dtype = self._data.dtype if dtype is None else parameter_dtype(dtype)
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)
        self._data = np.zeros(shape, dtype=dtype)
        self.__class__ = Tensor  # parameters and buffers are plain (marked) Tensors here

    @property
    def shape(self):
        raise RuntimeError(_SHAPE_ERROR)

    def size(self, dim=None):
        raise RuntimeError(_SHAPE_ERROR)

    # What a program reads of a parameter without computing with it refuses, as PyTorch's
    # (which refuses every op): ``sum(p.numel() for p in model.parameters())`` before the
    # first forward raises rather than counting 0 (session 27, PR13)
    def _refuse(self, *args, **kwargs):
        raise ValueError(f"Attempted to use an uninitialized parameter in {type(self).__name__}"
                         ". This error happens when you are using a `LazyModule` or explicitly "
                         "manipulating it: call `forward` with a dummy batch to initialize the "
                         "parameters first.")

    numel = nelement = dim = __len__ = tolist = data_ptr = element_size = _refuse
    stride = storage_offset = is_contiguous = item = _refuse

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __reduce_ex__(self, protocol):
        # (copy.deepcopy of a lazy module: a fresh uninitialized tensor of the same kind)
        return _rebuild_uninitialized, (type(self), self.requires_grad, self._data.dtype,
                                        buffer_persistence(self))


def _rebuild_uninitialized(cls, requires_grad, dtype, persistent):
    if cls is UninitializedParameter:
        return UninitializedParameter(requires_grad, dtype=dtype)
    return UninitializedBuffer(requires_grad, dtype=dtype, persistent=persistent)


def _empty(cls, requires_grad: bool, device, dtype) -> Tensor:
    check_device(device, cls.__name__)
    tensor = object.__new__(cls)
    Tensor.__init__(tensor, np.empty(0), dtype=parameter_dtype(dtype, None, cls.__name__))
    if requires_grad:
        tensor.requires_grad_(True)
    return tensor


class _UninitializedParameterType(_ParameterType):
    # Parameters answer isinstance from their mark; uninitialized ones are real instances.
    def __instancecheck__(cls, obj) -> bool:
        return type.__instancecheck__(cls, obj)


class UninitializedParameter(_UninitializedTensorMixin, Parameter,
                             metaclass=_UninitializedParameterType):
    """A parameter whose shape is not known yet (PyTorch's ``nn.UninitializedParameter``).

    ``isinstance(p, nn.Parameter)`` is true, so assigning it to a Module attribute registers
    it; ``p.materialize(shape)`` gives it storage, after which it is an ordinary parameter.
    Reading its ``shape`` raises RuntimeError, as in PyTorch.

    Args:
        requires_grad: whether the parameter will be trained.
        device: None or the CPU.
        dtype: its floating dtype (the default dtype if None).
    """

    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        return _mark_parameter(_empty(cls, requires_grad, device, dtype))

    def __init__(self, *args, **kwargs) -> None:
        pass  # (built by __new__; Tensor.__init__ must not run again)


class UninitializedBuffer(_UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet (PyTorch's ``nn.UninitializedBuffer``);
    assigning it to a Module attribute registers a buffer (persistent as given)."""

    __slots__ = ()
    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None,
                persistent: bool = True):
        return mark_buffer(_empty(cls, requires_grad, device, dtype), persistent)

    def __init__(self, *args, **kwargs) -> None:
        pass


class LazyModuleMixin:
    """Makes a module lazy (PyTorch's ``nn.modules.lazy.LazyModuleMixin``): put it first in
    the bases of a module whose parameters are ``UninitializedParameter``s, and define
    ``initialize_parameters(*args, **kwargs)``, which materializes them from the first input.

    The first call runs ``initialize_parameters``, then the module becomes ``cls_to_become``
    (if set). Loading a state dict materializes the parameters with the loaded shapes.
    """

    cls_to_become: type | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._load_hook = self._register_load_state_dict_pre_hook(self._lazy_load_hook)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters,
                                                               with_kwargs=True)

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        # Uninitialized tensors are saved as they are (a detached copy would lose the kind).
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = (param if is_lazy(param) or keep_vars
                                              else param.detach())
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent:
                destination[prefix + name] = (buffer if is_lazy(buffer) or keep_vars
                                              else buffer.detach())

    def _lazy_load_hook(self, state_dict, prefix, local_metadata, strict, missing_keys,
                        unexpected_keys, error_msgs) -> None:
        for name, tensor in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            if key in state_dict and tensor is not None and is_lazy(tensor):
                value = state_dict[key]
                if not is_lazy(value):
                    shape = value.shape if isinstance(value, Tensor) else np.shape(value)
                    with no_grad():
                        tensor.materialize(shape)

    def initialize_parameters(self, *args, **kwargs) -> None:
        """Materialize and initialize the parameters from the first call's arguments."""
        raise NotImplementedError(f"initialize_parameters is not implemented for "
                                  f"{type(self).__name__}")

    def has_uninitialized_params(self) -> bool:
        """Whether any parameter or buffer of this module is still uninitialized."""
        return any(is_lazy(tensor) for tensor in itertools.chain(self._parameters.values(),
                                                                  self._buffers.values()))

    def _infer_parameters(self, module, args, kwargs=None) -> None:
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {type(self).__name__} has not been fully initialized")
        module._initialize_hook.remove()
        module._load_hook.remove()
        del module._initialize_hook
        del module._load_hook
        hooks = module.__dict__.get("_hooks")
        if hooks is not None and not (hooks.forward_pre or hooks.forward or hooks.backward
                                      or hooks.backward_pre):
            # back on Module.__call__'s fast path (the class attribute: None, or the empty
            # hooks that send every module to the hook path while a global hook is registered)
            module.__dict__.pop("_hooks", None)
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become


class LazyLinear(LazyModuleMixin, Linear):
    """``Linear`` whose ``in_features`` is the last dimension of the first input (PyTorch's
    ``nn.LazyLinear``); it becomes a ``Linear`` after that call.

    Args:
        out_features: size of each output sample.
        bias: learn an additive bias.
        device: None or the CPU.
        dtype: the parameters' dtype (the default dtype if None).

    >>> import deltagrad as dg
    >>> layer = dg.nn.LazyLinear(2)
    >>> layer(dg.ones(4, 3)).shape, type(layer).__name__, layer.weight.shape
    (deltagrad.Size([4, 2]), 'Linear', deltagrad.Size([2, 3]))
    """

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(0, 0, False)
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_features = int(out_features)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self, generator=None) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters(generator)

    def initialize_parameters(self, input, *args, **kwargs) -> None:
        """Set ``in_features`` from ``input.shape[-1]``, materialize and initialize (after a
        ``load_state_dict``, only set ``in_features``)."""
        if self.has_uninitialized_params():
            with no_grad():
                self.in_features = int(input.shape[-1])
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()
        if self.in_features == 0:  # materialized by load_state_dict: take it from the weight
            if input.shape[-1] != self.weight.shape[-1]:
                raise AssertionError(f"The in_features inferred from input: {input.shape[-1]} "
                                     "is not equal to in_features from self.weight: "
                                     f"{self.weight.shape[-1]}")
            self.in_features = int(input.shape[-1])


class _LazyConvMixin(LazyModuleMixin):
    """What the lazy convolutions share: ``in_channels`` from the first input."""

    _lazy_spatial = 1

    def reset_parameters(self, generator=None) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters(generator)

    def initialize_parameters(self, input, *args, **kwargs) -> None:
        """Set ``in_channels`` from the input (``[N, C, *spatial]`` or ``[C, *spatial]``),
        materialize and initialize.

        Raises:
            RuntimeError: the input has the wrong number of dimensions.
            ValueError: ``in_channels`` is not divisible by ``groups``.
        """
        if not self.has_uninitialized_params():
            return
        n = self._lazy_spatial
        if input.ndim not in (n + 1, n + 2):
            raise RuntimeError(f"Expected {n + 1}D (unbatched) or {n + 2}D (batched) input to "
                               f"{type(self).__name__}, but got input of size: "
                               f"{list(input.shape)}")
        self.in_channels = int(input.shape[1] if input.ndim == n + 2 else input.shape[0])
        if self.in_channels % self.groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if getattr(self, "transposed", False):
            shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        else:
            shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        with no_grad():
            self.weight.materialize(shape)
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()

    def _lazy_parameters(self, out_channels: int, bias: bool, device, dtype) -> None:
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)


class _LazyConv(_LazyConvMixin):
    """The lazy ``Conv1d/2d/3d``: their arguments without ``in_channels``."""

    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None,
                 dtype=None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False,
                         padding_mode, device=device, dtype=dtype)
        self._lazy_parameters(out_channels, bias, device, dtype)


class _LazyConvTranspose(_LazyConvMixin):
    """The lazy ``ConvTranspose1d/2d/3d``: their arguments without ``in_channels``."""

    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False,
                         dilation, padding_mode, device=device, dtype=dtype)
        self._lazy_parameters(out_channels, bias, device, dtype)


class LazyConv1d(_LazyConv, Conv1d):
    """``Conv1d`` whose ``in_channels`` comes from the first input; it becomes a ``Conv1d``
    after that call (PyTorch's ``nn.LazyConv1d``). Arguments as ``Conv1d`` without
    ``in_channels``."""

    cls_to_become = Conv1d
    _lazy_spatial = 1


class LazyConv2d(_LazyConv, Conv2d):
    """``Conv2d`` whose ``in_channels`` comes from the first input; it becomes a ``Conv2d``
    after that call (PyTorch's ``nn.LazyConv2d``). Arguments as ``Conv2d`` without
    ``in_channels``."""

    cls_to_become = Conv2d
    _lazy_spatial = 2


class LazyConv3d(_LazyConv, Conv3d):
    """``Conv3d`` whose ``in_channels`` comes from the first input; it becomes a ``Conv3d``
    after that call (PyTorch's ``nn.LazyConv3d``). Arguments as ``Conv3d`` without
    ``in_channels``."""

    cls_to_become = Conv3d
    _lazy_spatial = 3


class LazyConvTranspose1d(_LazyConvTranspose, ConvTranspose1d):
    """``ConvTranspose1d`` whose ``in_channels`` comes from the first input; it becomes a
    ``ConvTranspose1d`` after that call (PyTorch's ``nn.LazyConvTranspose1d``). Arguments as
    ``ConvTranspose1d`` without ``in_channels``."""

    cls_to_become = ConvTranspose1d
    _lazy_spatial = 1


class LazyConvTranspose2d(_LazyConvTranspose, ConvTranspose2d):
    """``ConvTranspose2d`` whose ``in_channels`` comes from the first input; it becomes a
    ``ConvTranspose2d`` after that call (PyTorch's ``nn.LazyConvTranspose2d``). Arguments as
    ``ConvTranspose2d`` without ``in_channels``."""

    cls_to_become = ConvTranspose2d
    _lazy_spatial = 2


class LazyConvTranspose3d(_LazyConvTranspose, ConvTranspose3d):
    """``ConvTranspose3d`` whose ``in_channels`` comes from the first input; it becomes a
    ``ConvTranspose3d`` after that call (PyTorch's ``nn.LazyConvTranspose3d``). Arguments as
    ``ConvTranspose3d`` without ``in_channels``."""

    cls_to_become = ConvTranspose3d
    _lazy_spatial = 3


class _LazyNormMixin(LazyModuleMixin):
    """Lazy batch and instance norms: ``num_features`` is ``input.shape[1]`` of the first input
    (as PyTorch, also for an unbatched instance-norm input). NOTE: the defaults are PyTorch's
    for all of them, ``affine=True`` and ``track_running_stats=True`` for the instance norms
    too (unlike ``InstanceNorm1d``'s)."""

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *,
                 bias: bool = True) -> None:
        super().__init__(0, eps, momentum, False, False, device=device, dtype=dtype,
                         bias=False)
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            self.num_batches_tracked = from_numpy(np.zeros((), dtype=np.int64))

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs) -> None:
        """Set ``num_features`` from ``input.shape[1]``, materialize and initialize."""
        if not self.has_uninitialized_params():
            return
        self.num_features = int(input.shape[1])
        with no_grad():
            for tensor in (self.weight, self.bias, self.running_mean, self.running_var):
                if tensor is not None:
                    tensor.materialize((self.num_features,))
            self.reset_parameters()


class LazyBatchNorm1d(_LazyNormMixin, BatchNorm1d):
    """``BatchNorm1d`` whose ``num_features`` comes from the first input; it becomes a
    ``BatchNorm1d`` after that call (PyTorch's ``nn.LazyBatchNorm1d``)."""

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyNormMixin, BatchNorm2d):
    """``BatchNorm2d`` whose ``num_features`` comes from the first input; it becomes a
    ``BatchNorm2d`` after that call (PyTorch's ``nn.LazyBatchNorm2d``)."""

    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyNormMixin, BatchNorm3d):
    """``BatchNorm3d`` whose ``num_features`` comes from the first input; it becomes a
    ``BatchNorm3d`` after that call (PyTorch's ``nn.LazyBatchNorm3d``)."""

    cls_to_become = BatchNorm3d


class LazyInstanceNorm1d(_LazyNormMixin, InstanceNorm1d):
    """``InstanceNorm1d`` whose ``num_features`` comes from the first input; it becomes a
    ``InstanceNorm1d`` after that call (PyTorch's ``nn.LazyInstanceNorm1d``)."""

    cls_to_become = InstanceNorm1d


class LazyInstanceNorm2d(_LazyNormMixin, InstanceNorm2d):
    """``InstanceNorm2d`` whose ``num_features`` comes from the first input; it becomes a
    ``InstanceNorm2d`` after that call (PyTorch's ``nn.LazyInstanceNorm2d``)."""

    cls_to_become = InstanceNorm2d


class LazyInstanceNorm3d(_LazyNormMixin, InstanceNorm3d):
    """``InstanceNorm3d`` whose ``num_features`` comes from the first input; it becomes a
    ``InstanceNorm3d`` after that call (PyTorch's ``nn.LazyInstanceNorm3d``)."""

    cls_to_become = InstanceNorm3d
