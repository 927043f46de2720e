"""All of PR's session-18 programs in one process (one ``import torch`` per side).

Usage: ``prog_s18_PR_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent). The
recorder is PG's of session 17 (prog_s17_PG_harness.py).
"""

from prog_s17_PG_harness import run
from prog_s18_PR_diffusion import SECTIONS as DIFFUSION
from prog_s18_PR_infra import SECTIONS as INFRA
from prog_s18_PR_llm import SECTIONS as LLM
from prog_s18_PR_vision import SECTIONS as VISION

TABLE = {**DIFFUSION, **LLM, **VISION, **INFRA}

if __name__ == "__main__":
    run(TABLE)
