"""All of PR5's session-22 programs in one process (one ``import torch`` per side).

Usage: ``prog_s22_PR5_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent). The
recorder is PG's of session 17 (prog_s17_PG_harness.py).
"""

from prog_s17_PG_harness import run
from prog_s22_PR5_corners import SECTIONS as CORNERS
from prog_s22_PR5_extra import SECTIONS as EXTRA
from prog_s22_PR5_infra import SECTIONS as INFRA
from prog_s22_PR5_learn import SECTIONS as LEARN
from prog_s22_PR5_more import SECTIONS as MORE
from prog_s22_PR5_ops import SECTIONS as OPS
from prog_s22_PR5_sci import SECTIONS as SCI
from prog_s22_PR5_vision import SECTIONS as VISION

TABLE = {**SCI, **VISION, **LEARN, **INFRA, **MORE, **EXTRA, **CORNERS,
         **OPS}

if __name__ == "__main__":
    run(TABLE)
