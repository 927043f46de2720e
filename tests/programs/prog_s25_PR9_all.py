"""All of PR9's session-25 programs in one process (one ``import torch`` per side).

Usage: ``prog_s25_PR9_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent). The
recorder is prog_s25_PR9_harness.py.
"""

from prog_s25_PR9_harness import run
from prog_s25_PR9_infra import SECTIONS as INFRA
from prog_s25_PR9_legacy import SECTIONS as LEGACY
from prog_s25_PR9_oldnets import SECTIONS as OLDNETS
from prog_s25_PR9_print import SECTIONS as PRINT
from prog_s25_PR9_surface import SECTIONS as SURFACE
from prog_s25_PR9_tutorials import SECTIONS as TUTORIALS

TABLE = {**LEGACY, **OLDNETS, **INFRA, **PRINT, **TUTORIALS, **SURFACE}

if __name__ == "__main__":
    run(TABLE)
