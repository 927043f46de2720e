"""Probe program (LC, session 12): the Dive into Deep Learning book's ``d2l.torch`` library
(its Module / DataModule / Trainer classes, the scratch and concise models of the linear,
classification, CNN, RNN, seq2seq, attention and BERT chapters), seeded and small, on synthetic
data (the book's downloads are not reachable). Every number goes to an .npz.

Run as ``python prog_s12_LC_d2l.py OUT.npz [PARTS]`` with torchvision on the path (d2l imports
it; it lives in ``.venv/tv-extra``), on the real PyTorch or under ``python -m deltagrad run``
unchanged; ``test_s12_LC_d2l.py`` compares the two. d2l imports IPython's display and
matplotlib-inline for its notebook plots: both sides get the same do-nothing stand-ins, and the
progress boards are told not to draw.
"""
import sys
import types

import matplotlib
import numpy as np
import torch
from probe_parts import OUT, PARTS, main, part, put  # noqa: F401 - the harness
from tv_common import declare_torchvision_ops

declare_torchvision_ops()  # (d2l imports torchvision: the CUDA wheel's two op schemas)
matplotlib.use("Agg")
for _name, _attrs in (("IPython", {}), ("IPython.display", {
        "display": lambda *a, **k: None, "clear_output": lambda *a, **k: None}),
        ("matplotlib_inline", {}), ("matplotlib_inline.backend_inline", {
            "set_matplotlib_formats": lambda *a, **k: None})):
    if _name not in sys.modules:
        _module = types.ModuleType(_name)
        vars(_module).update(_attrs)
        sys.modules[_name] = _module
sys.modules["IPython"].display = sys.modules["IPython.display"]
sys.modules["matplotlib_inline"].backend_inline = sys.modules["matplotlib_inline.backend_inline"]


def quiet(model):
    """No plots: the board keeps its points only."""
    model.board.display = False
    return model


def board_points(model, prefix):
    """The averaged points d2l's board recorded during ``fit`` (the book plots these)."""
    for label, points in model.board.data.items():
        put(f"{prefix}.board.{label}", np.array([[p.x, p.y] for p in points], dtype=np.float64))


@part("linear", "d2l")
def linear_part():
    from d2l import torch as d2l

    data = d2l.SyntheticRegressionData(w=torch.tensor([2.0, -3.4]), b=4.2, num_train=96,
                                       num_val=32, batch_size=16)
    scratch = quiet(d2l.LinearRegressionScratch(2, lr=0.03))
    d2l.Trainer(max_epochs=2).fit(scratch, data)
    put("linear.scratch.w", scratch.w)
    put("linear.scratch.b", scratch.b)
    board_points(scratch, "linear.scratch")
    concise = quiet(d2l.LinearRegression(lr=0.03))
    d2l.Trainer(max_epochs=2).fit(concise, data)
    w, b = concise.get_w_b()
    put("linear.concise.w", w)
    put("linear.concise.b", b)
    board_points(concise, "linear.concise")


class _Images:
    """A small synthetic stand-in for the book's Fashion-MNIST module."""

    @staticmethod
    def make(d2l):
        class Images(d2l.DataModule):
            def __init__(self, batch_size=16):
                super().__init__()
                self.save_hyperparameters()
                self.X = torch.rand(64, 1, 28, 28)
                self.y = (self.X.mean(dim=(1, 2, 3)) * 1e3).long() % 10

            def get_dataloader(self, train):
                i = slice(0, 48) if train else slice(48, None)
                return self.get_tensorloader((self.X, self.y), train, i)
        return Images()


@part("classify", "d2l")
def classify_part():
    from d2l import torch as d2l

    data = _Images.make(d2l)
    softmax = quiet(d2l.SoftmaxRegression(num_outputs=10, lr=0.1))
    d2l.Trainer(max_epochs=2).fit(softmax, data)
    board_points(softmax, "classify.softmax")
    put("classify.softmax.w", softmax.net[1].weight)
    lenet = quiet(d2l.LeNet(lr=0.1))
    lenet.apply_init([next(iter(data.get_dataloader(True)))[0]], d2l.init_cnn)
    d2l.Trainer(max_epochs=1).fit(lenet, data)
    board_points(lenet, "classify.lenet")
    X, y = data.X[48:], data.y[48:]
    put("classify.lenet.out", lenet(X))
    put("classify.lenet.acc", lenet.accuracy(lenet(X), y))
    put("classify.lenet.loss_none", lenet.loss(lenet(X), y, averaged=False))
    put("classify.corr2d", d2l.corr2d(torch.arange(16.0).reshape(4, 4),
                                      torch.tensor([[1.0, -1.0]])))


@part("rnn", "d2l")
def rnn_part():
    from d2l import torch as d2l

    text = "the time traveller for so it will be convenient to speak of him " * 4
    vocab = d2l.Vocab(list(text))
    corpus = torch.tensor(vocab[list(text)])
    put("rnn.vocab", np.array(vocab.idx_to_token))

    class Chars(d2l.DataModule):
        def __init__(self, batch_size=8, num_steps=10):
            super().__init__()
            self.save_hyperparameters()
            array = torch.stack([corpus[i:i + num_steps + 1]
                                 for i in range(len(corpus) - num_steps)])
            self.X, self.Y = array[:, :-1], array[:, 1:]

        def get_dataloader(self, train):
            i = slice(0, 160) if train else slice(160, 200)
            return self.get_tensorloader([self.X, self.Y], train, i)

    data = Chars()
    rnn = d2l.RNNScratch(num_inputs=len(vocab), num_hiddens=16)
    scratch = quiet(d2l.RNNLMScratch(rnn, vocab_size=len(vocab), lr=1))
    d2l.Trainer(max_epochs=2, gradient_clip_val=1).fit(scratch, data)
    board_points(scratch, "rnn.scratch")
    put("rnn.scratch.predict", np.array(scratch.predict("the ", 8, vocab)))
    gru = d2l.GRU(num_inputs=len(vocab), num_hiddens=16, num_layers=2)
    concise = quiet(d2l.RNNLM(gru, vocab_size=len(vocab), lr=2))
    d2l.Trainer(max_epochs=2, gradient_clip_val=1).fit(concise, data)
    board_points(concise, "rnn.gru")
    put("rnn.gru.predict", np.array(concise.predict("time ", 8, vocab)))


@part("seq2seq", "d2l")
def seq2seq_part():
    from d2l import torch as d2l

    class Decoder(d2l.Decoder):
        """A GRU decoder fed the encoder's last state as context at every step."""

        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers):
            super().__init__()
            self.embedding = torch.nn.Embedding(vocab_size, embed_size)
            self.rnn = d2l.GRU(embed_size + num_hiddens, num_hiddens, num_layers)
            self.dense = torch.nn.LazyLinear(vocab_size)
            self.apply(d2l.init_seq2seq)

        def init_state(self, enc_all_outputs, *args):
            return enc_all_outputs

        def forward(self, X, state):
            embs = self.embedding(X.t().long())
            enc_output, hidden_state = state
            context = enc_output[-1].repeat(embs.shape[0], 1, 1)
            outputs, hidden_state = self.rnn(torch.cat((embs, context), -1), hidden_state)
            return self.dense(outputs).swapaxes(0, 1), [enc_output, hidden_state]

    src = torch.randint(3, 12, (24, 6))
    tgt = torch.cat([torch.ones(24, 1, dtype=torch.long), src.flip(1)[:, :-1]], 1)
    label = src.flip(1)
    valid = torch.full((24,), 6)

    class Pairs(d2l.DataModule):
        def __init__(self, batch_size=8):
            super().__init__()
            self.save_hyperparameters()

        def get_dataloader(self, train):
            i = slice(0, 16) if train else slice(16, None)
            return self.get_tensorloader([src, tgt, valid, label], train, i)

    encoder = d2l.Seq2SeqEncoder(12, embed_size=8, num_hiddens=16, num_layers=2)
    decoder = Decoder(12, embed_size=8, num_hiddens=16, num_layers=2)
    model = quiet(d2l.Seq2Seq(encoder, decoder, tgt_pad=0, lr=0.01))
    d2l.Trainer(max_epochs=3, gradient_clip_val=1).fit(model, Pairs())
    board_points(model, "seq2seq")
    batch = [src[16:], tgt[16:], valid[16:], label[16:]]
    predicted, _ = model.predict_step(batch, d2l.cpu(), num_steps=6)
    put("seq2seq.predicted", predicted)
    put("seq2seq.bleu", np.array(d2l.bleu("he is calm .", "he is very calm .", k=2)))
    put("seq2seq.mask", d2l.sequence_mask(torch.ones(2, 4), torch.tensor([1, 3])))


@part("attention", "d2l")
def attention_part():
    from d2l import torch as d2l

    scores = torch.rand(2, 2, 4)
    put("attention.masked_softmax", d2l.masked_softmax(scores, torch.tensor([2, 3])))
    put("attention.masked_softmax2", d2l.masked_softmax(scores, torch.tensor([[1, 3], [2, 4]])))
    queries, keys = torch.normal(0, 1, (2, 1, 20)), torch.normal(0, 1, (2, 10, 2))
    values = torch.normal(0, 1, (2, 10, 4))
    additive = d2l.AdditiveAttention(num_hiddens=8, dropout=0.1)
    additive.eval()
    put("attention.additive", additive(queries, keys, values, torch.tensor([2, 6])))
    mha = d2l.MultiHeadAttention(num_hiddens=16, num_heads=4, dropout=0.0)
    X = torch.randn(2, 5, 16)
    put("attention.mha", mha(X, X, X, torch.tensor([3, 5])))
    encoder = d2l.TransformerEncoder(vocab_size=30, num_hiddens=16, ffn_num_hiddens=32,
                                     num_heads=4, num_blks=2, dropout=0.0)
    tokens = torch.randint(0, 30, (2, 7))
    put("attention.transformer", encoder(tokens, torch.tensor([7, 4])))
    bert = d2l.BERTModel(vocab_size=30, num_hiddens=16, ffn_num_hiddens=32, num_heads=4,
                         num_blks=2, dropout=0.0, max_len=16)
    segments = torch.tensor([[0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1]])
    positions = torch.tensor([[1, 5, 2], [6, 1, 5]])
    encoded, mlm, nsp = bert(tokens, segments, torch.tensor([7, 6]), positions)
    put("attention.bert.encoded", encoded)
    put("attention.bert.mlm", mlm)
    put("attention.bert.nsp", nsp)
    optimizer = torch.optim.Adam(bert.parameters(), lr=1e-3)
    losses = []
    for _ in range(3):
        _, mlm, nsp = bert(tokens, segments, torch.tensor([7, 6]), positions)
        loss = (torch.nn.functional.cross_entropy(mlm.reshape(-1, 30), tokens[:, :3].reshape(-1))
                + torch.nn.functional.cross_entropy(nsp, torch.tensor([0, 1])))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("attention.bert.losses", np.array(losses))


if __name__ == "__main__":
    main()
