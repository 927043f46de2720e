"""All of PR2's session-19 programs in one process (one ``import torch`` per side).

Usage: ``prog_s19_PR_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent). The
recorder is PG's of session 17 (prog_s17_PG_harness.py).
"""

from prog_s17_PG_harness import run
from prog_s19_PR_autoreg import SECTIONS as AUTOREG
from prog_s19_PR_awd import SECTIONS as AWD
from prog_s19_PR_cs224n import SECTIONS as CS224N
from prog_s19_PR_cs231n import SECTIONS as CS231N
from prog_s19_PR_fastai import SECTIONS as FASTAI
from prog_s19_PR_gpt2 import SECTIONS as GPT2
from prog_s19_PR_labml import SECTIONS as LABML
from prog_s19_PR_llm import SECTIONS as LLM
from prog_s19_PR_meta import SECTIONS as META
from prog_s19_PR_minbert import SECTIONS as MINBERT
from prog_s19_PR_misc import SECTIONS as MISC
from prog_s19_PR_more import SECTIONS as MORE
from prog_s19_PR_uva import SECTIONS as UVA

TABLE = {**LLM, **CS224N, **CS231N, **FASTAI, **LABML, **MISC, **MORE, **GPT2, **UVA, **MINBERT,
         **META, **AWD, **AUTOREG}

if __name__ == "__main__":
    run(TABLE)
