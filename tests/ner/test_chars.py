"""Character n-gram features (ner.chars): hashed n-gram ids and the spelling table."""

import os
import subprocess
import sys
import zlib

import numpy as np

from deltagrad.ner.chars import MAX_NGRAMS, form_table, word_ngrams


def test_word_ngrams_boundaries_first_and_deterministic():
    ids = word_ngrams("Ekeus", 1000)
    # "<ekeus>": 5 + 4 + 3 n-grams of sizes 3, 4, 5; the 6 touching a boundary come first.
    assert len(ids) == 12 and all(1 <= i < 1000 for i in ids)
    assert ids[:2] == [zlib.crc32(b"<ek") % 999 + 1, zlib.crc32(b"us>") % 999 + 1]
    assert word_ngrams("EKEUS", 1000) == ids  # case is the casing feature's job
    assert word_ngrams("1996", 1000) == word_ngrams("2001", 1000)  # digits normalised
    assert len(word_ngrams("x" * 40, 1000)) == MAX_NGRAMS
    assert word_ngrams("", 1000) == word_ngrams("", 1000) and len(word_ngrams("", 1000)) == 0


def test_ngram_ids_do_not_depend_on_the_process():
    # Python's str hash is salted per process; the ids must not be (saved models use them).
    code = "from deltagrad.ner.chars import word_ngrams; print(word_ngrams('Blackburn', 4096))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={**os.environ, "PYTHONHASHSEED": "12345"}).stdout
    assert other == f"{word_ngrams('Blackburn', 4096)}\n"


def test_form_table():
    forms, table = form_table(["EU", "rejects", "EU", "eu"], 50)
    assert forms.tolist() == [1, 2, 1, 3]  # one id per distinct spelling, from 1
    assert table.shape[0] == 4 and not table[0].any()  # row 0: beyond the sentence
    assert table[1, :3].tolist() == word_ngrams("EU", 50) and not table[1, 3:].any()
    assert np.array_equal(table[1], table[3])  # same letters, same n-grams
    empty_forms, empty_table = form_table([], 50)
    assert empty_forms.shape == (0,) and empty_table.shape == (1, 1)
