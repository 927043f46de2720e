"""Real PyTorch programs run unchanged on deltagrad, and against PyTorch from the same weights.

Each program module (prog_*.py) is ordinary PyTorch code that receives the library as
``torch``. A test builds the model in PyTorch, copies its state dict into the deltagrad model
(``copy_weights``), feeds both the same batches (drawn from NumPy generators inside the
program) and checks the losses agree to float32 run-to-run tolerance and that they fall. Where
PyTorch is not installed only the deltagrad side runs. A known divergence is pinned by an
``xfail(strict=True)`` test that names it, so that it flips when fixed.
"""

from __future__ import annotations

import contextlib
import io
import math
import tempfile

import numpy as np
import prog_charlm
import prog_dataloader
import prog_nanogpt
import prog_poly
import prog_timeseq
import prog_word2vec
import prog_wordlm
import pytest

import deltagrad as dg

try:
    import torch
except ImportError:  # the deltagrad half of each test still runs
    torch = None

RTOL = 1e-4  # float32 run-to-run variation between two BLAS/summation orders


def copy_weights(dg_model, torch_model) -> None:
    """Load ``torch_model``'s state dict (parameters and buffers) into ``dg_model`` via NumPy."""
    state = {name: dg.tensor(value.detach().cpu().numpy().copy())
             for name, value in torch_model.state_dict().items()}
    dg_model.load_state_dict(state)


def quiet(fn, *args, **kwargs):
    """Call a program without its prints cluttering the test log."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


def both(run, build=None):
    """Run ``run(lib, model)`` on deltagrad and (if installed) PyTorch; return the loss lists.

    ``build(lib)`` makes each library's model (PyTorch's after ``torch.manual_seed(0)``); the
    PyTorch weights are copied into deltagrad's, so the two start alike. Without ``build`` the
    model argument is None.
    """
    torch_model = dg_model = None
    if build is not None:
        dg_model = build(dg)
        if torch is not None:
            torch.manual_seed(0)
            torch_model = build(torch)
            copy_weights(dg_model, torch_model)
    dg_losses = quiet(run, dg, dg_model)
    torch_losses = None if torch is None else quiet(run, torch, torch_model)
    return np.asarray(dg_losses, dtype=np.float64), torch_losses


def check(dg_losses, torch_losses, rtol=RTOL, falls=True):
    """Losses are finite, (optionally) fall, and match PyTorch's where it ran."""
    assert np.all(np.isfinite(dg_losses)), dg_losses
    if falls:
        assert dg_losses[-1] < dg_losses[0], dg_losses
    if torch_losses is not None:
        np.testing.assert_allclose(dg_losses, np.asarray(torch_losses), rtol=rtol, atol=0)


# ---------------------------------------------------------------- 1. Learning PyTorch with Examples

POLY_INIT = [0.3, -0.4, 0.8, -0.2]


@pytest.mark.parametrize("fit", [prog_poly.fit_tensors, prog_poly.fit_autograd])
def test_poly_raw_tensors(fit):
    check(*both(lambda lib, _: fit(lib, init=POLY_INIT, steps=300, report=50)))


def test_poly_custom_function():
    check(*both(lambda lib, _: prog_poly.fit_function(lib, steps=300, report=50)))


def test_poly_custom_function_gradient_matches_autograd():
    # P3's hand-written backward agrees with autograd through the same formula.
    x = dg.linspace(-1.0, 1.0, 7, dtype=dg.float64, requires_grad=True)
    p3 = prog_poly.legendre_function(dg).apply
    p3(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1.5 * (5 * x.detach().numpy() ** 2 - 1))
    assert dg.gradcheck(p3, (dg.tensor([0.2, -0.7], dtype=dg.float64, requires_grad=True),))


@pytest.mark.parametrize("fit", [prog_poly.fit_nn, prog_poly.fit_optim])
def test_poly_sequential(fit):
    check(*both(lambda lib, model: fit(lib, model, steps=300, report=50), prog_poly.poly_model))


def test_poly_dynamic_graph():
    check(*both(lambda lib, model: prog_poly.fit_dynamic(lib, model, steps=300, report=50),
                prog_poly.dynamic_net))


def test_poly_main_runs_on_deltagrad():
    losses = quiet(prog_poly.main, dg, steps=200)
    for name, values in losses.items():
        assert all(math.isfinite(v) for v in values), name


# ---------------------------------------------------------------- 2. character-level LMs

VOCAB = len(prog_charlm.encode_text()[1])


@pytest.mark.parametrize(("builder", "lr"), [
    (lambda lib: prog_charlm.bigram(lib, VOCAB), 1e-2),
    (lambda lib: prog_charlm.bag_of_words(lib, VOCAB), 1e-2),
    (lambda lib: prog_charlm.recurrent(lib, VOCAB, "RNN"), 1e-2),
    (lambda lib: prog_charlm.recurrent(lib, VOCAB, "GRU"), 1e-2),
    (lambda lib: prog_charlm.gpt(lib, VOCAB, dropout=0.0), 3e-3),
], ids=["bigram", "bag_of_words", "rnn", "gru", "gpt"])
def test_charlm(builder, lr):
    check(*both(lambda lib, model: prog_charlm.train_lm(lib, model, steps=8, lr=lr, eval_every=4),
                builder))


def test_charlm_mlp_batchnorm():
    # The last value is the eval-mode loss, which reads BatchNorm1d's running statistics.
    check(*both(lambda lib, model: prog_charlm.train_mlp(lib, model, steps=15),
                lambda lib: prog_charlm.mlp(lib, VOCAB)))


def _eval_and_train_losses(lib, model, data):
    """The batch's loss in eval mode (dropout off), then in train mode (dropout on)."""
    xb, yb = prog_charlm.get_batch(lib, data, np.random.default_rng(0), 16, 8)
    model.eval()
    with lib.no_grad():
        eval_loss = model(xb, yb)[1].item()
    model.train()
    return [eval_loss, model(xb, yb)[1].item()]


def test_charlm_gpt_with_dropout_matches_in_eval_mode():
    # Dropout masks differ between the libraries, so only the eval-mode loss is compared.
    data = prog_charlm.encode_text()[0]
    dg_losses, torch_losses = both(lambda lib, model: _eval_and_train_losses(lib, model, data),
                                   lambda lib: prog_charlm.gpt(lib, VOCAB, dropout=0.3))
    check(dg_losses[:1], None if torch_losses is None else torch_losses[:1], falls=False)
    assert math.isfinite(dg_losses[1]) and dg_losses[1] != dg_losses[0]


def test_charlm_bigram_generates_from_the_vocabulary():
    dg.manual_seed(0)
    model = prog_charlm.bigram(dg, VOCAB)
    out = model.generate(dg.zeros((3, 1), dtype=dg.long), max_new_tokens=15)
    assert out.shape == (3, 16) and out.dtype == dg.int64
    assert 0 <= int(out.min()) and int(out.max()) < VOCAB


def test_charlm_gpt_generates_from_the_vocabulary():
    dg.manual_seed(0)
    model = prog_charlm.gpt(dg, VOCAB, dropout=0.1)
    model.eval()
    out = model.generate(dg.zeros((2, 1), dtype=dg.long), max_new_tokens=20)
    assert out.shape == (2, 21) and out.dtype == dg.int64
    assert 0 <= int(out.min()) and int(out.max()) < VOCAB


def test_charlm_main_runs_on_deltagrad():
    results = quiet(prog_charlm.main, dg, steps=20)
    for name, losses in results.items():
        assert losses[-1] < losses[0], name


# ---------------------------------------------------------------- 3. skip-gram word2vec

@pytest.mark.parametrize("sparse", [False, True], ids=["dense_adam", "sparse_adam"])
def test_word2vec(sparse):
    vocab = prog_word2vec.Vocabulary()
    dg_losses, torch_losses = both(
        lambda lib, model: prog_word2vec.train(lib, model, vocab, max_steps=40, sparse=sparse),
        lambda lib: prog_word2vec.skipgram(lib, len(vocab), sparse=sparse))
    check(np.convolve(dg_losses, np.ones(10) / 10, "valid"), None)  # noisy: a running mean falls
    check(dg_losses, torch_losses)


def test_word2vec_sparse_gradients_are_sparse():
    vocab = prog_word2vec.Vocabulary()
    model = prog_word2vec.skipgram(dg, len(vocab), sparse=True)
    loss = model(dg.tensor([0, 1]), dg.tensor([2, 3]), dg.tensor([[4, 5], [6, 7]]))
    loss.backward()
    assert model.u_embeddings.weight.grad.is_sparse


def test_word2vec_main_runs_on_deltagrad():
    losses = quiet(prog_word2vec.main, dg, epochs=2)
    assert np.mean(losses[-20:]) < losses[0]


# ---------------------------------------------------------------- 4. word-level LM

STREAM = prog_wordlm.WordStream(dg)
NWORDS = len(STREAM.vocab)


def _wordlm_run(lr=20.0):
    def run(lib, model):
        stream = STREAM if lib is dg else prog_wordlm.WordStream(lib)
        return prog_wordlm.fit(lib, model, stream, sweeps=2, max_chunks=5, lr=lr)
    return run


@pytest.mark.parametrize(("rnn_type", "tied"), [
    ("LSTM", True), ("LSTM", False), ("GRU", False), ("RNN_TANH", False), ("RNN_RELU", True)])
def test_wordlm_rnn(rnn_type, tied):
    # Two sweeps of 5 chunks: the state carried and cut from the graph, clipping, p.data.add_,
    # the step size quartered, the best state dict saved to and restored from a buffer.
    # Dropout off to compare.
    check(*both(_wordlm_run(lr=5.0), lambda lib: prog_wordlm.recurrent_lm(
        lib, rnn_type, NWORDS, dropout=0.0, share_embedding=tied)))


def test_wordlm_lstm_with_dropout_matches_in_eval_mode():
    def run(lib, model):
        stream = STREAM if lib is dg else prog_wordlm.WordStream(lib)
        ids, nxt = prog_wordlm.chunk(prog_wordlm.columns(lib, stream.fit_ids, 8, "cpu"), 0, 10)
        model.eval()
        with lib.no_grad():
            logp, _ = model(ids, model.begin_state(8))
        return [lib.nn.NLLLoss()(logp, nxt).item()]

    check(*both(run, lambda lib: prog_wordlm.recurrent_lm(lib, "LSTM", NWORDS, dropout=0.5,
                                                          share_embedding=True)), falls=False)


def test_wordlm_tied_weights_are_one_parameter():
    model = prog_wordlm.recurrent_lm(dg, "LSTM", NWORDS, share_embedding=True)
    assert model.readout.weight is model.embed.weight
    assert len(list(model.parameters())) == len(dict(model.named_parameters()))
    assert "readout.weight" in model.state_dict()


def test_wordlm_transformer():
    check(*both(_wordlm_run(lr=5.0),
                lambda lib: prog_wordlm.attention_lm(lib, NWORDS, dropout=0.0)))


@pytest.mark.parametrize("model", ["Transformer", "LSTM"])
def test_wordlm_main_runs_on_deltagrad(model):
    losses = quiet(prog_wordlm.main, dg, model, epochs=2)
    assert np.all(np.isfinite(losses)) and min(losses[-2:]) < losses[0]


# ---------------------------------------------------------------- 5. time-sequence LSTMCell

@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_timeseq_lstmcell_lbfgs(line_search_fn):
    # float64 throughout (seq.double()), so the trajectories agree far below float32's noise.
    check(*both(lambda lib, model: prog_timeseq.train(lib, model, steps=1, max_iter=6,
                                                      line_search_fn=line_search_fn),
                prog_timeseq.sequence_model), rtol=1e-10)


def test_timeseq_main_runs_on_deltagrad():
    losses = quiet(prog_timeseq.main, dg, steps=1)
    assert losses[-2] < losses[0] / 10


# ---------------------------------------------------------------- 6. DataLoader training loop

def test_dataloader_loop():
    # Dropout off, fixed split, no shuffling: the batches (and BatchNorm's statistics) match.
    dg_results, torch_results = both(
        lambda lib, model: prog_dataloader.run(lib, model, shuffle=False, split="fixed"),
        lambda lib: prog_dataloader.net(lib, dropout=0.0))
    check(dg_results, torch_results, falls=False)
    train_losses = dg_results[:-5]
    assert train_losses[-1] < train_losses[0]
    assert dg_results[-1] == dg_results[-3]  # the reloaded model tests exactly alike


def test_dataloader_main_is_repeatable_on_deltagrad():
    # Shuffling, random_split and dropout all draw from seeded generators.
    first = quiet(prog_dataloader.main, dg, epochs=2)
    assert first == quiet(prog_dataloader.main, dg, epochs=2)
    assert first[-2] > 0.9  # test accuracy


# ---------------------------------------------------------------- 7. nanoGPT-style small GPT

@pytest.fixture(scope="module")
def char_bins():
    with tempfile.TemporaryDirectory() as data_dir:
        yield data_dir, prog_nanogpt.prepare(data_dir)


@pytest.mark.parametrize("flash", [True, False], ids=["sdpa", "masked_softmax"])
def test_nanogpt_bench(char_bins, flash):
    data_dir, vocab_size = char_bins

    def build(lib):
        model = prog_nanogpt.gpt(lib, prog_nanogpt.GPTConfig(vocab_size=vocab_size))
        for block in model.transformer.h:
            block.attn.flash = flash
        return model

    check(*both(lambda lib, model: prog_nanogpt.bench(lib, model, data_dir)[0], build))


def test_nanogpt_weights_are_tied_and_counted():
    model = prog_nanogpt.gpt(dg, prog_nanogpt.GPTConfig())
    assert model.transformer.wte.weight is model.lm_head.weight
    config = model.config
    n_block = 12 * config.n_embd ** 2 + 13 * config.n_embd  # attn + mlp + 2 LayerNorms
    expected = (config.vocab_size * config.n_embd + config.n_layer * n_block
                + 2 * config.n_embd)
    assert model.get_num_params() == expected


TRAIN_WARNINGS = pytest.mark.filterwarnings("ignore:`torch.cuda.amp.GradScaler:FutureWarning")


@pytest.fixture
def matmul_precision_back():
    """nanoGPT's train.py sets ``backends.cuda.matmul.allow_tf32 = True``, which in PyTorch sets
    the process's float32 matmul precision to "high": put it back for the tests after."""
    saved = [(lib, lib.get_float32_matmul_precision()) for lib in (torch, dg) if lib is not None]
    yield
    for lib, precision in saved:
        lib.set_float32_matmul_precision(precision)


@TRAIN_WARNINGS
@pytest.mark.usefixtures("matmul_precision_back")
def test_nanogpt_train_then_resume(char_bins, tmp_path):
    # train.py: lr written into param_groups, gradient accumulation, clipping, eval, then a
    # checkpoint (model, optimizer, config) saved to ckpt.pt and resumed from, in each library.
    data_dir, vocab_size = char_bins
    args = prog_nanogpt.GPTConfig(vocab_size=vocab_size)

    def run(lib, model):
        out_dir = str(tmp_path / lib.__name__)
        first = prog_nanogpt.TrainConfig(max_iters=6, eval_interval=3, out_dir=out_dir,
                                         always_save_checkpoint=True)
        losses = prog_nanogpt.train(lib, data_dir, args, first, model=model)
        assert lib.load(f"{out_dir}/ckpt.pt")["iter_num"] == 6
        second = prog_nanogpt.TrainConfig(max_iters=9, eval_interval=3, out_dir=out_dir)
        return losses + prog_nanogpt.train(lib, data_dir, args, second, init_from="resume")

    dg_losses, torch_losses = both(run, lambda lib: prog_nanogpt.gpt(lib, args))
    check(dg_losses, torch_losses)


@TRAIN_WARNINGS
def test_nanogpt_main_runs_on_deltagrad():
    losses = quiet(prog_nanogpt.main, dg, max_iters=6)
    assert losses[-1] < losses[0]


def test_nanogpt_compile_flag_on_deltagrad(char_bins, tmp_path):
    data_dir, vocab_size = char_bins
    cfg = prog_nanogpt.TrainConfig(max_iters=2, compile=True, out_dir=str(tmp_path))
    losses = quiet(prog_nanogpt.train, dg, data_dir,
                      prog_nanogpt.GPTConfig(vocab_size=vocab_size), cfg)
    assert all(math.isfinite(v) for v in losses)


def test_optimizer_state_dict_refers_to_live_state():
    # A program that keeps {'model': ..., 'optimizer': opt.state_dict()} in memory sees both
    # move on with training, in PyTorch and here (the state dict holds the live tensors).
    p = dg.nn.Parameter(dg.ones(3))
    opt = dg.optim.AdamW([p], lr=0.1)
    p.sum().backward()
    opt.step()
    state = opt.state_dict()["state"][0]
    p.sum().backward()
    opt.step()
    np.testing.assert_array_equal(state["exp_avg"].numpy(), opt.state[p]["exp_avg"].numpy())
