"""All of PG2's session-19 programs in one process (one ``import torch`` per side).

Usage: ``prog_s19_PG2_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent).
"""

from prog_s17_PG_harness import run
from prog_s19_PG2_basics import SECTIONS as BASICS
from prog_s19_PG2_extend import SECTIONS as EXTEND
from prog_s19_PG2_extra import SECTIONS as EXTRA
from prog_s19_PG2_func import SECTIONS as FUNC
from prog_s19_PG2_gen import SECTIONS as GEN
from prog_s19_PG2_layers import SECTIONS as LAYERS
from prog_s19_PG2_more import SECTIONS as MORE
from prog_s19_PG2_nnutils import SECTIONS as NNUTILS
from prog_s19_PG2_text import SECTIONS as TEXT
from prog_s19_PG2_train import SECTIONS as TRAIN

TABLE = {**FUNC, **EXTEND, **NNUTILS, **TEXT, **GEN, **TRAIN, **MORE, **BASICS,
         **LAYERS, **EXTRA}

if __name__ == "__main__":
    run(TABLE)
