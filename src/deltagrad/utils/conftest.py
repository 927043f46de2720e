"""pytest: skip collecting deltagrad.utils.tensorboard (doctests) where the optional
``tensorboard`` package is missing; importing that module then fails, as PyTorch's does."""

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("tensorboard") else ["tensorboard/*"]
