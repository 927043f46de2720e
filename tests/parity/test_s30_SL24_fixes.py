"""Regression tests for what session 30's nn.init / nn.utils / torch.func family
(``s30_SL24_nn_utils.py``) found: each runs the same code on deltagrad and on PyTorch and
compares the outcome (values bit for bit where PyTorch's are reproducible, strides, exception
classes, the state a failed call leaves)."""

import importlib

import numpy as np
import pytest
import s31_DD3_outcomes as outcomes

import deltagrad as dg

torch = pytest.importorskip("torch")


def _same(fn):
    return outcomes.same(fn, strides=True)


# -- rnn utilities ------------------------------------------------------------------------------

def _seqs(lib):
    return [lib.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), lib.tensor([[7.0, 8.0]])]


@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_batch_first_is_contiguous(side):
    # deltagrad returned a transposed view (strides (2, 4, 1)); PyTorch's is contiguous
    got = _same(lambda lib: lib.nn.utils.rnn.pad_sequence(_seqs(lib), batch_first=True,
                                                          padding_side=side))
    assert got[1][3] == (6, 2, 1)


def test_pad_sequence_bad_padding_side_is_runtime_error():
    # deltagrad raised ValueError
    got = _same(lambda lib: lib.nn.utils.rnn.pad_sequence(_seqs(lib), padding_side="up"))
    assert got == ["RuntimeError"]


def test_unpad_sequence_transposes_its_input_in_place_and_copies():
    # PyTorch's unpad_sequence (batch_first=False) transposes the caller's tensor in place
    # and returns masked copies; deltagrad left the input alone and returned views of it
    def run(lib):
        padded = lib.nn.utils.rnn.pad_sequence(_seqs(lib))
        parts = lib.nn.utils.rnn.unpad_sequence(padded, lib.tensor([3, 1]))
        parts[0][0, 0] = 100.0  # (a copy: the batch keeps its value)
        return [tuple(padded.shape), padded, parts]
    got = _same(run)
    assert got[1][1] == ["tuple", 2, 3, 2]


def test_unpad_sequence_length_count_mismatch():
    def run(lib):
        padded = lib.nn.utils.rnn.pad_sequence(_seqs(lib), batch_first=True)
        return lib.nn.utils.rnn.unpad_sequence(padded, lib.tensor([3, 1, 1]), batch_first=True)
    assert _same(run) == ["ValueError"]


# -- clipping / stateless ---------------------------------------------------------------------

@pytest.mark.parametrize("params", ["empty", "no_grad"])
@pytest.mark.parametrize("foreach", [None, False])
def test_clip_grad_value_without_gradients_raises(params, foreach):
    # PyTorch's grouped clamp refuses an empty list of gradients (RuntimeError, foreach or
    # not); deltagrad returned None
    def run(lib):
        ps = [] if params == "empty" else [lib.zeros(2, requires_grad=True)]
        return lib.nn.utils.clip_grad_value_(ps, 0.5, foreach=foreach)
    assert _same(run) == ["RuntimeError"]


def test_stateless_functional_call_takes_one_dict():
    # the deprecated nn.utils.stateless.functional_call reads one dict's keys (AttributeError
    # for a tuple of dicts, which torch.func.functional_call takes); deltagrad merged them
    def run(lib):
        lib.manual_seed(0)
        m = lib.nn.Linear(3, 2)
        with pytest.warns(FutureWarning):
            return lib.nn.utils.stateless.functional_call(m, ({}, {}), (lib.ones(1, 3),))
    assert _same(run) == ["AttributeError"]


# -- prune ------------------------------------------------------------------------------------

def test_a_failed_second_pruning_leaves_no_hook():
    # PyTorch removes the earlier pruning hook before it checks the new method's arguments:
    # after a second pruning with an invalid amount, is_pruned is False (the mask and *_orig
    # stay); deltagrad kept the old hook
    def run(lib):
        prune = importlib.import_module(lib.__name__ + ".nn.utils.prune")
        lib.manual_seed(14)
        m = lib.nn.Conv1d(2, 3, 2).double()
        prune.ln_structured(m, "weight", amount=0.5, n=1, dim=0)
        with pytest.raises(ValueError):
            prune.random_structured(m, "weight", amount=1.5, dim=-1)
        return [prune.is_pruned(m), [n for n, _ in m.named_buffers()],
                [n for n, _ in m.named_parameters()]]
    got = _same(run)
    assert got[1][1] is False


# -- nn.init / random fills -------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_orthogonal_half_refuses_after_drawing(dtype):
    # PyTorch draws the Gaussian matrix in the tensor's dtype, then has no half QR
    # (NotImplementedError), the tensor unchanged and the generator moved on; deltagrad filled it
    def run(lib):
        lib.manual_seed(0)
        t = lib.zeros(3, 4, dtype=getattr(lib, dtype))
        with pytest.raises(NotImplementedError):
            lib.nn.init.orthogonal_(t)
        return [t, lib.rand(3)]
    _same(run)


@pytest.mark.parametrize("n", [17, 40, 72, 1000])
@pytest.mark.parametrize("mean_std", [(0.0, 1.0), (1.0, 2.0)])
def test_float16_normal_tail_block(n, mean_std):
    # normal_ of a float16 tensor of 16 or more entries, not a multiple of 16: PyTorch draws
    # block by block (as for bfloat16), never the partial block's uniforms; deltagrad drew
    # them (every value after the first blocks differed: nn.init.kaiming_normal_ of a conv
    # weight in half)
    def run(lib):
        lib.manual_seed(3)
        return [lib.empty(n, dtype=lib.float16).normal_(*mean_std), lib.rand(2)]
    ours, theirs = (run(lib) for lib in (dg, torch))
    assert np.array_equal(ours[0].numpy(), theirs[0].numpy())
    assert np.array_equal(ours[1].numpy(), theirs[1].numpy())


def test_kaiming_normal_half_conv_weight():
    def run(lib):
        lib.manual_seed(61)
        return lib.nn.init.kaiming_normal_(lib.full((4, 2, 3, 3), 7.0, dtype=lib.float16),
                                           nonlinearity="leaky_relu")
    _same(run)


# -- reviewed differences: values agree where only the layout differs ---------------------------

def test_hessian_blocks_agree_but_for_strides():
    def run(lib):
        lib.manual_seed(2)
        m = lib.nn.Linear(3, 2).double()
        x = lib.tensor([[-0.125, 1.5, -1.25], [0.625, 1.125, -0.5]], dtype=lib.float64)
        ps = {k: v.detach() for k, v in m.named_parameters()}
        h = lib.func.hessian(lambda p: (lib.func.functional_call(m, p, (x,)) ** 2).sum())(ps)
        return {k: {j: b.contiguous() for j, b in row.items()} for k, row in h.items()}
    _same(run)


@pytest.mark.parametrize("fn", ["uniform_", "normal_", "trunc_normal_", "kaiming_uniform_",
                                "kaiming_normal_", "xavier_uniform_", "xavier_normal_",
                                "orthogonal_", "sparse_"])
@pytest.mark.parametrize("dtype", ["int64", "bool", "uint8"])
@pytest.mark.parametrize("shape", [(3, 4), (0, 3)])
def test_random_init_of_integer_tensors_refuses(fn, dtype, shape):
    # PyTorch's random fills have no integer / bool kernels (NotImplementedError, the tensor
    # and the generator untouched; an empty tensor passes the normal kernel); deltagrad filled
    # them through NumPy (bool: all True, int64: truncated normals)
    def run(lib):
        t = lib.zeros(*shape, dtype=getattr(lib, dtype))
        lib.manual_seed(1)
        args = (0.5,) if fn == "sparse_" else ()
        try:
            getattr(lib.nn.init, fn)(t, *args)
            outcome = "ok"
        except Exception as exc:  # noqa: BLE001 - the class is what is compared
            outcome = [k.__name__ for k in type(exc).__mro__ if k.__module__ == "builtins"][0]
        return [outcome, t, lib.rand(2)]
    _same(run)


@pytest.mark.parametrize("kw", [{"std": 0.3}, {"mean": 0.5, "std": 2.0, "a": -1.0, "b": 1.0},
                                {"a": 0.0, "b": 3.0}], ids=["wide", "narrow", "half"])
@pytest.mark.parametrize("seed", [13, 73])
def test_trunc_normal_and_sparse_of_a_transposed_view(kw, seed):
    # a non-contiguous view (weight.T): PyTorch fills it in memory order by the scalar
    # normal path; deltagrad drew in logical order (every value misplaced)
    def run(lib):
        lib.manual_seed(seed)
        t, s = lib.full((3, 4), 7.0), lib.full((3, 4), 7.0)
        lib.nn.init.trunc_normal_(t.T, **kw)
        lib.nn.init.sparse_(s.T, sparsity=0.5)
        return [t, s, lib.rand(2)]
    ours, theirs = run(dg), run(torch)
    for a, b in zip(ours, theirs):
        assert np.allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)
