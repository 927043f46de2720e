"""All of PR17's session-27 programs in one process (one ``import torch`` per side).

Usage: ``prog_s27_PR17_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent). The
recorder is prog_s25_PR9_harness.py.
"""

from prog_s25_PR9_harness import run
from prog_s27_PR17_half import SECTIONS as HALF
from prog_s27_PR17_ints import SECTIONS as INTS
from prog_s27_PR17_more import SECTIONS as MORE
from prog_s27_PR17_nonfinite import SECTIONS as NONFINITE
from prog_s27_PR17_rng import SECTIONS as RNG

TABLE = {**HALF, **NONFINITE, **INTS, **RNG, **MORE}

if __name__ == "__main__":
    run(TABLE)
