"""All of PR14's session-27 snippet programs in one process (one ``import torch`` per side).

Usage: ``prog_s27_PR14_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent). The
recorder is prog_s25_PR9_harness.py.
"""

from prog_s25_PR9_harness import run
from prog_s27_PR14_autograd import SECTIONS as AUTOGRAD
from prog_s27_PR14_index import SECTIONS as INDEX
from prog_s27_PR14_more import SECTIONS as MORE
from prog_s27_PR14_print import SECTIONS as PRINT
from prog_s27_PR14_shapes import SECTIONS as SHAPES

TABLE = {**INDEX, **SHAPES, **AUTOGRAD, **PRINT, **MORE}

if __name__ == "__main__":
    run(TABLE)
