"""All of P2's torchvision programs in one process (one import of torch, torchvision and timm
per side instead of three): prog_s10_P2_examples.py, prog_s10_P2_vision.py and, where timm is
installed, prog_s10_P2_timm.py; their keys (and section names) are disjoint.
Usage: ``python prog_s10_P2_all.py OUT.npz [SECTION ...]`` (or under ``python -m deltagrad
run``): the named sections of the three programs, or all of them."""

import importlib.util
import sys

import numpy as np
import prog_s10_P2_examples
import prog_s10_P2_vision


def main():
    chosen = sys.argv[2:]
    results = {**prog_s10_P2_examples.run_sections(chosen),
               **prog_s10_P2_vision.run_sections(chosen)}
    if importlib.util.find_spec("timm") is not None and (
            not chosen or {"train_resnet", "train_vit"} & set(chosen)):
        import prog_s10_P2_timm
        results.update(prog_s10_P2_timm.run_sections(chosen))
    np.savez(sys.argv[1], **results)


if __name__ == "__main__":
    main()
