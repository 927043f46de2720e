"""The window classifier: embed each word of a window, concatenate, one hidden layer, scores."""

from __future__ import annotations

import numpy as np

import deltagrad as dg
from deltagrad import nn
from deltagrad.nn import functional as F

__all__ = ["ACTIVATIONS", "WindowTagger"]

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "hardtanh": nn.Hardtanh}


class WindowTagger(nn.Module):
    """Scores the tags of a window's centre word (CS224N Lecture 4's window classifier).

    For a window of ``2w + 1`` positions, each position contributes its word vector, a small
    casing vector and a small suffix vector; the ``(2w + 1) * d`` concatenation x goes through
    ``h = f(W x + b)``, dropout, and ``s = U h + c``: one score per tag.

    Args:
        vocab_size, word_dim: the word embedding table.
        n_casings, casing_dim: the casing feature's table (``casing_dim=0`` leaves it out).
        n_suffixes, suffix_dim: the suffix feature's table (``suffix_dim=0`` leaves it out).
        window: words on each side of the centre.
        hidden: width of the hidden layer.
        n_tags: number of classes.
        activation: "relu", "tanh" or "hardtanh".
        dropout: dropout probability on the hidden layer.
        word_vectors: float32 ``[vocab_size, word_dim]`` initial word vectors, or None.
        freeze_words: keep the word vectors fixed (frozen pretrained embeddings).
        generator: the random generator for initialisation.
    """

    def __init__(self, *, vocab_size: int, word_dim: int, n_casings: int, casing_dim: int,
                 n_suffixes: int, suffix_dim: int, window: int, hidden: int, n_tags: int,
                 activation: str = "relu", dropout: float = 0.5,
                 word_vectors: np.ndarray | None = None, freeze_words: bool = False,
                 crf: bool = False, generator: dg.Generator | None = None):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        if word_vectors is None:
            word_vectors = (generator.numpy if generator else np.random.default_rng(0)).normal(
                0.0, 0.1, (vocab_size, word_dim)).astype(np.float32)
        self.words = nn.Embedding.from_pretrained(dg.from_numpy(word_vectors), freeze=freeze_words,
                                                  sparse=True)
        self.casing = nn.Embedding(n_casings, casing_dim, sparse=True) if casing_dim else None
        self.suffixes = nn.Embedding(n_suffixes, suffix_dim, sparse=True) if suffix_dim else None
        width = (2 * window + 1) * (word_dim + casing_dim + suffix_dim)
        self.hidden = nn.Linear(width, hidden)
        self.activation = ACTIVATIONS[activation]()
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden, n_tags)
        gain = nn.init.calculate_gain("relu" if activation == "relu" else "tanh")
        for layer, layer_gain in ((self.hidden, gain), (self.output, 1.0)):
            nn.init.xavier_uniform_(layer.weight, gain=layer_gain, generator=generator)
            nn.init.zeros_(layer.bias)
        for table in (self.casing, self.suffixes):
            if table is not None:
                nn.init.normal_(table.weight, 0.0, 0.1, generator=generator)
        # Sentence-level training: scores of tag bigrams [previous, next], learned with the
        # rest (a linear-chain CRF over the window scores).
        self.transitions = nn.Parameter(dg.zeros(n_tags, n_tags)) if crf else None

    def forward(self, words, casing, suffixes):
        """Tag scores for each window.

        Args:
            words, casing, suffixes: int64 ``[batch, 2w + 1]`` ids of the window's positions.

        Returns:
            float32 ``[batch, n_tags]`` unnormalised scores.
        """
        parts = [self.words(words)]
        if self.casing is not None:
            parts.append(self.casing(casing))
        if self.suffixes is not None:
            parts.append(self.suffixes(suffixes))
        x = dg.cat(parts, dim=-1) if len(parts) > 1 else parts[0]
        x = x.reshape(x.shape[0], -1)  # the (2w + 1) * d window vector
        return self.output(self.dropout(self.activation(self.hidden(x))))

    def loss(self, scores, tags):
        """Per-token softmax cross-entropy (the window classifier's own loss)."""
        return F.cross_entropy(scores, tags)

    def crf_loss(self, scores, tags, lengths):
        """Negative log-likelihood of whole tag sequences under a linear-chain CRF, per token.

        ``log p(y | x) = sum_t s[t, y_t] + sum_t A[y_(t-1), y_t] - log Z``, with log Z from the
        forward algorithm (a logsumexp recursion over time); deltagrad differentiates it.

        Args:
            scores: float32 ``[n_tokens, n_tags]``, sentences one after another.
            tags: int64 ``[n_tokens]`` gold tags.
            lengths: int ``[n_sentences]`` sentence lengths summing to ``n_tokens``.

        Returns:
            A scalar: the summed negative log-likelihood divided by the number of tokens.
        """
        lengths = np.asarray(lengths)
        n_sentences, longest = lengths.size, int(lengths.max())
        starts = np.cumsum(lengths) - lengths
        steps = np.arange(longest)
        mask = steps[None, :] < lengths[:, None]  # [B, T]
        index = np.where(mask, starts[:, None] + steps[None, :], 0)
        emissions = scores[index]  # [B, T, K]
        gold = np.where(mask, tags.detach().numpy()[index], 0)
        transitions = self.transitions
        alpha = emissions[:, 0]
        for t in range(1, longest):
            step = (alpha.unsqueeze(2) + transitions).logsumexp(dim=1) + emissions[:, t]
            alpha = dg.where(mask[:, t:t + 1], step, alpha)
        log_z = alpha.logsumexp(dim=1).sum()
        rows = np.arange(n_sentences)[:, None]
        emitted = (emissions[rows, steps[None, :], gold] * dg.from_numpy(mask.astype(
            np.float32))).sum()
        moved = (transitions[gold[:, :-1], gold[:, 1:]] * dg.from_numpy(
            mask[:, 1:].astype(np.float32))).sum()
        return (log_z - emitted - moved) / float(lengths.sum())
