"""All of PR20's session-29 tutorial programs in one process (one ``import torch`` per side).

Usage: ``prog_s29_PR20_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent). The
recorder is prog_s25_PR9_harness.py.
"""

from prog_s25_PR9_harness import run
from prog_s29_PR20_advanced import SECTIONS as ADVANCED
from prog_s29_PR20_basics import SECTIONS as BASICS
from prog_s29_PR20_models import SECTIONS as MODELS
from prog_s29_PR20_notes import SECTIONS as NOTES
from prog_s29_PR20_notes import UNSUPPORTED
from prog_s29_PR20_recipes import SECTIONS as RECIPES

TABLE = {**BASICS, **MODELS, **RECIPES, **ADVANCED, **NOTES, **UNSUPPORTED}

if __name__ == "__main__":
    run(TABLE)
