"""All of PR19's session-28 programs in one process (one ``import torch`` per side).

Usage: ``prog_s28_PR19_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent). The
recorder is prog_s25_PR9_harness.py.
"""

from prog_s25_PR9_harness import run
from prog_s28_PR19_errors import SECTIONS as ERRORS
from prog_s28_PR19_layers import SECTIONS as LAYERS
from prog_s28_PR19_testing import SECTIONS as TESTING
from prog_s28_PR19_warnings import SECTIONS as WARNINGS

TABLE = {**ERRORS, **LAYERS, **TESTING, **WARNINGS}

if __name__ == "__main__":
    run(TABLE)
