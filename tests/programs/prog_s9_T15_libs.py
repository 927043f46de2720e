"""Runs the MONAI and lucidrains-zoo programs in one process (one PyTorch or deltagrad import
for both) and writes their numbers to one .npz, keys prefixed ``monai/`` and ``zoo/``.
Usage: ``python prog_s9_T15_libs.py OUT.npz`` (or under ``python -m deltagrad run``);
``T15_PARTS=zoo`` runs only the named parts (comma-separated): the default run's test takes the
zoo alone, MONAI's import (~6 CPU s a side) being paid by test_s11_TF_monai_meta.py already."""

import importlib
import os
import sys

import numpy as np

if __name__ == "__main__":
    out = {}
    for prefix in os.environ.get("T15_PARTS", "monai,zoo").split(","):
        module = importlib.import_module(f"prog_s9_T15_{prefix}")
        module.OUT.clear()
        module.run()
        out.update({f"{prefix}/{k}": v for k, v in module.OUT.items()})
    np.savez(sys.argv[1], **out)
