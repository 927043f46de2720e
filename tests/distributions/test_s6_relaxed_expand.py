"""expand() and the exposed parameters of the Concrete relaxations (RelaxedBernoulli,
ExpRelaxedCategorical, RelaxedOneHotCategorical) against PyTorch."""

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.distributions as D

torch = pytest.importorskip("torch")
TD = torch.distributions


def _class(module, name):
    # ExpRelaxedCategorical is not re-exported at the package level (in PyTorch either).
    return getattr(module.relaxed_categorical if name == "ExpRelaxedCategorical" else module,
                   name)


def _make(module, name, lib):
    probs = lib.tensor(np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]]))
    temperature = lib.tensor(0.7, dtype=lib.float64)
    if name == "RelaxedBernoulli":
        return module.RelaxedBernoulli(temperature, probs=probs[:, 0])
    return _class(module, name)(temperature, probs=probs)


@pytest.mark.parametrize("name", ["RelaxedBernoulli", "ExpRelaxedCategorical",
                                  "RelaxedOneHotCategorical"])
def test_expand_matches_torch(name):
    ours, theirs = _make(D, name, dg), _make(TD, name, torch)
    for attribute in ("temperature", "logits", "probs"):
        np.testing.assert_allclose(getattr(ours, attribute).numpy(),
                                   getattr(theirs, attribute).numpy(), rtol=1e-12)
    big, tbig = ours.expand((4, 2)), theirs.expand((4, 2))
    assert type(big) is type(ours)
    assert tuple(big.batch_shape) == tuple(tbig.batch_shape)
    assert tuple(big.event_shape) == tuple(tbig.event_shape)
    assert tuple(big.logits.shape) == tuple(tbig.logits.shape)
    dg.manual_seed(0)
    value = big.sample()
    # The same point under both: log-densities of the expanded distributions agree.
    np.testing.assert_allclose(big.log_prob(value).numpy(),
                               tbig.log_prob(torch.from_numpy(value.numpy())).numpy(),
                               rtol=1e-9)


@pytest.mark.parametrize("name", ["ExpRelaxedCategorical", "RelaxedOneHotCategorical",
                                  "RelaxedBernoulli"])
def test_expand_of_a_subclass_with_its_own_init_raises_as_torch(name):
    def subclass(module):
        base = _class(module, name)

        class Custom(base):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)

        return Custom

    ours = subclass(D)(dg.tensor(0.5), probs=dg.tensor([0.3, 0.7]))
    theirs = subclass(TD)(torch.tensor(0.5), probs=torch.tensor([0.3, 0.7]))
    with pytest.raises(NotImplementedError):
        theirs.expand((2,))
    with pytest.raises(NotImplementedError):
        ours.expand((2,))
