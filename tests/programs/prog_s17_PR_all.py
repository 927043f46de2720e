"""All of PR's session-17 programs in one process (one ``import torch`` per side).

Usage: ``prog_s17_PR_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent). The
recorder is PG's (prog_s17_PG_harness.py).
"""

from prog_s17_PG_harness import run
from prog_s17_PR_annotated import SECTIONS as ANNOTATED
from prog_s17_PR_edges import SECTIONS as EDGES
from prog_s17_PR_misc import SECTIONS as MISC
from prog_s17_PR_seq2seq import SECTIONS as SEQ2SEQ
from prog_s17_PR_yunjey import SECTIONS as YUNJEY

TABLE = {**YUNJEY, **SEQ2SEQ, **ANNOTATED, **MISC, **EDGES}

if __name__ == "__main__":
    run(TABLE)
