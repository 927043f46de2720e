"""All of PG's session-18 programs in one process (one ``import torch`` per side).

Usage: ``prog_s18_PG_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent).
"""

from prog_s17_PG_harness import run
from prog_s18_PG_d2l import SECTIONS as D2L
from prog_s18_PG_data import SECTIONS as DATA
from prog_s18_PG_examples import SECTIONS as EXAMPLES
from prog_s18_PG_hf import SECTIONS as HF
from prog_s18_PG_optim import SECTIONS as OPTIM
from prog_s18_PG_recsys import SECTIONS as RECSYS
from prog_s18_PG_sci import SECTIONS as SCI
from prog_s18_PG_tricks import SECTIONS as TRICKS

TABLE = {**D2L, **HF, **DATA, **EXAMPLES, **OPTIM, **TRICKS, **SCI, **RECSYS}

if __name__ == "__main__":
    run(TABLE)
