"""All of PR6's session-23 programs in one process (one ``import torch`` per side).

Usage: ``prog_s23_PR6_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent). The
recorder is prog_s23_PR6_harness.py (PG's of session 17, taking mixed lists and bfloat16).
"""

from prog_s23_PR6_api import SECTIONS as API
from prog_s23_PR6_data import SECTIONS as DATA
from prog_s23_PR6_harness import run
from prog_s23_PR6_idioms import SECTIONS as IDIOMS
from prog_s23_PR6_modules import SECTIONS as MODULES
from prog_s23_PR6_numeric import SECTIONS as NUMERIC
from prog_s23_PR6_sched import SECTIONS as SCHED

TABLE = {**IDIOMS, **DATA, **MODULES, **SCHED, **NUMERIC, **API}

if __name__ == "__main__":
    run(TABLE)
