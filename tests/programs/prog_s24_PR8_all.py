"""All of PR8's session-24 programs in one process (one ``import torch`` per side).

Usage: ``prog_s24_PR8_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent). The
recorder is prog_s23_PR6_harness.py.
"""

from prog_s23_PR6_harness import run
from prog_s24_PR8_detect import SECTIONS as DETECT
from prog_s24_PR8_physics import SECTIONS as PHYSICS
from prog_s24_PR8_seq import SECTIONS as SEQ
from prog_s24_PR8_stats import SECTIONS as STATS

TABLE = {**DETECT, **SEQ, **STATS, **PHYSICS}

if __name__ == "__main__":
    run(TABLE)
