"""The differences the ModuleInfo sweep (test_s13_OM_modules.py) found, each as a direct
differential case against PyTorch: the same call in both libraries gives the same values, or
raises, with PyTorch's exception class."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402


def _outcome(lib, call):
    try:
        out = call(lib)
    except Exception as exc:  # noqa: BLE001 - the exception is the outcome compared
        return exc
    return np.asarray(out.detach().float().numpy() if hasattr(out, "detach") else out)


def _zeros(lib, *shape):
    return lib.zeros(*shape)


CASES = {
    # A zero-size batch: the reshape with -1 raised (AdaptiveAvgPool2d/3d).
    "adaptive_avg_pool2d_empty_batch": lambda lib: lib.nn.AdaptiveAvgPool2d(3)(
        _zeros(lib, 0, 3, 5, 6)),
    "adaptive_avg_pool2d_none_empty_batch": lambda lib: lib.nn.AdaptiveAvgPool2d((3, None))(
        _zeros(lib, 0, 3, 5, 6)),
    "adaptive_avg_pool3d_empty_batch": lambda lib: lib.nn.AdaptiveAvgPool3d(3)(
        _zeros(lib, 0, 3, 5, 2, 7)),
    # An unbatched input with no channels: PyTorch refuses (they returned empty results).
    "reflection_pad1d_unbatched_no_channels": lambda lib: lib.nn.ReflectionPad1d(1)(
        _zeros(lib, 0, 3)),
    "replication_pad2d_unbatched_no_channels": lambda lib: lib.nn.ReplicationPad2d(1)(
        _zeros(lib, 0, 4, 4)),
    "circular_pad1d_unbatched_no_channels": lambda lib: lib.nn.CircularPad1d(1)(
        _zeros(lib, 0, 3)),
    "max_pool2d_unbatched_no_channels": lambda lib: lib.nn.MaxPool2d(2)(_zeros(lib, 0, 7, 7)),
    "avg_pool2d_unbatched_no_channels": lambda lib: lib.nn.AvgPool2d(2)(_zeros(lib, 0, 7, 7)),
    "max_pool2d_empty_batch": lambda lib: lib.nn.MaxPool2d(2)(_zeros(lib, 0, 3, 7, 7)),
    # Error inputs of the ModuleInfos that ran silently or raised another class.
    "batch_norm_eps_zero_training": lambda lib: lib.nn.BatchNorm1d(4, eps=0.0)(
        lib.ones(2, 4)),
    "batch_norm_eps_negative_eval": lambda lib: lib.nn.BatchNorm1d(4, eps=-1.0).eval()(
        lib.ones(2, 4)),
    "batch_norm_eps_zero_eval": lambda lib: lib.nn.BatchNorm1d(4, eps=0.0).eval()(
        lib.ones(2, 4)),
    "nll_loss_weight_dtype": lambda lib: lib.nn.NLLLoss(weight=lib.ones(3, dtype=lib.float16))(
        lib.zeros(2, 3), lib.zeros(2, dtype=lib.int64)),
    "cross_entropy_weight_dtype": lambda lib: lib.nn.functional.cross_entropy(
        lib.zeros(2, 3), lib.zeros(2, dtype=lib.int64), weight=lib.ones(3, dtype=lib.float64)),
    "cross_entropy_label_smoothing": lambda lib: lib.nn.CrossEntropyLoss(label_smoothing=1.5)(
        lib.zeros(2, 3), lib.zeros(2, dtype=lib.int64)),
    "huber_delta_complex": lambda lib: lib.nn.HuberLoss(delta=1.0 + 0.0j),
    "embedding_negative": lambda lib: lib.nn.Embedding(-1, 3),
    "rnn_bias_int": lambda lib: lib.nn.RNN(3, 5, bias=1),
    "gru_batch_first_str": lambda lib: lib.nn.GRU(3, 5, batch_first="False"),
    "lstm_input_size_float": lambda lib: lib.nn.LSTM(3.0, 5),
    "lstm_hidden_size_float": lambda lib: lib.nn.LSTM(3, 5.0),
    "rnn_input_size_zero": lambda lib: lib.nn.RNN(0, 5),
    "lstm_dtype_mismatch": lambda lib: lib.nn.LSTM(3, 5)(lib.zeros(2, 4, 3, dtype=lib.float64)),
    "rnn_cell_hidden_4d": lambda lib: lib.nn.RNNCell(10, 20)(lib.zeros(3, 10),
                                                            lib.zeros(3, 1, 1, 20)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_outcome(name):
    expected = _outcome(torch, CASES[name])
    actual = _outcome(dg, CASES[name])
    if isinstance(expected, Exception):
        assert isinstance(actual, type(expected)), (name, actual, expected)
        return
    if isinstance(actual, Exception):
        raise AssertionError(f"{name}: deltagrad raised {actual!r}") from actual
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)


def test_fractional_max_pool_reads_the_first_rows_of_longer_samples():
    """PyTorch accepts a _random_samples with more rows than the batch and uses the first N
    (deltagrad raised: ModuleInfo FractionalMaxPool3d ratio_no_batch_dim)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 8, 8)).astype(np.float32)
    u = rng.random((5, 4, 2)).astype(np.float32)
    expected = torch.nn.functional.fractional_max_pool2d(
        torch.from_numpy(x), 2, output_size=4, _random_samples=torch.from_numpy(u))
    actual = dg.nn.functional.fractional_max_pool2d(
        dg.tensor(x), 2, output_size=4, _random_samples=dg.tensor(u))
    np.testing.assert_array_equal(actual.numpy(), expected.numpy())
    x3 = rng.standard_normal((4, 6, 6, 6)).astype(np.float32)  # unbatched, 2 sample rows
    u3 = rng.random((2, 4, 3)).astype(np.float32)
    expected = torch.nn.functional.fractional_max_pool3d(
        torch.from_numpy(x3), 2, output_ratio=0.5, _random_samples=torch.from_numpy(u3))
    actual = dg.nn.functional.fractional_max_pool3d(
        dg.tensor(x3), 2, output_ratio=0.5, _random_samples=dg.tensor(u3))
    np.testing.assert_array_equal(actual.numpy(), expected.numpy())
    with pytest.raises(RuntimeError):
        dg.nn.functional.fractional_max_pool2d(dg.tensor(x), 2, output_size=4,
                                               _random_samples=dg.tensor(u[:2]))
