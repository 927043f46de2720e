"""Skip-gram word2vec with negative sampling, in the manner of the public PyTorch versions.

Two embedding tables (centre words ``u``, context words ``v``), the score of a true pair against
``neg_count`` words drawn from the unigram distribution to the 3/4 power, ``bmm`` for the
negatives and ``logsigmoid`` for the loss. ``sparse=True`` gives sparse gradients trained by
``optim.SparseAdam``. Pairs and negatives come from a seeded NumPy generator inside the
Dataset, so two libraries see the same batches.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from corpus import TEXT


class Vocabulary:
    """Words seen at least ``min_count`` times, their ids and the negative-sampling table."""

    def __init__(self, text: str = TEXT, min_count: int = 1, table_size: int = 100_000):
        counts = Counter(text.replace(".", " ").replace(",", " ").split())
        words = sorted((w for w, c in counts.items() if c >= min_count),
                       key=lambda w: (-counts[w], w))
        self.word2id = {w: i for i, w in enumerate(words)}
        self.id2word = dict(enumerate(words))
        self.frequency = np.array([counts[w] for w in words], dtype=np.float64)
        weights = self.frequency ** 0.75
        repeats = np.round(weights / weights.sum() * table_size).astype(np.int64)
        self.negatives = np.repeat(np.arange(len(words)), repeats)
        self.corpus = [self.word2id[w] for w in text.replace(".", " ").replace(",", " ").split()
                       if w in self.word2id]

    def __len__(self) -> int:
        return len(self.word2id)


def pair_dataset(torch, vocab: Vocabulary, window_size=2, neg_count=5, seed=0):
    """A ``torch.utils.data.Dataset`` of (centre, context, negatives) triples."""
    Dataset = torch.utils.data.Dataset

    class Word2vecDataset(Dataset):
        def __init__(self):
            rng = np.random.default_rng(seed)
            pairs = []
            corpus = vocab.corpus
            for i, u in enumerate(corpus):
                # A random window per centre word, as the original C code shrinks it.
                b = int(rng.integers(1, window_size + 1))
                for j in range(max(0, i - b), min(len(corpus), i + b + 1)):
                    if j != i:
                        pairs.append((u, corpus[j]))
            self.pairs = pairs
            self.negs = rng.choice(vocab.negatives, size=(len(pairs), neg_count))

        def __len__(self):
            return len(self.pairs)

        def __getitem__(self, idx):
            u, v = self.pairs[idx]
            return u, v, self.negs[idx]

        @staticmethod
        def collate(batches):
            all_u = [u for u, _, _ in batches]
            all_v = [v for _, v, _ in batches]
            all_neg_v = [neg for _, _, neg in batches]
            return (torch.LongTensor(all_u), torch.LongTensor(all_v),
                    torch.from_numpy(np.stack(all_neg_v)))

    return Word2vecDataset()


def skipgram(torch, vocab_size, emb_dimension=16, sparse=False):
    """The model: centre embeddings start uniform in +-1/dim, context embeddings at zero."""
    nn, F, init = torch.nn, torch.nn.functional, torch.nn.init

    class SkipGramModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb_dimension = emb_dimension
            self.u_embeddings = nn.Embedding(vocab_size, emb_dimension, sparse=sparse)
            self.v_embeddings = nn.Embedding(vocab_size, emb_dimension, sparse=sparse)
            initrange = 1.0 / self.emb_dimension
            init.uniform_(self.u_embeddings.weight.data, -initrange, initrange)
            init.constant_(self.v_embeddings.weight.data, 0)

        def forward(self, pos_u, pos_v, neg_v):
            emb_u = self.u_embeddings(pos_u)
            emb_v = self.v_embeddings(pos_v)
            emb_neg_v = self.v_embeddings(neg_v)

            score = torch.sum(torch.mul(emb_u, emb_v), dim=1)
            score = torch.clamp(score, max=10, min=-10)
            score = -F.logsigmoid(score)

            neg_score = torch.bmm(emb_neg_v, emb_u.unsqueeze(2)).squeeze()
            neg_score = torch.clamp(neg_score, max=10, min=-10)
            neg_score = -torch.sum(F.logsigmoid(-neg_score), dim=1)

            return torch.mean(score + neg_score)

        def embeddings(self):
            return self.u_embeddings.weight.cpu().data.numpy()

    return SkipGramModel()


def train(torch, model, vocab: Vocabulary, epochs=1, batch_size=32, lr=0.01, max_steps=None,
          sparse=False):
    """Adam (or SparseAdam for sparse embeddings) with cosine annealing over each epoch."""
    dataset = pair_dataset(torch, vocab)
    dataloader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False,
                                             num_workers=0, collate_fn=dataset.collate)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    losses = []
    for _ in range(epochs):
        if sparse:
            optimizer = torch.optim.SparseAdam(list(model.parameters()), lr=lr)
        else:
            optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, len(dataloader))
        running_loss = 0.0
        for i, sample_batched in enumerate(dataloader):
            if max_steps is not None and i >= max_steps:
                break
            if len(sample_batched[0]) > 1:
                pos_u = sample_batched[0].to(device)
                pos_v = sample_batched[1].to(device)
                neg_v = sample_batched[2].to(device)

                optimizer.zero_grad()
                loss = model.forward(pos_u, pos_v, neg_v)
                loss.backward()
                optimizer.step()
                scheduler.step()

                running_loss = running_loss * 0.9 + loss.item() * 0.1
                losses.append(loss.item())
                if i > 0 and i % 50 == 0:
                    print(f" Loss: {running_loss}")
    return losses


def most_similar(torch, model, vocab: Vocabulary, word: str, k: int = 3) -> list[str]:
    """The ``k`` nearest words to ``word`` by cosine similarity of the centre embeddings."""
    F = torch.nn.functional
    emb = F.normalize(torch.from_numpy(model.embeddings()), dim=1)
    sims = emb @ emb[vocab.word2id[word]]
    _, idx = torch.topk(sims, k + 1)
    return [vocab.id2word[i] for i in idx.tolist() if vocab.id2word[i] != word][:k]


def main(torch, epochs: int = 3, sparse: bool = True) -> list[float]:
    """Train on the embedded text and print the neighbours of a few words."""
    torch.manual_seed(0)
    vocab = Vocabulary()
    model = skipgram(torch, len(vocab), sparse=sparse)
    losses = train(torch, model, vocab, epochs=epochs, sparse=sparse)
    for word in ("sea", "bread", "cat"):
        print(word, most_similar(torch, model, vocab, word))
    return losses
