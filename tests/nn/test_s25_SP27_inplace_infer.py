"""relu(inplace=True) with grad mode off writes np.maximum straight into the input (SP27):
the same bits as the out-of-place relu and PyTorch's, the version counter and the inference /
read-only refusals as before, through views too."""

import warnings

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.nn.functional as F

torch = pytest.importorskip("torch")

_SPECIAL = [-0.0, 0.0, np.nan, -np.inf, np.inf, -1.5, 2.5, 1e-40, -1e-40]


def _values(dtype):
    rng = np.random.default_rng(27)
    a = rng.standard_normal((3, 4, 5)).astype(dtype)
    a.reshape(-1)[: len(_SPECIAL)] = _SPECIAL
    return a


def _bits(a):
    return np.ascontiguousarray(a).view(np.uint8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("how", ["functional", "module"])
@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_same_bits_as_out_of_place_and_torch(dtype, how, mode):
    a = _values(dtype)
    x, t = dg.tensor(a.copy()), torch.tensor(a.copy())
    expected = dg.relu(dg.tensor(a)).numpy()
    ctx_d = dg.no_grad() if mode == "no_grad" else dg.inference_mode()
    ctx_t = torch.no_grad() if mode == "no_grad" else torch.inference_mode()
    with ctx_d:
        out = (F.relu(x, inplace=True) if how == "functional"
               else dg.nn.ReLU(inplace=True)(x))
    with ctx_t:
        torch.nn.functional.relu(t, inplace=True)
    assert out is x
    np.testing.assert_array_equal(_bits(x.numpy()), _bits(expected))
    np.testing.assert_array_equal(_bits(x.numpy()), _bits(t.numpy()))
    assert x._version == t._version == 1


def test_views_write_through_and_share_the_version():
    a = _values(np.float32)
    base_d, base_t = dg.tensor(a.copy()), torch.tensor(a.copy())
    with dg.no_grad():
        F.relu(base_d.transpose(0, 2)[1:, ::2], inplace=True)
    with torch.no_grad():
        torch.nn.functional.relu(base_t.transpose(0, 2)[1:, ::2], inplace=True)
    np.testing.assert_array_equal(_bits(base_d.numpy()), _bits(base_t.numpy()))
    assert base_d._version == base_t._version == 1


def test_saved_value_changed_under_no_grad_fails_backward():
    def run(lib, fn):
        leaf = lib.tensor([-1.0, 0.5, 2.0], requires_grad=True)
        y = (leaf * 1.0).exp()  # exp saves its result
        with lib.no_grad():
            fn(y, inplace=True)
        assert y._version == 1
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()

    run(dg, F.relu)
    run(torch, torch.nn.functional.relu)


def test_leaf_requiring_grad_under_no_grad():
    a = _values(np.float64)
    x, t = dg.tensor(a.copy(), requires_grad=True), torch.tensor(a.copy(), requires_grad=True)
    with dg.no_grad():
        F.relu(x, inplace=True)
    with torch.no_grad():
        torch.nn.functional.relu(t, inplace=True)
    np.testing.assert_array_equal(_bits(x.detach().numpy()), _bits(t.detach().numpy()))
    assert x.requires_grad and x.grad_fn is None and x._version == t._version == 1


def test_inference_tensor_outside_inference_mode_refused():
    with dg.inference_mode():
        x = dg.randn(4)
    with torch.inference_mode():
        t = torch.randn(4)
    with torch.no_grad(), pytest.raises(RuntimeError) as want:
        torch.nn.functional.relu(t, inplace=True)
    with dg.no_grad(), pytest.raises(RuntimeError) as got:
        F.relu(x, inplace=True)
    assert "Inplace update to inference tensor outside InferenceMode" in str(want.value)
    assert "Inplace update to inference tensor outside InferenceMode" in str(got.value)


def test_read_only_array_refused_and_unchanged():
    a = _values(np.float32)
    a.flags.writeable = False
    with warnings.catch_warnings():  # (from_numpy of a read-only array warns once a process)
        warnings.simplefilter("ignore", UserWarning)
        x = dg.from_numpy(a)
    with dg.no_grad(), pytest.raises(RuntimeError):
        F.relu(x, inplace=True)
    np.testing.assert_array_equal(_bits(a), _bits(_values(np.float32)))


def test_direct_path_taken(monkeypatch):
    # The speed change itself: no copy_ (nor a result array) when nothing records; int and
    # float16 inputs keep the general path.
    def refuse(self, *args, **kwargs):
        raise AssertionError("copy_ called")

    x = dg.tensor([-1.0, 2.0])
    monkeypatch.setattr(dg.Tensor, "copy_", refuse)
    with dg.no_grad():
        F.relu(x, inplace=True)
    assert x.tolist() == [0.0, 2.0]
    with dg.no_grad(), pytest.raises(AssertionError, match="copy_ called"):
        F.relu(dg.tensor([-1, 2]), inplace=True)
