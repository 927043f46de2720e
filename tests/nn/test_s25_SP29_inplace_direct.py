"""In-place activations with grad mode off write the out-of-place op's result straight into
the input (SP29: _functional_activations._direct_write, and Tensor.relu_ / sigmoid_ / tanh_
routed there): the same bits as the out-of-place op, PyTorch's version counter, views written
through, and the inference / read-only refusals and other dtypes as before."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

_SPECIAL = [-0.0, 0.0, np.nan, -np.inf, np.inf, -1.5, 2.5, 1e-40, -1e-40, 7.0, -7.0]

# name: (in place, out of place), each given the library module (deltagrad or torch)
_OPS = {
    "relu_": (lambda m, x: x.relu_(), lambda m, x: x.relu()),
    "sigmoid_": (lambda m, x: x.sigmoid_(), lambda m, x: x.sigmoid()),
    "tanh_": (lambda m, x: x.tanh_(), lambda m, x: x.tanh()),
    "hardtanh": (lambda m, x: m.nn.functional.hardtanh(x, -0.5, 2.0, inplace=True),
                 lambda m, x: m.nn.functional.hardtanh(x, -0.5, 2.0)),
    "relu6": (lambda m, x: m.nn.functional.relu6(x, inplace=True),
              lambda m, x: m.nn.functional.relu6(x)),
    "leaky_relu_": (lambda m, x: m.nn.functional.leaky_relu_(x, 0.2),
                    lambda m, x: m.nn.functional.leaky_relu(x, 0.2)),
    "elu_": (lambda m, x: m.nn.functional.elu_(x, 0.7),
             lambda m, x: m.nn.functional.elu(x, 0.7)),
    "silu": (lambda m, x: m.nn.functional.silu(x, inplace=True),
             lambda m, x: m.nn.functional.silu(x)),
    "ReLU6_module": (lambda m, x: m.nn.ReLU6(inplace=True)(x), lambda m, x: m.nn.ReLU6()(x)),
}


def _values(dtype):
    rng = np.random.default_rng(29)
    a = (rng.standard_normal((3, 4, 5)) * 3).astype(dtype)
    a.reshape(-1)[: len(_SPECIAL)] = _SPECIAL
    return a


def _bits(a):
    return np.ascontiguousarray(a).view(np.uint8)


@pytest.mark.parametrize("name", list(_OPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_same_bits_as_out_of_place_and_torch_version(name, dtype, mode):
    in_place, out_of_place = _OPS[name]
    a = _values(dtype)
    x, t = dg.tensor(a.copy()), torch.tensor(a.copy())
    expected = out_of_place(dg, dg.tensor(a)).numpy()
    ctx_d = dg.no_grad() if mode == "no_grad" else dg.inference_mode()
    ctx_t = torch.no_grad() if mode == "no_grad" else torch.inference_mode()
    with ctx_d:
        out = in_place(dg, x)
    with ctx_t:
        in_place(torch, t)
    assert out is x
    np.testing.assert_array_equal(_bits(x.numpy()), _bits(expected))
    np.testing.assert_allclose(x.numpy(), t.numpy(), rtol=2e-6, atol=1e-7, equal_nan=True)
    assert x._version == t._version == 1


@pytest.mark.parametrize("name", ["relu_", "sigmoid_", "hardtanh", "elu_"])
def test_views_write_through_and_share_the_version(name):
    in_place = _OPS[name][0]
    a = _values(np.float32)
    base_d, base_t = dg.tensor(a.copy()), torch.tensor(a.copy())
    with dg.no_grad():
        in_place(dg, base_d.transpose(0, 2)[1:, ::2])
    with torch.no_grad():
        in_place(torch, base_t.transpose(0, 2)[1:, ::2])
    np.testing.assert_allclose(base_d.numpy(), base_t.numpy(), rtol=2e-6, equal_nan=True)
    assert base_d._version == base_t._version == 1


@pytest.mark.parametrize("name", ["relu_", "tanh_", "leaky_relu_"])
def test_inference_tensor_outside_inference_mode_refused(name):
    in_place = _OPS[name][0]
    with dg.inference_mode():
        x = dg.ones(3)
    with torch.inference_mode():
        t = torch.ones(3)
    with pytest.raises(RuntimeError) as got, dg.no_grad():
        in_place(dg, x)
    with pytest.raises(RuntimeError) as want, torch.no_grad():
        in_place(torch, t)
    assert "Inplace update to inference tensor outside InferenceMode" in str(want.value)
    assert "Inplace update to inference tensor outside InferenceMode" in str(got.value)


@pytest.mark.parametrize("name", ["relu_", "sigmoid_", "hardtanh"])
def test_read_only_array_refused_untouched(name):
    # (the array made read-only directly: from_numpy's warning is once per program, and
    # another test checks it)
    x = dg.tensor([-1.0, 0.5, 2.0])
    x._data.flags.writeable = False
    with pytest.raises(RuntimeError, match="not writable|read-only"), dg.no_grad():
        _OPS[name][0](dg, x)
    np.testing.assert_array_equal(x.numpy(), [-1.0, 0.5, 2.0])


def test_other_dtypes_and_grad_mode_keep_the_wrapper():
    # integer relu_, float16 sigmoid_ and a parameter take the generic path: values and
    # versions still PyTorch's; grad mode on still records.
    for lib in (dg, torch):
        ints = lib.tensor([-3, 0, 4])
        half = lib.tensor([-1.0, 0.0, 3.0], dtype=lib.float16)
        with lib.no_grad():
            ints.relu_()
            half.sigmoid_()
        assert ints.tolist() == [0, 0, 4] and ints._version == 1 and half._version == 1
    np.testing.assert_array_equal(dg.tensor([-1.0, 0.0, 3.0], dtype=dg.float16).sigmoid()
                                  .numpy(), half.numpy())
    leaf = dg.tensor([-1.0, 2.0], requires_grad=True)
    y = leaf * 1
    y.tanh_()
    y.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), 1 - np.tanh([-1.0, 2.0]) ** 2, rtol=1e-6)
    p = dg.nn.Parameter(dg.tensor([-1.0, 2.0]))
    with dg.no_grad():
        assert p.relu_() is p
    assert p.tolist() == [0.0, 2.0] and p._version == 1
