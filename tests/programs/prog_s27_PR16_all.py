"""All of PR16's session-27 programs in one process (one ``import torch`` per side).

Usage: ``prog_s27_PR16_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent). The
recorder is prog_s25_PR9_harness.py.
"""

from prog_s25_PR9_harness import run
from prog_s27_PR16_extra import SECTIONS as EXTRA
from prog_s27_PR16_llm import SECTIONS as LLM
from prog_s27_PR16_more import SECTIONS as MORE
from prog_s27_PR16_vision import SECTIONS as VISION

TABLE = {**LLM, **VISION, **MORE, **EXTRA}

if __name__ == "__main__":
    run(TABLE)
