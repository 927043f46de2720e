"""All of P2's torchvision programs in one process (one import of torch, torchvision and timm
per side instead of three): prog_s10_P2_examples.py, prog_s10_P2_vision.py and, where timm is
installed, prog_s10_P2_timm.py; their keys are disjoint.
Usage: ``python prog_s10_P2_all.py OUT.npz`` (or under ``python -m deltagrad run``)."""

import importlib.util
import sys

import numpy as np
import prog_s10_P2_examples
import prog_s10_P2_vision


def main():
    results = {**prog_s10_P2_examples.run_sections(), **prog_s10_P2_vision.run_sections()}
    if importlib.util.find_spec("timm") is not None:
        import prog_s10_P2_timm
        results.update(prog_s10_P2_timm.run_sections())
    np.savez(sys.argv[1], **results)


if __name__ == "__main__":
    main()
