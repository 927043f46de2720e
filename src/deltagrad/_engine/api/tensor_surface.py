"""The rest of PyTorch's Tensor names: Python protocols (``deepcopy``, ``reversed``,
``complex``, ``del x[i]``), the legacy spellings (``resize``, ``set_``, ``volatile``,
``output_nr``), the sparse and quantized accessors on a dense tensor (which raise there, as in
PyTorch), and the functions PyTorch has removed (which raise PyTorch's error rather than an
AttributeError). Importing the module attaches them to ``Tensor``."""

from __future__ import annotations

import copy
import numbers
import sys
import warnings

import numpy as np

from .. import dtypes, printing, versions
from ..autograd import _counters, _GradMode
from ..errors import _PACKAGE, warn_at_caller
from ..tensor import Tensor, _leaf, tensor_method
from .creation import preserve_format
from .strided import _distinct_uncached

__all__: list[str] = []


_DEEPCOPY_LEAVES_ONLY = (
    "Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol "
    "at the moment.  If you were attempting to deepcopy a module, this may be because of a "
    "torch.nn.utils.weight_norm usage, see https://github.com/pytorch/pytorch/pull/103001")


def _deepcopy(self, memo):
    # PyTorch's rules: a non-leaf refuses; an nn.Parameter's copy is a Parameter of the same
    # requires_grad with a clone of the values and no .grad (Parameter.__deepcopy__); any other
    # leaf is copied with its gradient, as Python's default copy of the slots does.
    if self._op is not None:
        raise RuntimeError(_DEEPCOPY_LEAVES_ONLY)
    if id(self) in memo:
        return memo[id(self)]
    if type(self) is Tensor and printing.is_parameter(self):
        result = _leaf(self._data.copy())
        if self._rg:
            result.requires_grad_(True)
        printing.mark_parameter(result)
    else:
        _copy_storage_once(self._data, memo)
        # (copy.deepcopy's own path, from the class's __reduce_ex__ as it would have taken
        # without this method: subclasses keep their reduce, slots and __dict__ are copied)
        result = copy._reconstruct(self, memo, *self.__reduce_ex__(4))
        if self._grad is not None:  # (the state leaves it behind, as pickle's: _getstate)
            result._grad = copy.deepcopy(self._grad, memo)
    memo[id(self)] = result
    return result


Tensor.__deepcopy__ = _deepcopy
_slots_state = Tensor.__getstate__


def _getstate(self):
    # PyTorch's pickle (and torch.save) and copy.copy of a leaf leave its .grad behind (None
    # in the copy); deepcopy keeps a copy of it (_deepcopy puts it back).
    state = _slots_state(self)
    if self._grad is not None and type(state) is tuple:
        state = (state[0], {**state[1], "_grad": None})
    return state


Tensor.__getstate__ = _getstate


def _copy_storage_once(data, memo) -> None:
    """Puts in ``memo`` the copy of a view's array as a view of its storage's one copy, so that
    tensors deep-copied together keep sharing memory, as PyTorch's (its deepcopy copies each
    storage once: ``copy.deepcopy([x, x[2:]])`` gives a view of the copied ``x``; NumPy's copies
    each view apart). A storage is the view's root array (versions.py)."""
    if type(data) is not np.ndarray or data.base is None or id(data) in memo:
        return
    root = data
    while type(root.base) is np.ndarray:
        root = root.base
    if not (root.flags.c_contiguous or root.flags.f_contiguous):
        return  # (no buffer to lay the view over: copied on its own, as before)
    root_copy = memo.get(id(root))
    if root_copy is None:
        root_copy = memo[id(root)] = copy.deepcopy(root, memo)
    if root_copy.strides != root.strides:
        return
    offset = data.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    memo[id(data)] = np.ndarray(data.shape, data.dtype, buffer=root_copy, offset=offset,
                                strides=data.strides)


# PyTorch 2.13 warns once per process (its TORCH_WARN_ONCE: the first such call warns,
# whatever the warning filters make of it, and no later one) when float() or complex()
# converts a tensor that requires grad; int(), bool() and item() do not. Only a conversion
# asked for outside deltagrad warns: deltagrad's own Python code converts where PyTorch's C++
# does, without a warning (NOTE: so ReduceLROnPlateau's float(metrics), Python in PyTorch
# too, does not warn here).
_SCALAR_OF_GRAD = ("Converting a tensor with requires_grad=True to a scalar may lead to "
                   "unexpected behavior.\nConsider using tensor.detach() first.")
_SCALAR_WARNED = [False]


def _warn_scalar_of_grad() -> None:
    if not sys._getframe(2).f_code.co_filename.startswith(_PACKAGE):  # (float(t)'s caller)
        _SCALAR_WARNED[0] = True
        warn_at_caller(_SCALAR_OF_GRAD)


def _float(self) -> float:
    if self._rg and not _SCALAR_WARNED[0]:
        _warn_scalar_of_grad()
    return float(_real_one(self, "double"))


def _int(self) -> int:
    value = _real_one(self, "int64_t")
    if isinstance(value, complex):  # (PyTorch: only finite values in int64's range convert)
        if not (np.isfinite(value.real) and -2.0 ** 63 <= value.real < 2.0 ** 63):
            raise RuntimeError("value cannot be converted to type int64_t without overflow")
        value = value.real
    return int(value)


def _real_one(self, ctype: str):
    """The one element; of a complex tensor (still a complex) only when its imaginary part is
    0, as PyTorch's float() / int() (which then give the real part), else its RuntimeError."""
    value = self._one()
    if isinstance(value, complex) and value.imag != 0:  # (a nan imaginary part too)
        raise RuntimeError(f"value cannot be converted to type {ctype} without overflow")
    return value.real if isinstance(value, complex) and ctype == "double" else value


def _complex(self) -> complex:
    if self._rg and not _SCALAR_WARNED[0]:
        _warn_scalar_of_grad()
    return complex(float(self._one()) if self._data.dtype.kind != "c" else self.item())


def _reversed(self) -> Tensor:
    """The tensor flipped along dim 0 (``reversed(t)``); a 0-d tensor is returned as it is."""
    return self if self.ndim == 0 else self.flip(0)


def _delitem(self, index) -> None:
    raise TypeError("Tensor does not support deleting items")


Tensor.__float__ = _float
Tensor.__int__ = _int
Tensor.__complex__ = _complex
Tensor.__reversed__ = _reversed
Tensor.__delitem__ = _delitem
# Python 2's names, which PyTorch still answers to.
Tensor.__long__ = Tensor.__int__
Tensor.__nonzero__ = Tensor.__bool__
Tensor.__div__ = Tensor.__truediv__
Tensor.__rdiv__ = Tensor.__rtruediv__
Tensor.__idiv__ = Tensor.__itruediv__
Tensor._grad_fn = property(lambda self: self.grad_fn, doc="``grad_fn`` (PyTorch's slot name).")
Tensor.name = property(lambda self: None, doc="Always None (PyTorch's legacy attribute).")


def _backward_hooks(self):
    """The tensor's gradient hooks as an ordered dict (None when it has none), as PyTorch's
    ``_backward_hooks``; read-only here (register_hook and its handle change them)."""
    hooks = [h for h in (self._hooks or ())
             if type(h).__name__ not in ("_NodePrehook", "_GradDtypeCast")]  # (not the user's)
    return dict(enumerate(hooks)) if hooks else None


Tensor._backward_hooks = property(_backward_hooks)


def _volatile(self) -> bool:
    warn_at_caller("volatile was removed (Variable.volatile is always False)")
    return False


def _set_volatile(self, value) -> None:  # (2017 DQN code sets it: PyTorch warns, ignores it)
    warn_at_caller("volatile was removed and now has no effect. Use `with torch.no_grad():` "
                   "instead.")


Tensor.volatile = property(_volatile, _set_volatile)


def _output_nr(self) -> int:
    """The index of this tensor among its node's outputs: 0, as every deltagrad node (a
    ``grad_fn``) has exactly one output, the tensor itself (``unbind``'s parts are one node
    each), and a leaf is the one output of its ``AccumulateGrad``."""
    return 0


Tensor.output_nr = property(_output_nr)


@tensor_method
def chalf(self, memory_format=preserve_format) -> Tensor:
    """``self.to(complex32)``: refused with a TypeError (NumPy has no complex32)."""
    return self.to(dtypes.complex32)


@tensor_method
def resize(self, *sizes) -> Tensor:
    """The deprecated out-of-place resize (it warns, as PyTorch's): a reshape that must keep the
    number of elements, differentiable."""
    warnings.warn("non-inplace resize is deprecated", UserWarning, stacklevel=2)
    return _resize(self, sizes)


@tensor_method
def resize_as(self, tensor) -> Tensor:
    """The deprecated out-of-place ``resize`` to ``tensor``'s shape (it warns)."""
    warnings.warn("non-inplace resize_as is deprecated", UserWarning, stacklevel=2)
    return _resize(self, tuple(tensor.shape))


def _resize(self, sizes) -> Tensor:
    if not all(isinstance(s, numbers.Integral) for s in sizes):
        raise RuntimeError(f"resize: sizes must be ints, got {sizes}")
    count = 1
    for s in sizes:
        count *= s
    if count != self.numel():
        raise RuntimeError(
            f"requested resize to {'x'.join(map(str, sizes))} ({count} elements in total), but "
            f"the given tensor has a size of {'x'.join(map(str, self.shape))} ({self.numel()} "
            "elements). autograd's resize can only change the shape of a given tensor, while "
            "preserving the number of elements. ")
    return self.reshape(sizes) if self._rg else self.clone().reshape(sizes)


@tensor_method(name="set_")
def set_(self, source=None, storage_offset=None, size=None, stride=None) -> Tensor:
    """PyTorch's ``set_``: with no argument ``self`` becomes an empty tensor; with a tensor it
    takes that tensor's values, shape and memory (they share it from then on).

    A leaf that requires grad refuses (as any in-place op on it); a storage source, or an
    offset, size or stride, raise NotImplementedError."""
    if self._op is None and self._rg and _grad_mode_enabled():
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    node = self  # (a view of such a leaf too, as PyTorch: it went through; s28 SL18)
    while self._rg and _grad_mode_enabled() and node._inputs and versions.is_view(node):
        node = node._inputs[0]
        if node._op is None and node._rg:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in "
                               "an in-place operation.")
    if source is None and storage_offset is None and size is None and stride is None:
        return _rebind(self, np.empty(0, dtype=self._data.dtype))
    if (not isinstance(source, Tensor) or storage_offset is not None or size is not None
            or stride is not None):
        return _rebind(self, _storage_view(self, source, storage_offset, size, stride))
    if source.dtype != self.dtype:
        raise RuntimeError(f"Could not set tensor of type {source.dtype} to a tensor of type "
                           f"{self.dtype}")
    return _rebind(self, source._data.view())


def _storage_view(self, source, offset, size, stride) -> np.ndarray:
    """``set_(storage or tensor, offset, size, stride)``'s array: ``size`` / ``stride`` (in
    elements of ``self``'s dtype: the bytes are reinterpreted, as PyTorch's untyped storage)
    over the memory block of ``source`` from element ``offset``; the whole block as 1-d
    without a size. A view past the block's end raises (PyTorch grows the storage, in place
    for every tensor sharing it: not done here). (s28 SL18)"""
    from .storage import TypedStorage, UntypedStorage, _block
    if isinstance(source, Tensor):
        raw = _block(source._data)
    elif isinstance(source, UntypedStorage) and isinstance(source._bytes, np.ndarray):
        raw = source._bytes
    elif isinstance(source, TypedStorage):
        raw = _block(source._values)
    else:
        raise NotImplementedError(f"Tensor.set_: a source of type {type(source).__name__} is "
                                  "not supported")
    itemsize = self._data.itemsize
    offset = 0 if offset is None else int(offset)
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    shape = (raw.size // itemsize - offset,) if size is None else tuple(int(n) for n in size)
    if any(n < 0 for n in shape):
        raise RuntimeError(f"set_: negative size in {list(shape)}")
    if stride is None:
        steps, step = [], 1
        for n in reversed(shape):
            steps.insert(0, step)
            step *= max(n, 1)
    else:
        steps = [int(k) for k in stride]
    if len(steps) != len(shape) or any(k < 0 for k in steps):
        raise RuntimeError(f"set_: the stride {list(steps)} does not fit the size {list(shape)}")
    end = offset + (sum((n - 1) * k for n, k in zip(shape, steps)) + 1 if 0 not in shape else 0)
    if end * itemsize > raw.size:
        raise RuntimeError(f"set_: a view of size {list(shape)}, stride {list(steps)} and "
                           f"offset {offset} needs {end * itemsize} bytes, the storage has "
                           f"{raw.size}: deltagrad does not grow a storage (PyTorch does)")
    array = np.ndarray(shape, self._data.dtype, raw, offset * itemsize,
                       tuple(k * itemsize for k in steps))
    if not raw.flags.writeable or not _distinct_uncached(shape, tuple(steps)):
        array.flags.writeable = False  # (deltagrad's mark of shared elements)
    return array


def _rebind(self, array) -> Tensor:
    # A view of the new memory with a counter of its own, counted as changed once (PyTorch's
    # set_ is an in-place op: version 1): a graph that saved this tensor then refuses to use
    # it, and the source's graphs are untouched.
    self._data = versions.own_counter(array)
    versions.bump(self._data, _counters.created)
    return self


def _grad_mode_enabled() -> bool:
    return _GradMode.enabled


@tensor_method
def storage_type(self):
    """Refused: deltagrad has no legacy typed-storage classes (``FloatStorage``); use
    ``untyped_storage()`` or ``dtype``."""
    raise NotImplementedError("Tensor.storage_type: deltagrad has no legacy storage classes "
                              "(torch.FloatStorage ...); use untyped_storage() or .dtype")


@tensor_method
def module_load(self, other, assign: bool = False) -> Tensor:
    """What ``load_state_dict`` stores for ``self`` given the state's ``other`` (PyTorch's
    default): ``other.detach()`` with ``assign``, else ``self.copy_(other).detach()``."""
    if assign:
        return other.detach()
    return self.copy_(other).detach()


@tensor_method
def sparse_dim(self) -> int:
    """The number of sparse dimensions: 0 for a dense tensor."""
    return 0


@tensor_method
def dense_dim(self) -> int:
    """The number of dense dimensions: all of them for a dense tensor."""
    return self.ndim


@tensor_method
def to_sparse_coo(self) -> Tensor:
    """``to_sparse()``: the sparse COO form."""
    return self.to_sparse()


@tensor_method(name="_is_all_true")
def _is_all_true(self) -> Tensor:
    """``all()`` of a bool tensor (PyTorch asserts the dtype)."""
    if self.dtype != dtypes.bool:
        raise RuntimeError("_is_all_true: expected a bool tensor, got " + str(self.dtype))
    return self.all()


@tensor_method(name="_is_any_true")
def _is_any_true(self) -> Tensor:
    """``any()`` of a bool tensor (PyTorch asserts the dtype)."""
    if self.dtype != dtypes.bool:
        raise RuntimeError("_is_any_true: expected a bool tensor, got " + str(self.dtype))
    return self.any()


@tensor_method
def dequantize(self) -> Tensor:
    """A non-quantized tensor as float32 (PyTorch's dequantize of one; deltagrad has no
    quantized tensors)."""
    return self.to(dtypes.float32)


def _layout_name(self) -> str:
    return "Strided" if not self.is_sparse else "Sparse"


def _needs_layout(name: str, wanted: str):
    def accessor(self, *args, **kwargs):
        raise RuntimeError(f"{name} expected {wanted} layout but got {_layout_name(self)}")

    accessor.__name__ = accessor.__qualname__ = name
    accessor.__doc__ = f"A sparse tensor's ``{name}``: a dense tensor raises, as in PyTorch."
    return accessor


for _name, _wanted in (("indices", "sparse coordinate tensor"),
                       ("values", "sparse tensor"),
                       ("coalesce", "sparse coordinate tensor"),
                       ("crow_indices", "sparse row compressed tensor"),
                       ("col_indices", "sparse row compressed tensor"),
                       ("ccol_indices", "sparse column compressed tensor"),
                       ("row_indices", "sparse column compressed tensor")):
    if not hasattr(Tensor, _name):
        setattr(Tensor, _name, _needs_layout(_name, _wanted))


def _refused(name: str, message: str, error=NotImplementedError):
    def refuse(self, *args, **kwargs):
        raise error(message)

    refuse.__name__ = refuse.__qualname__ = name
    refuse.__doc__ = f"Refused: {message}"
    return refuse


def _no_cpu_kernel(name: str) -> str:
    return (f"Could not run 'aten::{name}' with arguments from the 'CPU' backend: deltagrad has "
            "no quantized or nested tensors")


for _name in ("int_repr", "q_scale", "q_zero_point", "qscheme", "q_per_channel_scales",
              "q_per_channel_zero_points", "q_per_channel_axis", "_nnz", "_indices", "_values",
              "to_padded_tensor"):
    if not hasattr(Tensor, _name):
        setattr(Tensor, _name, _refused(_name, _no_cpu_kernel(_name)))
for _name in ("smm", "sspaddmm"):
    setattr(Tensor, _name, _refused(_name, "tensor.sspaddmm(...) can only be called on sparse "
                                    "tensors (and deltagrad's sparse tensors do not offer it)",
                                    RuntimeError))
for _name in ("xpu", "ipu", "mtia"):
    setattr(Tensor, _name, _refused(_name, f"Tensor.{_name}(): deltagrad runs on the CPU only",
                                    RuntimeError))
Tensor.record_stream = _refused("record_stream", "record_stream: deltagrad has no CUDA "
                                "streams (its tensors live on the CPU)", RuntimeError)
Tensor.to_mkldnn = _refused("to_mkldnn", "to_mkldnn: deltagrad has no MKL-DNN layout")
Tensor.slice_inverse = _refused("slice_inverse", "slice_inverse (an internal op of PyTorch's "
                                "functionalization) is not supported by deltagrad")
_REMOVED = {  # PyTorch's RuntimeError for the functions it removed in 1.9, first line
    "eig": "`torch.linalg.eig` returns complex tensors of dtype `cfloat` or `cdouble` rather "
           "than real tensors mimicking complex tensors.",
    "solve": "`torch.solve` is deprecated in favor of `torch.linalg.solve`. `torch.linalg.solve` "
             "has its arguments reversed and does not return the LU factorization.",
    "lstsq": "`torch.lstsq` is deprecated in favor of `torch.linalg.lstsq`.",
    "symeig": "The default behavior has changed from using the upper triangular portion of the "
              "matrix by default to using the lower triangular portion.",
}
for _name, _why in _REMOVED.items():
    setattr(Tensor, _name, _refused(
        _name, f"This function was deprecated since version 1.9 and is now removed. {_why}",
        RuntimeError))
Tensor.reinforce = _refused(
    "reinforce", "reinforce() was removed.\nUse torch.distributions instead.\nSee "
    "https://pytorch.org/docs/main/distributions.html", RuntimeError)
