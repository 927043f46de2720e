"""``deltagrad.utils.model_zoo``: PyTorch's older path of ``hub.load_state_dict_from_url``."""

from .. import hub
from ..hub import load_state_dict_from_url as load_url

__all__ = ["load_url"]


def __getattr__(name: str):
    if name == "tqdm":  # (the hub's, imported on first use)
        return hub.tqdm
    raise AttributeError(f"module 'deltagrad.utils.model_zoo' has no attribute {name!r}")
