"""The T16 programs in one process per side (one PyTorch / Lightning import instead of three):
``prog_s9_T16_libs.py OUT.npz WORKDIR SECTIONS``, SECTIONS comma-separated ``<program>.<section>``
with <program> one of forecasting, torchdyn, e3nn (see those files). A section that raises
records its traceback as ``ERR.<section>``; everything goes to OUT.npz.
"""

import importlib
import os
import sys
import traceback
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    out_path, root, sections = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    warnings.filterwarnings("ignore")
    os.makedirs(root, exist_ok=True)
    found: dict = {}
    for item in sections:
        name, section = item.split(".")
        module = importlib.import_module(f"prog_s9_T16_{name}")
        try:
            run = getattr(module, f"run_{section}")
            if name == "forecasting":
                run(os.path.join(root, section))
            else:
                run()
        except Exception:  # noqa: BLE001 - recorded for the test to show
            module.OUT[f"ERR.{section}"] = np.asarray(traceback.format_exc())
        found.update(module.OUT)
    np.savez(out_path, **found)


if __name__ == "__main__":
    main()
