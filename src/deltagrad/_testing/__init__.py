"""The folder behind ``torch.testing``'s submodules (``deltagrad.testing`` is a module whose
``__path__`` names this folder): ``torch.testing._internal.common_utils`` for the libraries'
test suites that import PyTorch's own ``TestCase`` from it."""
