"""Unseen words moved with their neighbours: a linear map from GloVe to fine-tuned vectors.

Fine-tuning moves the vectors of the words seen in training; a word never seen in training gets
no gradient and keeps GloVe's vector, so it drifts away from the neighbours it had there (the
README's TV / telly / television point). Madhyastha et al. (2016, "Mapping unseen words to
task-trained embedding spaces") learn a map from the pretrained space to the fine-tuned one on
the seen words and apply it to the unseen ones. Here the map is linear, ``d x d``, fitted in
closed form: ``W = argmin ||X W - Y||^2 + ridge ||W - I||^2`` with ``X`` the seen words' GloVe
rows and ``Y`` their fine-tuned rows (the ridge pulls towards leaving vectors as they are).

Every pretrained word is already a row of the model's table (``Vocabulary.build`` keeps them
all, for words met only at predict time), so the mapped rows simply replace those rows: the
model directory keeps its size and ``predict`` needs nothing new. Training never reads an unseen
row (no training window holds one), so the map changes no training step: it is applied for the
dev scoring after each epoch and taken back before the epoch's weights are kept (a checkpoint
stores the rows that differ from the initial ones: 375,000 mapped rows would add 75 MB to each),
and applied to the best epoch's weights at the end.
"""

from __future__ import annotations

import numpy as np

__all__ = ["UnseenMap", "fit_map", "unmap_unseen"]

_BLOCK = 16384  # rows mapped at a time


def fit_map(source: np.ndarray, target: np.ndarray, ridge: float = 0.0) -> np.ndarray:
    """The ``d x d`` matrix ``W`` minimising ``||source @ W - target||^2 + ridge ||W - I||^2``.

    Args:
        source: float ``[n, d]``, the words' original vectors (rows).
        target: float ``[n, d]``, the same words' vectors after fine-tuning.
        ridge: >= 0; 0 is ordinary least squares (the minimum-norm solution when ``source``
            has rank below ``d``), larger values pull ``W`` towards the identity.

    Returns:
        float64 ``[d, d]``; map a row ``x`` as ``x @ W``.
    """
    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if source.ndim != 2 or source.shape != target.shape:
        raise ValueError(f"fit_map: source {source.shape} and target {target.shape} must be "
                         "matrices of one shape [n, d]")
    if not (np.isfinite(ridge) and ridge >= 0):
        raise ValueError(f"fit_map: ridge must be a finite number >= 0, got {ridge}")
    d = source.shape[1]
    # The normal equations with the prior, (X'X + r I) W = X'Y + r I, solved as a d x d
    # least-squares problem (minimum norm when X'X is singular): the SVD of the whole
    # 17,000 x 50 source took 1.6-1.9 s on the loaded 2-core machine, the d x d system ms.
    # In float64, squaring GloVe's condition number costs no accuracy that float32 rows keep.
    gram = source.T @ source + ridge * np.eye(d)
    return np.linalg.lstsq(gram, source.T @ target + ridge * np.eye(d), rcond=None)[0]


class UnseenMap:
    """The rows of a word table to fit the map on (seen in training) and to map (the others).

    Args:
        seen_ids: word ids that occur in the training windows (any order, repeats allowed).
        has_vector: bool ``[V]``: rows that started as pretrained vectors.
        initial: float32 ``[V, d]``: the table before training (only its pretrained rows are
            read; kept by reference, not copied).
        ridge: see :func:`fit_map`.
    """

    def __init__(self, seen_ids: np.ndarray, has_vector: np.ndarray, initial: np.ndarray,
                 ridge: float = 0.0) -> None:
        has_vector = np.asarray(has_vector, dtype=bool)
        if initial.shape[0] != has_vector.shape[0]:
            raise ValueError(f"UnseenMap: {initial.shape[0]} initial rows for a vocabulary of "
                             f"{has_vector.shape[0]}")
        seen = np.zeros(has_vector.shape[0], dtype=bool)
        seen[np.asarray(seen_ids, dtype=np.int64).ravel()] = True
        # Rows without a pretrained vector (training words GloVe lacks, <unk>, <pad>) have no
        # source vector to map from: they are neither fitted on nor mapped.
        self.fit_rows = np.flatnonzero(seen & has_vector)
        self.mapped_rows = np.flatnonzero(~seen & has_vector)
        self.initial, self.ridge = initial, ridge

    def fit(self, table: np.ndarray) -> np.ndarray:
        """The map from the initial to ``table``'s (fine-tuned) rows of the seen words."""
        return fit_map(self.initial[self.fit_rows], table[self.fit_rows], self.ridge)

    def rows_among(self, ids: np.ndarray) -> np.ndarray:
        """The unseen rows among word ids ``ids`` (e.g. those of the dev set)."""
        return np.intersect1d(self.mapped_rows, np.asarray(ids, dtype=np.int64).ravel())

    def apply(self, table: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Fit the map on ``table`` and write the mapped unseen rows into it (in place).

        Args:
            table: the fine-tuned word table, float ``[V, d]``.
            rows: map only these unseen rows (from ``rows_among``); None: all of them. Dev
                scoring after an epoch reads only the dev words' rows: mapping and putting
                back all 383,000 took 6 s of a 45-60 s epoch on the loaded machine.

        Returns:
            The map ``W`` (float64 ``[d, d]``).
        """
        w = self.fit(table)
        rows = self.mapped_rows if rows is None else rows
        if self.fit_rows.size:
            w32 = w.astype(table.dtype)
            # In blocks: whole-table temporaries (2 x 75 MB) cost page faults on a busy machine.
            for start in range(0, rows.size, _BLOCK):
                block = rows[start:start + _BLOCK]
                table[block] = self.initial[block] @ w32
        return w

    def restore(self, table: np.ndarray, rows: np.ndarray | None = None) -> None:
        """Put the unseen rows (or ``rows`` of them) back to their initial vectors (in place)."""
        rows = self.mapped_rows if rows is None else rows
        table[rows] = self.initial[rows]


def unmap_unseen(model, vocab, vectors, train_sentences) -> int:
    """Put a trained model's unseen rows back to their pretrained vectors (in place; every
    member of an ensemble): the same model as if trained without the map, for comparisons.

    Args:
        model: a ``WindowTagger`` or an ``EnsembleTagger``.
        vocab: its vocabulary.
        vectors: the pretrained ``(words, matrix)`` it was trained from.
        train_sentences: the sentences it was trained on (their words are the seen ones).

    Returns:
        The number of rows put back per member.
    """
    words, matrix = vectors
    initial, _ = vocab.embedding_matrix(words, matrix, None, np.random.default_rng(0))
    has_vector = np.zeros(len(vocab), dtype=bool)
    has_vector[vocab.indices(list(words))] = True
    seen = vocab.indices([word for sentence in train_sentences for word in sentence.words])
    unseen = UnseenMap(seen, has_vector, initial)
    for member in getattr(model, "members", [model]):
        unseen.restore(member.words.weight.detach().numpy())
    return int(unseen.mapped_rows.size)
