"""Regression tests for what running more libraries' own suites under the alias found (LE,
session 17), each differential against PyTorch."""

import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _output_paddings(m):
    """ConvTranspose's ``_output_padding`` called as unfoldNd's UnfoldTransposeNd does (unbound,
    ``self=None``, PyTorch's geometry arguments, ``dilation=`` by name), without ``dilation``,
    and bound through a layer's ``forward(output_size=...)`` with a dilation of 2."""
    pad = m.nn.modules.conv._ConvTransposeNd._output_padding
    x = m.zeros(1, 3, 10, 10)
    got = [list(pad(None, x, (21, 21), (2, 2), (0, 0), (2, 2), 2, dilation=(1, 1))),
           list(pad(None, x, [1, 3, 22, 21], (2, 2), (0, 0), (3, 2), 2)),
           list(pad(None, m.zeros(3, 7), (16,), (2,), (1,), (3,), 1, dilation=(2,)))]
    with pytest.raises(ValueError, match="requested an output size"):
        pad(None, x, (30, 21), (2, 2), (0, 0), (2, 2), 2, dilation=(1, 1))
    layer = m.nn.ConvTranspose2d(3, 2, 3, stride=2, dilation=2)
    got.append(list(layer(m.zeros(1, 3, 5, 5), output_size=(13, 14)).shape))
    return got


def test_conv_transpose_output_padding_takes_pytorch_signature():
    assert _output_paddings(dg) == _output_paddings(torch)


def _sparse_fold(m):
    """A few windows far apart folded into a large image (unfoldNd's Fold-precision test, at
    a tenth of its size), with the gradient of a weighted sum."""
    gen = m.Generator().manual_seed(0)
    x = m.randn(2, 4, 25, generator=gen, dtype=m.float64).requires_grad_()
    y = m.nn.functional.fold(x, (500, 500), (2, 2), stride=100)
    weights = m.arange(500 * 500, dtype=m.float64).reshape(500, 500) % 7
    (y * weights).sum().backward()
    nonzero = y.nonzero()
    return y[y != 0].tolist(), nonzero.tolist(), list(y.shape), x.grad.tolist()


def test_fold_of_few_windows_into_large_output():
    from deltagrad.nn import fold2d

    fold2d._SCATTERS.clear()
    ours = _sparse_fold(dg)
    assert ours == _sparse_fold(torch)
    # (the small-columns path's gather table grows no more with the output: it was [K,
    # prod(output)], 1M entries here, 100M for unfoldNd's 5000 x 5000, built in 9.5 s of CPU)
    assert all(table.size < 500 * 500 for table in fold2d._SCATTERS.values())


def _option_errors(m):
    """pytorch_optimizer's validation tests: an invalid option with params=None raises
    PyTorch's ValueError (the options are checked before the parameters are read)."""
    seen = []
    for name, options in (("NAdam", {"eps": -1e-6}), ("RMSprop", {"eps": -1e-6}),
                          ("SGD", {"lr": 0.1, "weight_decay": -1e-3}),
                          ("AdamW", {"weight_decay": -1e-3}), ("NAdam", {"betas": (-0.1, 0.9)}),
                          ("Adam", {})):
        try:
            getattr(m.optim, name)(None, **options)
        except (TypeError, ValueError) as error:
            seen.append((name, type(error).__name__, str(error).split(":")[0]))
    return seen


def test_optimizer_checks_options_before_params():
    assert _option_errors(dg) == _option_errors(torch)
