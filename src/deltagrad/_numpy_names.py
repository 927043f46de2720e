"""NumPy's argument names for the functions whose PyTorch counterparts take them.

PyTorch's argument parser (the one every function bound in C goes through: ``torch.*``,
``torch.linalg.*``, ``torch.special.*``, ``torch.fft.*`` and the Tensor methods) reads
``axis=`` as ``dim=`` and ``keepdims=`` as ``keepdim=``. The hot functions take the aliases
as keywords of their own (``_engine/api/_common.numpy_aliases``) and many others carry the
``numpy_names`` decorator where they are defined; the functions listed here get the same
wrapper once, at import, in every namespace that shows them (one extra call each: none of
them is a per-step hot path). tests/parity/test_s26_KW1_keywords.py checks every name here
against PyTorch and sweeps the namespaces for ones still missing.
"""

import sys

from ._engine.api._common import numpy_names

# (namespace -> names; torch 2.13's C-bound functions with a dim / keepdim argument whose
# deltagrad forms took neither alias: session 26, KW1's sweep)
NAMES = {
    "torch": (
        "cosine_similarity", "cross", "cumulative_trapezoid", "frobenius_norm", "gradient",
        "hash_tensor", "index_add", "index_copy", "index_fill", "index_reduce", "narrow_copy",
        "native_norm", "norm_except_dim", "nuclear_norm", "pairwise_distance", "renorm",
        "repeat_interleave", "scatter", "scatter_add", "scatter_reduce", "select_copy",
        "select_scatter", "slice_copy", "slice_scatter", "split_copy", "split_with_sizes",
        "split_with_sizes_copy", "squeeze_copy", "take_along_dim", "trapezoid", "trapz",
        "unbind_copy", "unflatten", "unsafe_chunk", "unsafe_split", "unsafe_split_with_sizes",
        "unsqueeze_copy"),
    "linalg": ("cross", "vecdot"),
    "special": ("log_softmax", "softmax"),
    "fft": ("fft", "fft2", "fftn", "fftshift", "hfft", "hfft2", "hfftn", "ifft", "ifft2",
            "ifftn", "ifftshift", "ihfft", "ihfft2", "ihfftn", "irfft", "irfft2", "irfftn",
            "rfft", "rfft2", "rfftn"),
    "Tensor": (
        "count_nonzero", "cross", "cumprod_", "cumsum_", "hash_tensor", "index_add",
        "index_add_", "index_copy", "index_copy_", "index_fill", "index_fill_", "index_reduce",
        "index_reduce_", "narrow_copy", "renorm", "renorm_", "repeat_interleave", "scatter",
        "scatter_", "scatter_add", "scatter_add_", "scatter_reduce", "scatter_reduce_",
        "select_scatter", "slice_scatter", "split_with_sizes", "squeeze_", "stride",
        "take_along_dim", "unsafe_chunk", "unsafe_split",
        "unsafe_split_with_sizes", "unsqueeze_"),
}


_WRAPPER = numpy_names(len).__code__
_ALSO = ("deltagrad.nn._torch_forms", "deltagrad.nn.functional")  # (re-exports)


def install(namespaces: dict) -> None:
    """Wrap each listed function of each namespace (a module or Tensor) that has it, once:
    a function already taking ``axis`` (its own keyword or the wrapper) stays as it is."""
    for key, names in NAMES.items():
        namespace = namespaces[key]
        for name in names:
            function = namespace.__dict__.get(name)
            code = getattr(function, "__code__", None)
            if code is None or code is _WRAPPER or "axis" in code.co_varnames[
                    :code.co_argcount + code.co_kwonlyargcount]:
                continue
            wrapped = numpy_names(function)
            setattr(namespace, name, wrapped)
            for where in (function.__module__, *_ALSO):  # (one object under every name,
                home = sys.modules.get(where)  # as PyTorch's: F.cosine_similarity is
                if home is not None and home.__dict__.get(name) is function:  # torch's)
                    setattr(home, name, wrapped)
