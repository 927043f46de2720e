"""``torch.nn.modules.batchnorm``: the batch-norm modules and their base ``_BatchNorm``
(Lightning tests ``isinstance(m, _BatchNorm)``)."""

from ..lazy import LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d
from ..norm2d import BatchNorm2d, BatchNorm3d, SyncBatchNorm
from ..normalization import BatchNorm1d, _BatchNorm, _NormBase

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LazyBatchNorm1d", "LazyBatchNorm2d",
           "LazyBatchNorm3d", "SyncBatchNorm", "_BatchNorm", "_NormBase"]
