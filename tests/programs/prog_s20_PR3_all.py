"""All of PR3's session-20 programs in one process (one ``import torch`` per side).

Usage: ``prog_s20_PR3_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent). The
recorder is PG's of session 17 (prog_s17_PG_harness.py).
"""

from prog_s17_PG_harness import run
from prog_s20_PR3_extra import SECTIONS as EXTRA
from prog_s20_PR3_gen import SECTIONS as GEN
from prog_s20_PR3_misc import SECTIONS as MISC
from prog_s20_PR3_more import SECTIONS as MORE
from prog_s20_PR3_rl import SECTIONS as RL
from prog_s20_PR3_sci import SECTIONS as SCI
from prog_s20_PR3_ssl import SECTIONS as SSL

TABLE = {**SCI, **SSL, **GEN, **RL, **MISC, **MORE, **EXTRA}

if __name__ == "__main__":
    run(TABLE)
