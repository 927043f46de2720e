"""A pytest plugin (``-ps22_LE9_tvplugin``) for library suites that import torchvision from
``.venv/tv-extra`` (timm's, segmentation-models-pytorch's: LE9, s22). Loaded before the suite's
conftest, it declares the two torchvision op schemas whose absence makes torchvision's import
fail under the real CPU PyTorch (see ``tv_common.declare_torchvision_ops``); under the alias it
does nothing."""

import tv_common

tv_common.declare_torchvision_ops()
