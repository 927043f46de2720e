"""Data types: ``deltagrad.float32`` and the rest, the default floating dtype, finfo and iinfo.

A ``dtype`` names one NumPy dtype the way PyTorch names it (``deltagrad.float32``, printed so) and
carries PyTorch's attributes (``is_floating_point``, ``is_signed``, ``itemsize``). NumPy accepts
it wherever it takes a dtype (``np.zeros(3, dtype=deltagrad.float32)``: it reads the ``dtype``
attribute), and it compares equal to the NumPy dtype it names, so code written against either
works. ``Tensor.dtype`` returns these objects; the arrays inside keep NumPy dtypes.

NumPy has no bfloat16: ``deltagrad.bfloat16`` is ml_dtypes' NumPy dtype, imported on first use
(``_engine/bf16.py``); without ml_dtypes installed any use of it as a dtype raises
``TypeError`` saying to install it.
"""

from __future__ import annotations

import sys

import numpy as np

__all__ = ["bfloat16", "bool", "cdouble", "cfloat", "chalf", "complex128", "complex32",
           "complex64", "double", "dtype",
           "finfo", "float", "float16", "float32", "float64", "float8_e4m3fn", "float8_e5m2",
           "float8_e8m0fnu", "get_default_dtype", "half",
           "iinfo", "int", "int16", "int32", "int64", "int8", "layout", "long",
           "set_default_dtype", "short", "sparse_coo", "strided", "uint16", "uint32", "uint64",
           "uint8",
           # PyTorch's quantized dtypes and schemes (named by quantization configs; unusable)
           "per_channel_affine", "per_channel_affine_float_qparams", "per_channel_symmetric",
           "per_tensor_affine", "per_tensor_symmetric", "qint32", "qint8", "qscheme",
           "quint2x4", "quint4x2", "quint8", "sparse_bsc", "sparse_bsr", "sparse_csc"]

_builtin_bool, _builtin_float, _builtin_int = bool, float, int


class dtype:  # noqa: N801 - PyTorch's name
    """The type of a tensor's elements (PyTorch's ``torch.dtype``).

    There is one object per dtype, so ``x.dtype is deltagrad.float32`` works, as does
    ``x.dtype == deltagrad.float32`` (also true against ``numpy.float32``). Attributes NumPy's
    dtypes have (``kind``, ``char``, ``str``, ...) are read through to the NumPy dtype.

    >>> import deltagrad as dg
    >>> dg.float32, dg.float32.is_floating_point, dg.int64.itemsize
    (deltagrad.float32, True, 8)
    """

    __slots__ = ("_name", "_numpy", "is_floating_point", "is_complex", "is_signed", "itemsize",
                 "kind")

    def __init__(self, name: str, numpy_dtype):
        self._name = name
        self._numpy = None if numpy_dtype is None else np.dtype(numpy_dtype)
        kind = self._numpy.kind if self._numpy is not None else "f"
        self.kind = kind
        self.is_floating_point = kind == "f"
        self.is_complex = kind == "c"
        self.is_signed = kind in "ifc"
        self.itemsize = self._numpy.itemsize if self._numpy is not None else 2

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype (what lets NumPy accept this object wherever it takes a dtype)."""
        return self._numpy

    @property
    def __numpy_dtype__(self) -> np.dtype:
        # NumPy 2.4's protocol, which it asks for before ``dtype``: without it every
        # ``np.zeros(n, dtype=deltagrad.float32)`` went through __getattr__ and the error it
        # raises for a private name (np.array(x, dtype=deltagrad.float32): 1.44 -> 0.39 us).
        return self.dtype

    def __getattr__(self, name: str):
        # Only reached for names not defined above: NumPy's dtype attributes (char, str, type).
        # Private and special names are not NumPy's business (copy, inspect, doctest probe them).
        if name.startswith("_"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(self.dtype, name)

    def __eq__(self, other) -> _builtin_bool:
        # A dtype equals only itself, as PyTorch's (`float32 == np.float32`, `== "float32"`,
        # `int64 == int`: False; libraries branch on it). Other objects get their say
        # (NotImplemented: `== mock.ANY` is True, as PyTorch's), except a NumPy dtype, whose
        # reflected == would convert this one (through ``dtype``) and answer True.
        if self is other or isinstance(other, dtype):
            return self is other
        return False if isinstance(other, np.dtype) else NotImplemented

    def __hash__(self) -> _builtin_int:
        return hash(self._numpy) if self._numpy is not None else hash(self._name)

    def __repr__(self) -> str:
        return f"{PREFIX[0]}.{self._name}"

    __str__ = __repr__

    def to_complex(self) -> dtype:
        """The complex dtype of this real one's precision (a complex dtype is its own); an
        integer or bool dtype has none (PyTorch's RuntimeError)."""
        if self.is_complex:
            return self
        name = _COMPLEX_OF.get(self._name)
        if name is None:
            raise RuntimeError("Unknown Complex ScalarType for "
                               f"{_CPP_NAMES.get(self._name, self._name)}")
        return _BY_NAME[name]

    def to_real(self) -> dtype:
        """The real dtype of this complex one's precision (a real dtype is its own)."""
        return _BY_NAME[_REAL_OF[self._name]] if self._name in _REAL_OF else self

    def __reduce__(self):
        return (_by_name, (self._name,))

    def __copy__(self) -> dtype:
        return self

    def __deepcopy__(self, memo) -> dtype:
        return self


class _Unsupported(dtype):
    """A dtype PyTorch has and NumPy does not: comparable, printable, never usable."""

    __slots__ = ()

    @property
    def dtype(self):
        raise TypeError(f"{self._name} is not supported: NumPy has no {self._name}, and "
                        "deltagrad computes with NumPy; use float32 (or float16)")


_COMPLEX_OF = {"float16": "complex32", "bfloat16": "complex64", "float32": "complex64",
               "float64": "complex128"}
_REAL_OF = {"complex32": "float16", "complex64": "float32", "complex128": "float64"}
_CPP_NAMES = {"uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long",
              "bool": "Bool", "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64"}

# The module name dtypes print with: 'torch' while deltagrad runs as torch (torch_alias sets
# it), as libraries parse ``str(dtype)`` (kornia's DType.get reads ``str(dtype)[6:]``).
PREFIX = ["deltagrad"]
_BY_NUMPY: dict = {}
_BY_NAME: dict = {}


def _make(name: str, numpy_dtype) -> dtype:
    made = dtype(name, numpy_dtype)
    _BY_NUMPY[made._numpy] = made
    _BY_NAME[name] = made
    return made


float16 = half = _make("float16", np.float16)
float32 = float = _make("float32", np.float32)
float64 = double = _make("float64", np.float64)
complex64 = cfloat = _make("complex64", np.complex64)
complex128 = cdouble = _make("complex128", np.complex128)
uint8 = _make("uint8", np.uint8)
uint16 = _make("uint16", np.uint16)
uint32 = _make("uint32", np.uint32)
uint64 = _make("uint64", np.uint64)
int8 = _make("int8", np.int8)
int16 = short = _make("int16", np.int16)
int32 = int = _make("int32", np.int32)
int64 = long = _make("int64", np.int64)
bool = _make("bool", np.bool_)


class _BFloat16(dtype):
    """bfloat16: a NumPy dtype from ml_dtypes, imported the first time it is used as one
    (``_engine/bf16.py``); without ml_dtypes that use raises ``TypeError``."""

    __slots__ = ()

    @property
    def dtype(self) -> np.dtype:
        return self._numpy if self._numpy is not None else load_bfloat16()

    @property
    def __numpy_dtype__(self) -> np.dtype:
        return self.dtype

    def __hash__(self) -> _builtin_int:  # (the same before and after ml_dtypes is loaded)
        return hash(self._name)


bfloat16 = _BFloat16("bfloat16", None)
bfloat16.kind, bfloat16.is_floating_point = "f", True  # (ml_dtypes' array kind is "V")
_BY_NAME["bfloat16"] = bfloat16


# Called with NumPy's bfloat16 dtype once ml_dtypes is loaded: api/_common.py registers the
# engine's (which routes ops on bfloat16 arrays to _engine/bf16.py).
BFLOAT16_LOADED: list = []
_MISSING = ("bfloat16 tensors need the ml_dtypes package (NumPy has no bfloat16): "
            "pip install ml_dtypes")


def load_bfloat16() -> np.dtype:
    """NumPy's bfloat16 dtype (``ml_dtypes.bfloat16``), importing ml_dtypes the first time
    (``import deltagrad`` does not); ``TypeError`` saying to install it when it is missing."""
    if bfloat16._numpy is None:
        try:
            import ml_dtypes
        except ImportError:
            raise TypeError(_MISSING) from None
        found = np.dtype(ml_dtypes.bfloat16)
        _BY_NUMPY[found] = bfloat16
        for loaded in BFLOAT16_LOADED:
            loaded(found)
        bfloat16._numpy = found
    return bfloat16._numpy
# PyTorch's 8-bit floats: named at import time by libraries' dtype tables (transformers maps
# safetensors' "F8_E4M3" to one), unusable here like bfloat16.
float8_e4m3fn = _Unsupported("float8_e4m3fn", None)
float8_e5m2 = _Unsupported("float8_e5m2", None)
float8_e8m0fnu = _Unsupported("float8_e8m0fnu", None)
_BY_NAME.update(float8_e4m3fn=float8_e4m3fn, float8_e5m2=float8_e5m2,
                float8_e8m0fnu=float8_e8m0fnu)
for _eight_bit in (float8_e4m3fn, float8_e5m2, float8_e8m0fnu):
    _eight_bit.itemsize = 1
float8_e8m0fnu.is_signed = False
# PyTorch's complex half: NumPy has none either (kornia lists it among the complex dtypes).
complex32 = chalf = _Unsupported("complex32", None)
_BY_NAME["complex32"] = complex32
complex32.itemsize, complex32.kind = 4, "c"
complex32.is_floating_point, complex32.is_complex = False, True
# PyTorch's quantized dtypes: quantization configs name them (QConfig(MinMaxObserver.with_args(
# dtype=torch.qint8))); deltagrad has no quantized tensors, so no array can have one.
qint8, quint8, qint32, quint4x2, quint2x4 = (
    _Unsupported(name, None) for name in ("qint8", "quint8", "qint32", "quint4x2", "quint2x4"))
for _quantized in (qint8, quint8, qint32, quint4x2, quint2x4):
    _BY_NAME[_quantized._name] = _quantized
    _quantized.kind, _quantized.is_floating_point = "V", False
    _quantized.itemsize = 4 if _quantized is qint32 else 1
    _quantized.is_signed = _quantized in (qint8, qint32)
# PyTorch's fnuz 8-bit floats (AMD's) and sub-byte integers (torchao names torch.uint4 at
# import): named like the float8 dtypes above, with PyTorch's properties; no array has one.
float8_e4m3fnuz = _Unsupported("float8_e4m3fnuz", None)
float8_e5m2fnuz = _Unsupported("float8_e5m2fnuz", None)
for _eight_bit in (float8_e4m3fnuz, float8_e5m2fnuz):
    _BY_NAME[_eight_bit._name] = _eight_bit
    _eight_bit.itemsize = 1
_SUB_BYTE = {f"{sign}int{bits}": _Unsupported(f"{sign}int{bits}", None)
             for sign in ("u", "") for bits in range(1, 8)}
for _small in _SUB_BYTE.values():
    _BY_NAME[_small._name] = _small
    _small.kind, _small.is_floating_point, _small.itemsize = "V", False, 1
    _small.is_signed = not _small._name.startswith("u")
globals().update(_SUB_BYTE)
__all__ += ["float8_e4m3fnuz", "float8_e5m2fnuz", *_SUB_BYTE]


def _by_name(name: str) -> dtype:
    return _BY_NAME[name]


def of(numpy_dtype: np.dtype) -> dtype:
    """The ``dtype`` naming a NumPy dtype (made on first use for dtypes PyTorch lacks)."""
    found = _BY_NUMPY.get(numpy_dtype)
    if found is None:
        numpy_dtype = np.dtype(numpy_dtype)
        found = _BY_NUMPY.get(numpy_dtype)
        if found is None:
            found = _BY_NUMPY[numpy_dtype] = dtype(numpy_dtype.name, numpy_dtype)
    return found


def to_numpy(value) -> np.dtype:
    """The NumPy dtype for anything PyTorch or NumPy accept as one (a ``dtype``, a NumPy dtype
    or scalar type, Python's ``float``/``int``/``bool``); bfloat16 loads ml_dtypes (``TypeError``
    without it)."""
    if type(value) is dtype:
        return value._numpy
    if isinstance(value, str) and value.startswith(("torch.", "deltagrad.")):
        value = value.partition(".")[2]  # "torch.float32" as printed
    return np.dtype(value)


def _string_leaf(data) -> None:
    """PyTorch's errors for a string as the data of ``tensor(data, dtype=...)``, which NumPy
    would read as a number (``'a'`` as True, ``'1.5'`` as 1.5): a lone string is a TypeError, a
    first element that is one a ValueError (PyTorch reads it as a sequence of strings)."""
    leaf = data
    while type(leaf) in (list, tuple) and leaf:
        leaf = leaf[0]
    if leaf is data and isinstance(data, str):
        raise TypeError("new(): invalid data type 'str'")
    if isinstance(leaf, str) and leaf:
        raise ValueError("too many dimensions 'str'")


def new_array(data, d) -> np.ndarray:
    """``numpy.array(data, dtype=<d's NumPy dtype>)``, converting into bfloat16 and float16
    through float32 as PyTorch does (a float64 value is rounded to float32 first, then to the
    half dtype: directly, 1 of 2000 random float16 values was an ulp off)."""
    numpy_dtype = to_numpy(d)
    if type(data) in (list, tuple, str):
        _string_leaf(data)
    kind, size = numpy_dtype.kind, numpy_dtype.itemsize
    if kind == "V" or (kind == "f" and size == 2) or (kind == "c" and size == 8):
        # (70000 as float16 is inf, 1e300 as bfloat16 / complex64 too, silently, as PyTorch's:
        # NumPy warns "overflow encountered in cast"; its error state set and put back, on
        # the dtypes narrower than a Python number but float32: 0.22 us of tensor(3 floats,
        # dtype=float32)'s 3.6 there, left warning for 1e300)
        quiet = sys.modules[__package__ + ".ops.elementwise_math"]  # (it imports this module)
        token = quiet.ERR_STATE.set(quiet.IGNORE_ALL)
        try:
            if kind != "c":  # (bfloat16, float16, ml_dtypes' float8 through float32)
                return np.array(data, dtype=np.float32).astype(numpy_dtype)
            return np.array(data, dtype=numpy_dtype)
        finally:
            quiet.ERR_STATE.reset(token)
    return np.array(data, dtype=numpy_dtype)


def default_float(array: np.ndarray) -> np.ndarray:
    """``array`` (float64) in the default float dtype: here so that an overflow to inf is silent
    (ops/elementwise_math.py's QUIET_ENGINE_CALLS matches this module), as PyTorch's."""
    return array.astype(_Default.float)


# ----------------------------------------------------------------------------------------------
# The default floating dtype: what Python floats and integer-only floating ops become.


class _Default:
    float = np.dtype(np.float32)


def get_default_dtype() -> dtype:
    """The dtype that Python floats become in ``tensor([1.0])``, ``zeros(...)`` and the like."""
    return of(_Default.float)


def set_default_dtype(d) -> None:
    """Make ``d`` (float16, float32 or float64) the default floating dtype, as PyTorch's.

    Args:
        d: a floating dtype; anything else raises ``TypeError`` as in PyTorch.

    >>> import deltagrad as dg
    >>> dg.set_default_dtype(dg.float64)
    >>> dg.tensor([1.5]).dtype
    deltagrad.float64
    >>> dg.set_default_dtype(dg.float32)
    """
    numpy_dtype = to_numpy(d)
    if numpy_dtype.kind != "f" and d is not bfloat16:  # (bfloat16's NumPy kind is "V")
        raise TypeError(f"only floating-point types are supported as the default type, got "
                        f"{of(numpy_dtype)}")
    _Default.float = numpy_dtype


# ----------------------------------------------------------------------------------------------
# Machine limits, as PyTorch reports them (Python numbers).


# bits, eps, max, min, smallest normal of the floating dtypes NumPy lacks (PyTorch's finfo).
_LIMITS = {
    "bfloat16": (16, 2.0 ** -7, (2 - 2.0 ** -7) * 2.0 ** 127, -(2 - 2.0 ** -7) * 2.0 ** 127,
                 2.0 ** -126),
    "float8_e4m3fn": (8, 2.0 ** -3, 448.0, -448.0, 2.0 ** -6),
    "float8_e5m2": (8, 2.0 ** -2, 57344.0, -57344.0, 2.0 ** -14),
    "float8_e8m0fnu": (8, 1.0, 2.0 ** 127, 2.0 ** -127, 2.0 ** -127),
    "float8_e4m3fnuz": (8, 2.0 ** -3, 240.0, -240.0, 2.0 ** -7),
    "float8_e5m2fnuz": (8, 2.0 ** -3, 57344.0, -57344.0, 2.0 ** -15),
}


def _refuse_name(name: str, type) -> None:  # noqa: A002 - PyTorch's argument name
    """finfo / iinfo take a dtype, not its name (PyTorch's TypeError; NumPy would read it)."""
    if isinstance(type, str):
        raise TypeError(f"{name}(): argument 'type' (position 1) must be torch.dtype, not str")


class finfo:  # noqa: N801 - PyTorch's name
    """Machine limits of a floating dtype: ``bits``, ``eps``, ``max``, ``min``, ``tiny``
    (= ``smallest_normal``), ``resolution``, and ``dtype`` (its name).

    Args:
        type: a floating dtype (default: the default dtype).

    >>> import deltagrad as dg
    >>> dg.finfo(dg.float32).eps
    1.1920928955078125e-07
    """

    def __reduce_ex__(self, protocol):  # (PyTorch's C objects refuse pickle, copy, save)
        raise TypeError(f"cannot pickle 'torch.{type(self).__name__}' object")

    def __init__(self, type=None):  # noqa: A002 - PyTorch's argument name
        _refuse_name("finfo", type)
        if type is None:
            type = of(_Default.float)  # (bfloat16's NumPy dtype is no floating kind)
        if isinstance(type, np.dtype) and type.name == "bfloat16":  # (ml_dtypes' own)
            type = bfloat16
        if isinstance(type, (_Unsupported, _BFloat16)):
            # Dtypes NumPy lacks still have limits (libraries read finfo(float8_e4m3fn).max
            # at import time): PyTorch's values, all exact binary numbers.
            self.bits, self.eps, self.max, self.min, self.tiny = _LIMITS[type._name]
            self.smallest_normal = self.tiny
            self.resolution = _builtin_float(10.0 ** -_builtin_int(-np.log10(self.eps)))
            self.dtype = type._name
            return
        numpy_dtype = to_numpy(type)
        if numpy_dtype.kind == "c":  # (a complex dtype's limits are its parts': PyTorch's)
            numpy_dtype = np.dtype(f"f{numpy_dtype.itemsize // 2}")
        if numpy_dtype.kind != "f":
            raise TypeError(f"finfo() requires a floating point input type, got {of(numpy_dtype)};"
                            " use iinfo for integer types")
        info = np.finfo(numpy_dtype)
        self.bits = _builtin_int(info.bits)
        self.eps = _builtin_float(info.eps)
        self.max = _builtin_float(info.max)
        self.min = _builtin_float(info.min)
        self.tiny = self.smallest_normal = _builtin_float(info.smallest_normal)
        self.resolution = 10.0 ** -info.precision  # exactly, as PyTorch (NumPy rounds it)
        self.dtype = numpy_dtype.name

    def __eq__(self, other):  # (PyTorch's: equal limits of one dtype; unhashable)
        if type(other) is not type(self):
            return NotImplemented
        return self.dtype == other.dtype

    __hash__ = None

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:  # noqa: N801 - PyTorch's name
    """Machine limits of an integer dtype: ``bits``, ``max``, ``min``, ``dtype`` (its name).

    >>> import deltagrad as dg
    >>> dg.iinfo(dg.uint8).max
    255
    """

    __reduce_ex__ = finfo.__reduce_ex__

    def __init__(self, type):  # noqa: A002 - PyTorch's argument name
        _refuse_name("iinfo", type)
        numpy_dtype = to_numpy(type)
        if numpy_dtype.kind == "b":
            raise TypeError("deltagrad.bool is not supported by iinfo")
        if numpy_dtype.kind not in "iu":
            raise TypeError(f"iinfo() requires an integer input type, got {of(numpy_dtype)}; "
                            "use finfo for floating types")
        info = np.iinfo(numpy_dtype)
        self.bits = _builtin_int(info.bits)
        self.max = _builtin_int(info.max)
        self.min = _builtin_int(info.min)
        self.dtype = numpy_dtype.name

    __eq__, __hash__ = finfo.__eq__, None

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


# ----------------------------------------------------------------------------------------------
# Memory layouts (``Tensor.layout``): dense tensors are strided; a sparse embedding gradient is
# sparse_coo (rows of a COO tensor, as PyTorch's).


class layout:  # noqa: N801 - PyTorch's name
    """How a tensor's elements are stored: ``deltagrad.strided`` or ``deltagrad.sparse_coo``."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"{PREFIX[0]}.{self.name}"  # 'torch.strided' while deltagrad runs as torch


strided = layout("strided")
sparse_coo = layout("sparse_coo")
# PyTorch's other sparse layouts: names libraries compare against (torch_geometric lists
# torch.sparse_csc at import); deltagrad has no tensors in them (sparse_csr: api/sparse_csr.py).
sparse_csc = layout("sparse_csc")
sparse_bsr = layout("sparse_bsr")
sparse_bsc = layout("sparse_bsc")


class qscheme:  # noqa: N801 - PyTorch's name
    """A quantization scheme (``deltagrad.per_tensor_affine``, ...): names only, which
    quantization configs and observers compare (deltagrad has no quantized tensors)."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"{PREFIX[0]}.{self.name}"

    def __reduce__(self):
        return (_qscheme_by_name, (self.name,))


per_tensor_affine = qscheme("per_tensor_affine")
per_channel_affine = qscheme("per_channel_affine")
per_tensor_symmetric = qscheme("per_tensor_symmetric")
per_channel_symmetric = qscheme("per_channel_symmetric")
per_channel_affine_float_qparams = qscheme("per_channel_affine_float_qparams")


def _qscheme_by_name(name: str) -> qscheme:
    return globals()[name]


def default_complex(default_float: np.dtype) -> np.dtype:
    """The dtype ``torch.tensor`` gives a Python complex under the default float dtype
    ``default_float`` (a NumPy dtype): complex64, or complex128 for float64. Under float16
    PyTorch makes a complex32 tensor, which NumPy has no dtype for (NotImplementedError here,
    as complex.py's for complex32 tensors); under bfloat16 PyTorch refuses (RuntimeError, as
    here)."""
    if default_float.itemsize >= 4:
        return np.dtype(np.complex128 if default_float.itemsize == 8 else np.complex64)
    if default_float.name == "float16":
        raise NotImplementedError("a complex value under the default dtype float16 makes a "
                                  "complex32 tensor in PyTorch: complex32 is not supported "
                                  "(NumPy has no complex32); give dtype=torch.complex64")
    raise RuntimeError(f"invalid default scalar type for complex (the default dtype is "
                       f"{default_float.name})")


def number_complex(default_float: np.dtype) -> np.dtype:
    """The dtype a Python complex takes in promotion with an integer or bool tensor, and a
    complex bound gives linspace / logspace: as ``default_complex``, but bfloat16's is
    complex64 (PyTorch refuses only a new tensor from it)."""
    if default_float.name == "bfloat16":
        return np.dtype(np.complex64)
    return default_complex(default_float)
