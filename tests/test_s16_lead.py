"""Session 16, lead: small gaps found while probing the top-level namespace."""
import numpy as np
import pytest

import deltagrad as dg


def test_top_level_from_dlpack_shares_memory_as_torch_from_dlpack():
    # `torch.from_dlpack` is the top-level name of torch.utils.dlpack.from_dlpack.
    array = np.arange(4.0)
    tensor = dg.from_dlpack(array)
    array[0] = 9.0
    assert tensor.dtype == dg.float64
    assert tensor.tolist() == [9.0, 1.0, 2.0, 3.0]
    assert dg.from_dlpack is dg.utils.dlpack.from_dlpack


def test_from_dlpack_copy_and_device_keywords_as_torch():
    torch = pytest.importorskip("torch")
    array = np.arange(3.0)
    copied = dg.from_dlpack(array, copy=True)
    array[0] = 5.0
    assert copied.tolist() == torch.from_dlpack(np.arange(3.0), copy=True).tolist() == [0, 1, 2]
    assert dg.from_dlpack(array, device="cpu").tolist() == [5.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="CPU only"):
        dg.from_dlpack(array, device="cuda")
    assert dg.to_dlpack is dg.utils.dlpack.to_dlpack


def test_mixture_same_family_log_prob_takes_x_by_keyword_as_torch():
    torch = pytest.importorskip("torch")

    def make(lib):
        mix = lib.distributions.Categorical(probs=lib.tensor([0.3, 0.7]))
        comp = lib.distributions.Normal(lib.tensor([0.0, 1.0]), lib.tensor([1.0, 2.0]))
        return lib.distributions.MixtureSameFamily(mix, comp)

    got = make(dg).log_prob(x=dg.tensor(0.5)).item()
    want = make(torch).log_prob(x=torch.tensor(0.5)).item()
    assert abs(got - want) < 1e-6
