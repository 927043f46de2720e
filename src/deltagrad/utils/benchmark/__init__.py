"""``deltagrad.utils.benchmark``: PyTorch's ``torch.utils.benchmark`` timing tools for Python
statements (``Timer``, ``Measurement``). ``Compare`` can be imported but raises
``NotImplementedError`` when built; the fuzzers and Callgrind are not provided."""

from .common import Measurement, TaskSpec, select_unit
from .timer import Language, Timer

__all__ = ["Compare", "Language", "Measurement", "TaskSpec", "Timer", "select_unit"]


class Compare:
    """PyTorch's table of many Measurements: not provided (building one raises
    ``NotImplementedError``); print each ``Measurement`` instead."""

    def __init__(self, results) -> None:
        raise NotImplementedError("deltagrad.utils.benchmark.Compare (the results table) is not "
                                  "supported; print each Measurement instead")
