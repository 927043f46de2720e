"""PR6's recorder (session 23), on top of PG's (prog_s17_PG_harness.py): ``put`` also takes
lists mixing tensors with numbers, strings and booleans (each item its own key) and records
bfloat16 tensors through float32 (NumPy has no bfloat16; the dtype name is still recorded).
"""

import numpy as np
import torch
from prog_s17_PG_harness import OUT, run  # noqa: F401 - run is the programs' entry point


def put(key: str, value) -> None:
    """Records a tensor (values and dtype name), a number, a string, or a list / tuple of any
    of them (``key.0``, ``key.1``, ...)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.dtype == torch.bfloat16:
            OUT[key] = value.float().numpy().copy()
        else:
            OUT[key] = value.resolve_conj().numpy().copy()
        OUT[key + ".dtype"] = np.asarray(str(value.dtype).rsplit(".", 1)[-1])
    elif isinstance(value, (list, tuple)) and any(isinstance(v, (torch.Tensor, list, tuple))
                                                  for v in value):
        for index, item in enumerate(value):
            put(f"{key}.{index}", item)
    else:
        OUT[key] = np.asarray(value)


def put_state(prefix: str, module: torch.nn.Module) -> None:
    for name, tensor in module.state_dict().items():
        put(f"{prefix}.{name}", tensor)
