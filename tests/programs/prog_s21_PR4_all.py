"""All of PR4's session-21 programs in one process (one ``import torch`` per side).

Usage: ``prog_s21_PR4_all.py OUT.npz [SECTIONS]`` (comma-separated; all when absent). The
recorder is PG's of session 17 (prog_s17_PG_harness.py).
"""

from prog_s17_PG_harness import run
from prog_s21_PR4_classic import SECTIONS as CLASSIC
from prog_s21_PR4_edges import SECTIONS as EDGES
from prog_s21_PR4_extra import SECTIONS as EXTRA
from prog_s21_PR4_infra import SECTIONS as INFRA
from prog_s21_PR4_more import SECTIONS as MORE
from prog_s21_PR4_nlp import SECTIONS as NLP
from prog_s21_PR4_prob import SECTIONS as PROB
from prog_s21_PR4_tabular import SECTIONS as TABULAR
from prog_s21_PR4_vision import SECTIONS as VISION

TABLE = {**NLP, **VISION, **PROB, **INFRA, **TABULAR, **CLASSIC,
         **EDGES, **EXTRA, **MORE}

if __name__ == "__main__":
    run(TABLE)
