"""All of PG's session-17 programs in one process (one ``import torch`` per side).

Usage: ``prog_s17_PG_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent).
"""

from prog_s17_PG_autograd import SECTIONS as AUTOGRAD
from prog_s17_PG_detect import SECTIONS as DETECT
from prog_s17_PG_harness import run
from prog_s17_PG_models import SECTIONS as MODELS
from prog_s17_PG_more import SECTIONS as MORE
from prog_s17_PG_nlp import SECTIONS as NLP
from prog_s17_PG_training import SECTIONS as TRAINING
from prog_s17_PG_vision import SECTIONS as VISION

TABLE = {**NLP, **AUTOGRAD, **VISION, **TRAINING, **MODELS, **MORE, **DETECT}

if __name__ == "__main__":
    run(TABLE)
