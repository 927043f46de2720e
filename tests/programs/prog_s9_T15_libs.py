"""Runs the MONAI and lucidrains-zoo programs in one process (one PyTorch or deltagrad import
for both) and writes their numbers to one .npz, keys prefixed ``monai/`` and ``zoo/``.
Usage: ``python prog_s9_T15_libs.py OUT.npz`` (or under ``python -m deltagrad run``)."""

import sys

import numpy as np
import prog_s9_T15_monai
import prog_s9_T15_zoo

if __name__ == "__main__":
    out = {}
    for prefix, module in (("monai", prog_s9_T15_monai), ("zoo", prog_s9_T15_zoo)):
        module.OUT.clear()
        module.run()
        out.update({f"{prefix}/{k}": v for k, v in module.OUT.items()})
    np.savez(sys.argv[1], **out)
