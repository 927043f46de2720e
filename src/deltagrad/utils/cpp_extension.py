"""``deltagrad.utils.cpp_extension``: PyTorch's C++/CUDA extension builder. deltagrad runs no C++
extensions (its kernels are NumPy), so building or loading one raises NotImplementedError."""

from __future__ import annotations

__all__ = ["BuildExtension", "CUDA_HOME", "CUDAExtension", "CppExtension", "ROCM_HOME",
           "include_paths", "library_paths", "load", "load_inline"]

CUDA_HOME = None  # (as on a machine without CUDA: programs test it before building)
ROCM_HOME = None
IS_HIP_EXTENSION = False

_MESSAGE = ("deltagrad runs no C++ extensions: its kernels are NumPy code, and a compiled "
            "PyTorch extension needs the real libtorch; write the operation in Python "
            "(deltagrad ops or torch.autograd.Function) instead")


def load(name: str, sources, *args, **kwargs):
    """Not supported: raises NotImplementedError (deltagrad runs no C++ extensions)."""
    raise NotImplementedError(f"torch.utils.cpp_extension.load: {_MESSAGE}")


def load_inline(name: str, cpp_sources, *args, **kwargs):
    """Not supported: raises NotImplementedError (deltagrad runs no C++ extensions)."""
    raise NotImplementedError(f"torch.utils.cpp_extension.load_inline: {_MESSAGE}")


def CppExtension(name: str, sources, *args, **kwargs):  # noqa: N802 (PyTorch's name)
    """Not supported: raises NotImplementedError (deltagrad runs no C++ extensions)."""
    raise NotImplementedError(f"torch.utils.cpp_extension.CppExtension: {_MESSAGE}")


def CUDAExtension(name: str, sources, *args, **kwargs):  # noqa: N802 (PyTorch's name)
    """Not supported: raises NotImplementedError (deltagrad runs no C++ extensions)."""
    raise NotImplementedError(f"torch.utils.cpp_extension.CUDAExtension: {_MESSAGE}")


def include_paths(*args, **kwargs) -> list:
    """Not supported: deltagrad ships no C++ headers."""
    raise NotImplementedError(f"torch.utils.cpp_extension.include_paths: {_MESSAGE}")


def library_paths(*args, **kwargs) -> list:
    """Not supported: deltagrad ships no libtorch to link against."""
    raise NotImplementedError(f"torch.utils.cpp_extension.library_paths: {_MESSAGE}")


class BuildExtension:
    """setup.py's ``build_ext`` command for PyTorch extensions: making one raises
    NotImplementedError (deltagrad runs no C++ extensions)."""

    def __init__(self, *args, **kwargs) -> None:
        raise NotImplementedError(f"torch.utils.cpp_extension.BuildExtension: {_MESSAGE}")

    @classmethod
    def with_options(cls, **options):
        """Not supported: raises NotImplementedError."""
        raise NotImplementedError(f"torch.utils.cpp_extension.BuildExtension: {_MESSAGE}")
