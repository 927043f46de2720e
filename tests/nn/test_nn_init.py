"""deltagrad.nn.init: gains, fans, and the statistics of every initialiser."""

import math

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.nn import init
from deltagrad.nn.init import _calculate_fan_in_and_fan_out


def test_calculate_gain_table():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


def test_calculate_gain_matches_torch():
    torch = pytest.importorskip("torch")
    for name, param in [("linear", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
                        ("leaky_relu", 0.3), ("selu", None)]:
        assert init.calculate_gain(name, param) == pytest.approx(
            torch.nn.init.calculate_gain(name, param))


def test_fans_include_the_receptive_field():
    assert _calculate_fan_in_and_fan_out(dg.zeros(30, 20)) == (20, 30)
    assert _calculate_fan_in_and_fan_out(dg.zeros(8, 3, 5, 5)) == (75, 200)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        _calculate_fan_in_and_fan_out(dg.zeros(5))


def _stats(tensor):
    return float(tensor._data.mean()), float(tensor._data.var())


def test_xavier_uniform_bounds_and_variance():
    w = dg.zeros(300, 500)
    out = init.xavier_uniform_(w, gain=2.0, generator=dg.Generator(0))
    assert out is w
    bound = 2.0 * math.sqrt(6 / 800)
    assert np.abs(w._data).max() <= bound and np.abs(w._data).max() > 0.99 * bound
    mean, var = _stats(w)
    assert abs(mean) < 0.01 * bound and var == pytest.approx(4.0 * 2 / 800, rel=0.02)


def test_xavier_normal_variance():
    w = init.xavier_normal_(dg.zeros(200, 300, 3), generator=dg.Generator(0))
    mean, var = _stats(w)
    assert abs(mean) < 0.005 and var == pytest.approx(2 / (900 + 600), rel=0.02)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_kaiming_variances(mode):
    fan = 400 if mode == "fan_in" else 300
    u = init.kaiming_uniform_(dg.zeros(300, 400), mode=mode, nonlinearity="relu",
                              generator=dg.Generator(0))
    bound = math.sqrt(2) * math.sqrt(3 / fan)
    assert np.abs(u._data).max() <= bound
    assert _stats(u)[1] == pytest.approx(2 / fan, rel=0.02)
    n = init.kaiming_normal_(dg.zeros(300, 400), a=0.1, mode=mode, generator=dg.Generator(0))
    assert _stats(n)[1] == pytest.approx(2 / (1 + 0.01) / fan, rel=0.02)
    with pytest.raises(ValueError, match="mode 'fan_avg'"):
        init.kaiming_uniform_(dg.zeros(3, 3), mode="fan_avg")


def test_kaiming_on_empty_tensor_warns_and_does_nothing():
    with pytest.warns(UserWarning, match="no-op"):
        init.kaiming_uniform_(dg.zeros(0, 3))


def test_plain_fillers():
    w = dg.zeros(1000, 100)
    init.uniform_(w, -2.0, 3.0, generator=dg.Generator(0))
    assert w._data.min() >= -2 and w._data.max() < 3
    assert _stats(w)[0] == pytest.approx(0.5, abs=0.02)
    assert _stats(w)[1] == pytest.approx(25 / 12, rel=0.02)
    init.normal_(w, 1.0, 0.5, generator=dg.Generator(0))
    assert _stats(w)[0] == pytest.approx(1.0, abs=0.005)
    assert _stats(w)[1] == pytest.approx(0.25, rel=0.02)
    assert (init.constant_(w, 0.3)._data == np.float32(0.3)).all()
    assert (init.ones_(w)._data == 1).all() and not init.zeros_(w)._data.any()
    assert w.dtype == dg.float32


def test_init_is_in_place_outside_the_graph_and_seeded():
    p = dg.nn.Parameter(dg.zeros(20, 10))
    array = p._data
    init.xavier_uniform_(p)  # no error although p requires grad and grad mode is on
    assert p._data is array and p.is_leaf and p.requires_grad
    dg.manual_seed(11)
    a = init.normal_(dg.zeros(5, 5))._data.copy()
    dg.manual_seed(11)
    b = init.normal_(dg.zeros(5, 5))._data
    np.testing.assert_array_equal(a, b)
    c = init.uniform_(dg.zeros(5), generator=np.random.default_rng(2))._data
    d = init.uniform_(dg.zeros(5), generator=np.random.default_rng(2))._data
    np.testing.assert_array_equal(c, d)
