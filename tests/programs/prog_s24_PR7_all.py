"""All of PR7's session-24 programs in one process (one ``import torch`` per side).

Usage: ``prog_s24_PR7_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent). The
recorder is prog_s23_PR6_harness.py (PG's of session 17, taking mixed lists and bfloat16).
"""

from prog_s23_PR6_harness import run
from prog_s24_PR7_models import SECTIONS as MODELS
from prog_s24_PR7_more import SECTIONS as MORE
from prog_s24_PR7_plumbing import SECTIONS as PLUMBING
from prog_s24_PR7_rl_gan import SECTIONS as RL_GAN
from prog_s24_PR7_scripts import SECTIONS as SCRIPTS
from prog_s24_PR7_seq import SECTIONS as SEQ
from prog_s24_PR7_vision import SECTIONS as VISION

TABLE = {**SCRIPTS, **RL_GAN, **MODELS, **VISION, **SEQ,
         **PLUMBING, **MORE}

if __name__ == "__main__":
    run(TABLE)
