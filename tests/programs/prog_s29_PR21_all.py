"""All of PR21's session-29 pytorch/examples-style programs in one process (one ``import torch``
per side).

Usage: ``prog_s29_PR21_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent). The
recorder is prog_s25_PR9_harness.py.
"""

from prog_s25_PR9_harness import run
from prog_s29_PR21_seq import SECTIONS as SEQ
from prog_s29_PR21_vision import SECTIONS as VISION

TABLE = {**VISION, **SEQ}

if __name__ == "__main__":
    run(TABLE)
