"""Runs the x-transformers and vector-quantize-pytorch programs in one process (one PyTorch or
deltagrad import for both) and writes their numbers to one .npz, keys prefixed ``xt/`` and
``vq/``. Usage: ``python prog_s8_T2_libs.py OUT.npz`` (or under ``python -m deltagrad run``)."""

import sys

import numpy as np
import prog_s8_T2_vq
import prog_s8_T2_xtransformers

if __name__ == "__main__":
    out = {f"xt/{k}": v for k, v in prog_s8_T2_xtransformers.run_sections().items()}
    out.update({f"vq/{k}": v for k, v in prog_s8_T2_vq.run_sections().items()})
    np.savez(sys.argv[1], **out)
