"""All of PR10's session-25 programs in one process (one ``import torch`` per side).

Usage: ``prog_s25_PR10_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent). The
recorder is prog_s23_PR6_harness.py.
"""

from prog_s23_PR6_harness import run
from prog_s25_PR10_mixed import SECTIONS as MIXED
from prog_s25_PR10_notebook import SECTIONS as NOTEBOOK
from prog_s25_PR10_numpy import SECTIONS as NUMPY
from prog_s25_PR10_tabular import SECTIONS as TABULAR

TABLE = {**NUMPY, **TABULAR, **MIXED, **NOTEBOOK}

if __name__ == "__main__":
    run(TABLE)
