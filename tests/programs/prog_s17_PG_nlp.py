"""Small text models trained end to end (PG, session 17; rewritten in our own code in
session 31, DD3): a word-count topic classifier, a next-word model over two words of context,
a gap filler that predicts a word from its four neighbours (max_norm / scale_grad_by_freq
embeddings), an LSTM word-class tagger, and a chunk tagger whose bidirectional LSTM feeds a
linear-chain CRF (log partition by the forward recursion, best path by max-product with back
pointers). Made-up sentences, seeded.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from prog_s17_PG_harness import put, put_state


def _index_of(sentences) -> dict:
    """word -> position of its first appearance over ``sentences`` (lists of words)."""
    index = {}
    for words in sentences:
        for word in words:
            index.setdefault(word, len(index))
    return index


def _ids(words, index) -> torch.Tensor:
    return torch.tensor([index[w] for w in words], dtype=torch.long)


def section_bow() -> None:
    train = [("stir the sauce and bake the bread slowly", 1),
             ("rain and wind all night over the hills", 0),
             ("salt the water then boil the pasta", 1),
             ("the sky clears after the storm by noon", 0)]
    held_out = ["bake it after the rain", "wind over the pasta water"]
    vocab = _index_of([text.split() for text, _ in train] + [text.split() for text in held_out])

    class WordCountClassifier(nn.Module):
        """Log-probabilities of (weather, cooking) from a sentence's word counts."""

        def __init__(self, n_words):
            super().__init__()
            self.scores = nn.Linear(n_words, 2)

        def forward(self, counts):
            return F.log_softmax(self.scores(counts), dim=1)

    def counts_of(text):
        counts = torch.zeros(len(vocab))
        for word in text.split():
            counts[vocab[word]] += 1
        return counts.view(1, -1)

    torch.manual_seed(11)
    model = WordCountClassifier(len(vocab))
    put("bow.init.param", model.scores.weight)
    with torch.no_grad():
        put("bow.before", torch.cat([model(counts_of(text)) for text in held_out]))
    criterion = nn.NLLLoss()
    sgd = optim.SGD(model.parameters(), lr=0.1)
    history = []
    for _round in range(25):
        for text, topic in train:
            model.zero_grad()
            loss = criterion(model(counts_of(text)), torch.LongTensor([topic]))
            loss.backward()
            sgd.step()
            history.append(loss.item())
    put("bow.losses", history)
    with torch.no_grad():
        put("bow.after", torch.cat([model(counts_of(text)) for text in held_out]))
    put("bow.bake", next(model.parameters())[:, vocab["bake"]])


LIGHTHOUSE = """the keeper climbs the stair at dusk and lights the lamp, the lamp turns
over the grey water all night, ships pass the rocks and the keeper sleeps at dawn, at dusk
the keeper climbs again""".replace(",", " ,").split()


def section_ngram() -> None:
    words = sorted(set(LIGHTHOUSE))
    index = {word: i for i, word in enumerate(words)}
    # (the two words before each position, oldest first) -> the word there
    pairs = [(LIGHTHOUSE[i - 2:i], LIGHTHOUSE[i]) for i in range(2, len(LIGHTHOUSE))]

    class NextWord(nn.Module):
        def __init__(self, n_words, width, context):
            super().__init__()
            self.table = nn.Embedding(n_words, width)
            self.hidden = nn.Linear(context * width, 12)
            self.out = nn.Linear(12, n_words)

        def forward(self, context_ids):
            joined = self.table(context_ids).view((1, -1))
            return F.log_softmax(self.out(F.relu(self.hidden(joined))), dim=1)

    model = NextWord(len(words), 5, 2)
    criterion = nn.NLLLoss()
    sgd = optim.SGD(model.parameters(), lr=0.002)
    totals = []
    for _sweep in range(3):
        total = 0.0
        for context, word in pairs:
            model.zero_grad()
            loss = criterion(model(_ids(context, index)),
                             torch.tensor([index[word]], dtype=torch.long))
            loss.backward()
            sgd.step()
            total += loss.item()
        totals.append(total)
    put("ngram.losses", totals)
    put("ngram.keeper", model.table.weight[index["keeper"]])


def section_cbow() -> None:
    text = """a river starts as rain on the mountain and runs down through the forest to
    the valley where the river widens and slows before it reaches the sea""".split()
    index = {word: i for i, word in enumerate(sorted(set(text)))}
    # each word with the two words on either side of it
    gaps = [(text[i - 2:i] + text[i + 1:i + 3], text[i]) for i in range(2, len(text) - 2)]

    class GapFiller(nn.Module):
        def __init__(self, n_words, width):
            super().__init__()
            # rows renormalised to norm 1 when looked up; a word's gradient divided by how
            # often it occurs in the batch
            self.vectors = nn.Embedding(n_words, width, max_norm=1.0, scale_grad_by_freq=True)
            self.decode = nn.Linear(width, n_words)

        def forward(self, around):
            return F.log_softmax(self.decode(self.vectors(around).sum(dim=-2)), dim=-1)

    model = GapFiller(len(index), 4)
    adam = optim.Adam(model.parameters(), lr=0.02)
    around = torch.stack([_ids(neighbours, index) for neighbours, _ in gaps])
    missing = torch.tensor([index[word] for _, word in gaps])
    history = []
    for _step in range(12):
        adam.zero_grad()
        loss = F.nll_loss(model(around), missing)
        loss.backward()
        adam.step()
        history.append(loss.item())
    put("cbow.losses", history)
    put_state("cbow.state", model)
    put("cbow.norms", model.vectors.weight.norm(dim=1))
    put("cbow.pred", model(_ids(gaps[3][0], index)).argmax())


def section_pos_tagger() -> None:
    labelled = [("a cat sees the small bird".split(), ["ART", "NOUN", "VERB", "ART", "ADJ",
                                                         "NOUN"]),
                ("birds sing loud songs".split(), ["NOUN", "VERB", "ADJ", "NOUN"]),
                ("the old dog sleeps".split(), ["ART", "ADJ", "NOUN", "VERB"])]
    vocab = _index_of(words for words, _ in labelled)
    classes = {"ART": 0, "ADJ": 1, "NOUN": 2, "VERB": 3}

    class WordClassLSTM(nn.Module):
        def __init__(self, n_words, n_classes, width, hidden):
            super().__init__()
            self.embed = nn.Embedding(n_words, width)
            self.rnn = nn.LSTM(width, hidden)
            self.to_classes = nn.Linear(hidden, n_classes)

        def forward(self, ids):
            steps = self.embed(ids).unsqueeze(1)  # (length, batch of 1, width)
            states, _ = self.rnn(steps)
            return F.log_softmax(self.to_classes(states.squeeze(1)), dim=1)

    model = WordClassLSTM(len(vocab), len(classes), 5, 7)
    criterion = nn.NLLLoss()
    sgd = optim.SGD(model.parameters(), lr=0.1)
    probe = _ids(labelled[0][0], vocab)
    with torch.no_grad():
        put("pos.before", model(probe))
    history = []
    for _round in range(15):
        for words, tags in labelled:
            model.zero_grad()
            loss = criterion(model(_ids(words, vocab)), _ids(tags, classes))
            loss.backward()
            sgd.step()
            history.append(loss.item())
    put("pos.losses", history)
    with torch.no_grad():
        put("pos.after", model(probe))
    put_state("pos.state", model)


def _stable_lse(rows: torch.Tensor) -> torch.Tensor:
    """log(sum(exp(row))) of each row of a 2-D tensor, shifted by the row's maximum."""
    top, _ = torch.max(rows, 1, keepdim=True)
    return (top + torch.log(torch.sum(torch.exp(rows - top), 1, keepdim=True))).squeeze(1)


def section_bilstm_crf() -> None:
    tags = {"B": 0, "I": 1, "O": 2, "<begin>": 3, "<end>": 4}
    begin, end, n_tags = tags["<begin>"], tags["<end>"], len(tags)
    chunked = [("new york city hosts a big marathon every november".split(),
                "B I I O O O O O B".split()),
               ("the red cross sent help to rural areas".split(),
                "O B I O O O B I".split())]
    vocab = _index_of(words for words, _ in chunked)

    class ChunkTagger(nn.Module):
        """Emission scores from a bidirectional LSTM; ``moves[to, from]`` the transition
        scores of a linear-chain CRF over them."""

        def __init__(self, n_words, width, hidden):
            super().__init__()
            self.half = hidden // 2
            self.lookup = nn.Embedding(n_words, width)
            self.birnn = nn.LSTM(width, self.half, num_layers=1, bidirectional=True)
            self.emit = nn.Linear(hidden, n_tags)
            self.moves = nn.Parameter(torch.randn(n_tags, n_tags))
            self.moves.data[begin, :] = -1e4  # nothing moves into <begin>
            self.moves.data[:, end] = -1e4  # nothing leaves <end>

        def emissions(self, ids):
            start = (torch.randn(2, 1, self.half), torch.randn(2, 1, self.half))
            states, _ = self.birnn(self.lookup(ids).view(len(ids), 1, -1), start)
            return self.emit(states.view(len(ids), -1))

        def log_partition(self, emitted):
            alpha = torch.full((1, n_tags), -1e4)
            alpha[0][begin] = 0.0
            for scores in emitted:
                # row j: every way into tag j this step (from each tag, plus j's emission)
                into = alpha.expand(n_tags, n_tags) + self.moves \
                    + scores.view(n_tags, 1).expand(n_tags, n_tags)
                alpha = _stable_lse(into).view(1, -1)
            return _stable_lse(alpha + self.moves[end].view(1, -1))[0]

        def path_score(self, emitted, gold):
            path = torch.cat([torch.tensor([begin], dtype=torch.long), gold])
            total = torch.zeros(1)
            for step, scores in enumerate(emitted):
                total = total + self.moves[path[step + 1], path[step]] + scores[path[step + 1]]
            return total + self.moves[end, path[-1]]

        def nll(self, ids, gold):
            emitted = self.emissions(ids)
            return self.log_partition(emitted) - self.path_score(emitted, gold)

        def forward(self, ids):
            """(best path's score, best path) by max-product with back pointers."""
            best = torch.full((1, n_tags), -1e4)
            best[0][begin] = 0
            pointers = []
            for scores in self.emissions(ids):
                values, came_from = torch.max(best + self.moves, 1)
                pointers.append(came_from.tolist())
                best = (values + scores).view(1, -1)
            last = best + self.moves[end].view(1, -1)
            score, tag = torch.max(last, 1)
            path = [tag.item()]
            for back in reversed(pointers):
                path.append(back[path[-1]])
            assert path.pop() == begin
            return score[0], path[::-1]

    model = ChunkTagger(len(vocab), 6, 4)
    sgd = optim.SGD(model.parameters(), lr=0.01, weight_decay=1e-4)
    probe = _ids(chunked[0][0], vocab)
    with torch.no_grad():
        score, path = model(probe)
        put("crf.before.score", score)
        put("crf.before.path", path)
    history = []
    for _round in range(3):
        for words, gold in chunked:
            model.zero_grad()
            loss = model.nll(_ids(words, vocab), _ids(gold, tags))
            loss.backward()
            sgd.step()
            history.append(loss.item())
    put("crf.losses", history)
    put("crf.transitions.grad", model.moves.grad)
    with torch.no_grad():
        score, path = model(probe)
        put("crf.after.score", score)
        put("crf.after.path", path)


SECTIONS = {"bow": section_bow, "ngram": section_ngram, "cbow": section_cbow,
            "pos": section_pos_tagger, "crf": section_bilstm_crf}
