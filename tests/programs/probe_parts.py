"""The harness the probe programs share (imported by them under real PyTorch and under
deltagrad's alias alike): ``put`` records a value, ``part`` registers a seeded section that
runs only where its library is importable (an exception is recorded as ``ERR.<part>``), and
``main`` runs the chosen parts and writes every number to the .npz named on the command line:
``python prog_X.py OUT.npz [PARTS]``."""

import importlib.util
import sys
import time
import traceback
import warnings

import numpy as np
import torch

OUT: dict = {}
PARTS: dict = {}


def put(name, value):
    """``OUT[name]`` = the value as an array (a tensor's dtype name beside it, ``name.dtype``)."""
    if isinstance(value, torch.Tensor):
        OUT[name + ".dtype"] = np.array(str(value.dtype))
        value = value.detach().numpy().copy()  # (a snapshot: parameters change in place)
    OUT[name] = np.asarray(value)


def part(name, needs):
    """Decorator: a part run from seed 0 when ``needs`` is importable; an exception is
    recorded as ``ERR.<name>``."""
    def wrap(fn):
        def run():
            if importlib.util.find_spec(needs) is None:
                return
            torch.manual_seed(0)
            np.random.seed(0)
            start, cpu = time.perf_counter(), time.process_time()
            try:
                fn()
            except Exception as error:  # noqa: BLE001 - recorded and compared
                OUT["ERR." + name] = np.array(f"{type(error).__name__}: {error}")
                traceback.print_exc()
            # (CPU beside wall: on a shared machine only the CPU seconds say where time goes)
            print(f"{name}: {time.perf_counter() - start:.2f} s, "
                  f"{time.process_time() - cpu:.2f} CPU s", file=sys.stderr)
        PARTS[name] = run
        return run
    return wrap


def main():
    """Runs the parts named in ``sys.argv[2]`` (all by default); writes ``sys.argv[1]``."""
    warnings.filterwarnings("ignore")
    chosen = sys.argv[2].split(",") if len(sys.argv) > 2 else list(PARTS)
    for name in chosen:
        PARTS[name]()
    np.savez(sys.argv[1], **OUT)
