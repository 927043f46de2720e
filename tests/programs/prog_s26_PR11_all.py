"""All of PR11's session-26 programs in one process (one ``import torch`` per side).

Usage: ``prog_s26_PR11_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent). The
recorder is prog_s25_PR9_harness.py (whole stdout and warnings of each section).
"""

from prog_s25_PR9_harness import run
from prog_s26_PR11_cs224n import SECTIONS as CS224N
from prog_s26_PR11_d2l import SECTIONS as D2L
from prog_s26_PR11_tutorials import SECTIONS as TUTORIALS
from prog_s26_PR11_zero2hero import SECTIONS as ZERO2HERO

TABLE = {**ZERO2HERO, **D2L, **CS224N, **TUTORIALS}

if __name__ == "__main__":
    run(TABLE)
