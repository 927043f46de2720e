"""The window classifier: embed each word of a window (and its document), one hidden layer."""

from __future__ import annotations

import numpy as np

import deltagrad as dg
from deltagrad import nn
from deltagrad.ner.bags import bag_means, constant_bag_means
from deltagrad.ner.char_cnn import CharCNN
from deltagrad.ner.chars import N_CHARS
from deltagrad.ner.crf import sequence_nll
from deltagrad.ner.document import DOC_STATS
from deltagrad.nn import functional as F

__all__ = ["ACTIVATIONS", "WindowTagger", "input_width"]

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "hardtanh": nn.Hardtanh}


def input_width(*, window: int, word_dim: int, casing_dim: int, suffix_dim: int,
                char_dim: int = 0, char_window: int = 0, document: bool = False,
                gazetteer_width: int = 0, topic_bags: int = 0, history_width: int = 0) -> int:
    """The width of the hidden layer's input: the window's positions, the spellings of the
    ``2 * char_window + 1`` central positions, the document features, the gazetteer's, the
    mean vectors of the token's sentence and/or document, then the prediction history."""
    return ((2 * window + 1) * (word_dim + casing_dim + suffix_dim)
            + (2 * char_window + 1) * char_dim + (2 * word_dim + DOC_STATS if document else 0)
            + gazetteer_width + topic_bags * word_dim + history_width)


class WindowTagger(nn.Module):
    """Scores the tags of a window's centre word (CS224N Lecture 4's window classifier).

    For a window of ``2w + 1`` positions, each position contributes its word vector, a small
    casing vector and a small suffix vector; then (optionally) the spelling vectors of the
    ``2 * char_window + 1`` central positions, each the mean of its character n-gram vectors
    or the output of a character CNN (:class:`~deltagrad.ner.char_cnn.CharCNN`); with document
    features, the mean word vectors of the words around the token's other mentions in its
    document (left and right) and their statistics follow. The concatenation x goes through
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
        crf: learn tag-transition scores for a linear-chain CRF loss.
        char_buckets, char_dim: the hashed character n-gram table (``char_dim=0``: none).
        char_embedding, char_kernel: with ``char_embedding > 0``, a character CNN
            (:class:`CharCNN`, ``char_dim`` filters of ``char_kernel`` characters over
            ``char_embedding``-wide character vectors) instead of the n-gram table.
        char_window: positions on each side of the centre that contribute their spelling.
        document: take document features.
        gazetteer_width: gazetteer features per token (0: none).
        topic_bags: mean word vectors of the token's sentence and/or document (0, 1 or 2).
        history_width: non-local prediction features per token (0: none; history.py).
        generator: the random generator for initialisation.
    """

    def __init__(self, *, vocab_size: int, word_dim: int, n_casings: int, casing_dim: int,
                 n_suffixes: int, suffix_dim: int, window: int, hidden: int, n_tags: int,
                 activation: str = "relu", dropout: float = 0.5,
                 word_vectors: np.ndarray | None = None, freeze_words: bool = False,
                 crf: bool = False, char_buckets: int = 0, char_dim: int = 0,
                 char_window: int = 0, document: bool = False, gazetteer_width: int = 0,
                 topic_bags: int = 0, char_embedding: int = 0, char_kernel: int = 3,
                 history_width: int = 0, generator: dg.Generator | None = None):
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
        if char_dim and char_embedding:
            self.chars = CharCNN(N_CHARS, char_embedding, char_dim, char_kernel, generator)
        else:
            self.chars = (nn.EmbeddingBag(char_buckets, char_dim, mode="mean", sparse=True,
                                          padding_idx=0) if char_dim and char_buckets else None)
        self.document = document
        self.gazetteer_width, self.topic_bags = gazetteer_width, topic_bags
        self.history_width = history_width
        width = input_width(window=window, word_dim=word_dim, casing_dim=casing_dim,
                            suffix_dim=suffix_dim, char_dim=char_dim if self.chars else 0,
                            char_window=char_window, document=document,
                            gazetteer_width=gazetteer_width, topic_bags=topic_bags,
                            history_width=history_width)
        self.hidden = nn.Linear(width, hidden)
        self.activation = ACTIVATIONS[activation]()
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden, n_tags)
        gain = nn.init.calculate_gain("relu" if activation == "relu" else "tanh")
        for layer, layer_gain in ((self.hidden, gain), (self.output, 1.0)):
            nn.init.xavier_uniform_(layer.weight, gain=layer_gain, generator=generator)
            nn.init.zeros_(layer.bias)
        n_grams = self.chars if isinstance(self.chars, nn.EmbeddingBag) else None
        for table in (self.casing, self.suffixes, n_grams):
            if table is not None:
                nn.init.normal_(table.weight, 0.0, 0.1, generator=generator)
        if n_grams is not None:
            n_grams.weight.detach().numpy()[0] = 0.0  # padding: no n-gram
        # Sentence-level training: scores of tag bigrams [previous, next], learned with the
        # rest (a linear-chain CRF over the window scores).
        self.transitions = nn.Parameter(dg.zeros(n_tags, n_tags)) if crf else None

    def forward(self, words, casing, suffixes, char_ngrams=None, char_index=None, context=None,
                context_offsets=None, doc_stats=None, gazetteer=None, topic=None,
                topic_offsets=None, topic_index=None, history=None):
        """Tag scores for each window (``model(**batch.inputs())`` passes what a model takes).

        Args:
            words, casing, suffixes: int64 ``[batch, 2w + 1]`` ids of the window's positions.
            char_ngrams, char_index: int64 ``[u, k]`` n-gram ids of ``u`` spellings (0 pads)
                and int64 ``[batch, 2 * char_window + 1]`` each central position's spelling
                (needed with character features).
            context, context_offsets: int64 1-D word ids of ``2 * batch`` bags (each token's
                left bag, then its right bag) and where each bag starts (needed with document
                features).
            doc_stats: float32 ``[batch, DOC_STATS]`` (needed with document features).
            gazetteer: float32 ``[batch, gazetteer_width]`` (needed with a gazetteer).
            topic, topic_offsets, topic_index: int64 1-D word ids of ``b`` sentence/document
                bags, where each bag starts, and int64 ``[batch, topic_bags]`` each token's
                bags (needed with topic features).
            history: float32 ``[batch, history_width]`` (needed with prediction history).

        Returns:
            float32 ``[batch, n_tags]`` unnormalised scores.
        """
        parts = [self.words(words)]
        if self.casing is not None:
            parts.append(self.casing(casing))
        if self.suffixes is not None:
            parts.append(self.suffixes(suffixes))
        x = dg.cat(parts, dim=-1) if len(parts) > 1 else parts[0]
        n = x.shape[0]
        # Everything after the window goes into one concatenation with it:
        # the same bits as a cat per feature group, one copy of the hidden layer's input and
        # one graph node instead of up to four (default model, forward + backward of a batch
        # 8.46 -> 8.14 ms, thread time, medians of 15 alternated rounds on a loaded machine;
        # issue 18).
        inputs = [x.reshape(n, -1)]  # the (2w + 1) * d window vector
        constant = []  # (features without a gradient: they follow the trainable ones)
        if self.chars is not None:
            if char_ngrams is None or char_index is None:
                raise ValueError("this model takes character features: pass char_ngrams and "
                                 "char_index (model(**batch.inputs()))")
            # One vector per distinct spelling of the batch, gathered back to the window
            # positions: the CNN does both in one op, the n-grams' mean vectors are indexed.
            spelling = (self.chars(char_ngrams, char_index) if isinstance(self.chars, CharCNN)
                        else self.chars(char_ngrams)[char_index.numpy()])
            inputs.append(spelling.reshape(n, -1))
        if self.document:
            if context is None or context_offsets is None or doc_stats is None:
                raise ValueError("this model takes document features: pass context, "
                                 "context_offsets and doc_stats (model(**batch.inputs()))")
            # The mean word vector of each bag (an empty bag gives zeros).
            around = bag_means(context, self.words.weight, context_offsets)
            inputs.append(around.reshape(n, -1))
            constant.append(doc_stats)
        if self.gazetteer_width:
            if gazetteer is None:
                raise ValueError("this model takes gazetteer features: pass gazetteer "
                                 "(model(**batch.inputs()))")
            constant.append(gazetteer)
        if self.topic_bags:
            if topic is None or topic_offsets is None or topic_index is None:
                raise ValueError("this model takes topic features: pass topic, topic_offsets "
                                 "and topic_index (model(**batch.inputs()))")
            # One row per bag (an empty bag: zeros), as constants: with a gradient, the
            # vectors of a document's words also learn to tag that document, which does not
            # carry over (held-out criterion G, gazetteer + topic, seed 0: 0.8802 with a
            # gradient, 0.8881 without; the best epoch 3 against 4).
            means = constant_bag_means(topic, self.words.weight.detach(), topic_offsets)
            constant.append(means[topic_index.numpy()].reshape(n, -1))
        if self.history_width:
            if history is None:
                raise ValueError("this model takes prediction-history features: pass history "
                                 "(model(**batch.inputs()))")
            constant.append(history)
        # The trainable features first, then the constant ones (the same columns as before;
        # the cat's backward hands no gradient to the constant ones). Session 20's shortcut
        # layer (the former ner/hidden.py: the input's gradient only for the trainable columns)
        # was retired in session 26: once it had to compute that gradient over the whole width
        # for the plain layer's bits under every BLAS kernel, it was slower than this (thread
        # time, one thread, alternated: layer forward + backward at 256 rows 2.82 -> 2.67 ms; a
        # default training step 6.27 -> 6.13 ms; a 1-epoch run's weights byte for byte the same).
        parts = inputs + constant
        hidden = self.hidden(dg.cat(parts, dim=-1) if len(parts) > 1 else parts[0])
        return self.output(self.dropout(self.activation(hidden)))

    def loss(self, scores, tags):
        """Per-token softmax cross-entropy (the window classifier's own loss)."""
        return F.cross_entropy(scores, tags)

    def crf_loss(self, scores, tags, lengths):
        """Negative log-likelihood of whole tag sequences under a linear-chain CRF, per token.

        ``log p(y | x) = sum_t s[t, y_t] + sum_t A[y_(t-1), y_t] - log Z``: one op
        (:func:`deltagrad.ner.crf.sequence_nll`, forward-backward in NumPy), since the
        recursion written with deltagrad's ops records six graph nodes per time step.

        Args:
            scores: float32 ``[n_tokens, n_tags]``, sentences one after another.
            tags: int64 ``[n_tokens]`` gold tags.
            lengths: int ``[n_sentences]`` sentence lengths summing to ``n_tokens``.

        Returns:
            A scalar: the summed negative log-likelihood divided by the number of tokens.
        """
        if self.transitions is None:
            raise ValueError("this model has no transition scores: build it with crf=True")
        return sequence_nll(scores, self.transitions, tags, lengths)
