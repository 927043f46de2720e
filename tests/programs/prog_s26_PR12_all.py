"""All of PR12's session-26 programs in one process (one ``import torch`` per side).

Usage: ``prog_s26_PR12_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent). The
recorder is prog_s25_PR9_harness.py.
"""

from prog_s25_PR9_harness import run
from prog_s26_PR12_extra import SECTIONS as EXTRA
from prog_s26_PR12_fit import SECTIONS as FIT
from prog_s26_PR12_lab import SECTIONS as LAB
from prog_s26_PR12_more import SECTIONS as MORE
from prog_s26_PR12_numerics import SECTIONS as NUMERICS
from prog_s26_PR12_physics import SECTIONS as PHYSICS

TABLE = {**PHYSICS, **FIT, **NUMERICS, **MORE, **EXTRA, **LAB}

if __name__ == "__main__":
    run(TABLE)
