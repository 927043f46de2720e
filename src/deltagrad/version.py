"""PyTorch's ``torch.version``: deltagrad's version, and the accelerator toolkits it was built
with (none: it runs on NumPy, on the CPU)."""

__all__ = ["__version__", "cuda", "debug", "git_version", "hip"]

__version__ = "0.1.0"
# No CUDA or ROCm build exists: programs test `torch.version.cuda is None` for a CPU build.
cuda = None
hip = None
debug = False
# deltagrad does not record the commit it was built from.
git_version = "Unknown"
