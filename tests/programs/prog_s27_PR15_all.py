"""All of PR15's session-27 programs in one process (one ``import torch`` per side).

Usage: ``prog_s27_PR15_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent). The
recorder is prog_s25_PR9_harness.py.
"""

from prog_s25_PR9_harness import run
from prog_s27_PR15_copying import SECTIONS as COPYING
from prog_s27_PR15_glue import SECTIONS as GLUE
from prog_s27_PR15_introspect import SECTIONS as INTROSPECT
from prog_s27_PR15_registry import SECTIONS as REGISTRY
from prog_s27_PR15_subclass import SECTIONS as SUBCLASS

TABLE = {**SUBCLASS, **INTROSPECT, **COPYING, **REGISTRY, **GLUE}

if __name__ == "__main__":
    run(TABLE)
