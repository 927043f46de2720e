"""All of PR18's session-28 programs in one process (one ``import torch`` per side).

Usage: ``prog_s28_PR18_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent). The
recorder is prog_s25_PR9_harness.py.
"""

from prog_s25_PR9_harness import run
from prog_s28_PR18_d2l import SECTIONS as D2L
from prog_s28_PR18_more import SECTIONS as MORE
from prog_s28_PR18_prince import SECTIONS as PRINCE
from prog_s28_PR18_prob import SECTIONS as PROB
from prog_s28_PR18_raschka import SECTIONS as RASCHKA
from prog_s28_PR18_stevens import SECTIONS as STEVENS

TABLE = {**RASCHKA, **STEVENS, **PRINCE, **PROB, **D2L, **MORE}

if __name__ == "__main__":
    run(TABLE)
