"""The recorder shared by the prog_s17_PG_*.py programs (session 17, PG): every number a section
computes goes into OUT, and a section that raises records its traceback as ``ERR.<section>``.

Usage of the main program: ``prog_s17_PG_all.py OUT.npz SECTIONS`` (comma-separated names).
"""

import sys
import traceback

import numpy as np
import torch

OUT: dict = {}


def put(key: str, value) -> None:
    """Records a tensor (its values and dtype name), a number, a string or a list of tensors."""
    if isinstance(value, torch.Tensor):
        OUT[key] = value.detach().cpu().numpy().copy()
        OUT[key + ".dtype"] = np.asarray(str(value.dtype).rsplit(".", 1)[-1])
    elif isinstance(value, (list, tuple)) and value and isinstance(value[0], torch.Tensor):
        for index, item in enumerate(value):
            put(f"{key}.{index}", item)
    else:
        OUT[key] = np.asarray(value)


def put_state(prefix: str, module: torch.nn.Module, exclude: tuple = ()) -> None:
    """Records a module's state dict, less the entries whose names end with ``exclude``."""
    for name, tensor in module.state_dict().items():
        if not name.endswith(exclude):
            put(f"{prefix}.{name}", tensor)


def run(table: dict) -> None:
    """Runs the sections named in argv[2] (all of ``table`` if absent); saves OUT to argv[1]."""
    names = sys.argv[2].split(",") if len(sys.argv) > 2 else list(table)
    for name in names:
        torch.manual_seed(0)
        try:
            table[name]()
        except Exception:  # noqa: BLE001 - recorded, compared by the test
            OUT[f"ERR.{name}"] = np.asarray(traceback.format_exc())
    np.savez(sys.argv[1], **OUT)
