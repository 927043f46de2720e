"""All of PR13's session-27 programs in one process (one ``import torch`` per side).

Usage: ``prog_s27_PR13_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent). The
recorder is prog_s25_PR9_harness.py.
"""

from prog_s25_PR9_harness import run
from prog_s27_PR13_autograd import SECTIONS as AUTOGRAD
from prog_s27_PR13_data import SECTIONS as DATA
from prog_s27_PR13_loops import SECTIONS as LOOPS
from prog_s27_PR13_misc import SECTIONS as MISC
from prog_s27_PR13_models import SECTIONS as MODELS
from prog_s27_PR13_train import SECTIONS as TRAIN

TABLE = {**TRAIN, **AUTOGRAD, **LOOPS, **DATA, **MODELS, **MISC}

if __name__ == "__main__":
    run(TABLE)
