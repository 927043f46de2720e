"""nn.AdaptiveLogSoftmaxWithLoss against PyTorch with copied weights: outputs, loss, gradients."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn

torch = pytest.importorskip("torch")


def _pair(in_features=8, n_classes=20, cutoffs=(4, 10, 15), div_value=2.0, head_bias=False,
          seed=0):
    """A torch module and a deltagrad one with the same (float64) weights."""
    torch.manual_seed(seed)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, list(cutoffs),
                                                 div_value=div_value, head_bias=head_bias,
                                                 dtype=torch.float64)
    ours = nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, cutoffs, div_value=div_value,
                                         head_bias=head_bias, dtype=dg.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: dg.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("head_bias", [False, True])
@pytest.mark.parametrize("target", [[0, 3, 4, 9, 10, 19, 2, 12], [1, 2, 3, 0, 0, 1, 2, 3],
                                    [19, 15, 16, 18, 17, 19, 15, 16], [5]])
def test_forward_matches_torch(head_bias, target):
    ours, theirs = _pair(head_bias=head_bias)
    rng = np.random.default_rng(len(target))
    x = rng.standard_normal((len(target), 8))
    tx = torch.tensor(x, requires_grad=True)
    dx = dg.tensor(x, requires_grad=True)
    tres = theirs(tx, torch.tensor(target))
    dres = ours(dx, dg.tensor(target))
    assert type(dres).__name__ == "_ASMoutput" and dres._fields == ("output", "loss")
    np.testing.assert_allclose(dres.output.detach().numpy(), tres.output.detach().numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(dres.loss.item(), tres.loss.item(), rtol=1e-12)
    assert tuple(dres.loss.shape) == () and tuple(dres.output.shape) == (len(target),)
    weights = rng.standard_normal(len(target))
    (tres.loss + (tres.output * torch.tensor(weights)).sum()).backward()
    (dres.loss + (dres.output * dg.tensor(weights)).sum()).backward()
    np.testing.assert_allclose(dx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-13)
    their_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        expected = their_params[name].grad
        got = p.grad
        if expected is None:  # a cluster no target fell in
            assert got is None or not got.detach().numpy().any(), name
        else:
            np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-10, atol=1e-13,
                                       err_msg=name)


def test_gradcheck_through_all_clusters():
    ours, _ = _pair(in_features=4, n_classes=9, cutoffs=(2, 5), div_value=2.0)
    target = dg.tensor([0, 3, 8, 5, 1])
    x = dg.tensor(np.random.default_rng(1).standard_normal((5, 4)), requires_grad=True)
    assert dg.gradcheck(lambda a: ours(a, target).loss, (x,))
    assert dg.gradcheck(lambda a: ours.log_prob(a), (x,))


def test_log_prob_predict_and_unbatched_forward_match_torch():
    ours, theirs = _pair()
    rng = np.random.default_rng(2)
    # Scaled inputs make some rows' best head entry a cluster, exercising predict's mixed case.
    x = rng.standard_normal((16, 8)) * 3
    tx, dx = torch.tensor(x), dg.tensor(x)
    np.testing.assert_allclose(ours.log_prob(dx).detach().numpy(),
                               theirs.log_prob(tx).detach().numpy(), rtol=1e-12)
    predicted = ours.predict(dx)
    assert predicted.dtype == dg.int64
    np.testing.assert_array_equal(predicted.numpy(), theirs.predict(tx).numpy())
    assert (theirs.predict(tx) >= 4).any() and (theirs.predict(tx) < 4).any()
    # One sample: 0-d target and 1-d input.
    tres, dres = theirs(tx[0], torch.tensor(7)), ours(dx[0], dg.tensor(7))
    assert tuple(dres.output.shape) == ()
    np.testing.assert_allclose(dres.output.item(), tres.output.item(), rtol=1e-12)
    # log_prob and predict take batches only (PyTorch raises IndexError for one sample).
    for method in ("log_prob", "predict"):
        with pytest.raises(IndexError):
            getattr(theirs, method)(tx[0])
        with pytest.raises(IndexError):
            getattr(ours, method)(dx[0])


def test_structure_and_defaults():
    layer = nn.AdaptiveLogSoftmaxWithLoss(64, 1000, [10, 100])
    reference = torch.nn.AdaptiveLogSoftmaxWithLoss(64, 1000, [10, 100])
    assert layer.cutoffs == reference.cutoffs == [10, 100, 1000]
    assert (layer.shortlist_size, layer.n_clusters, layer.head_size, layer.div_value) == (
        reference.shortlist_size, reference.n_clusters, reference.head_size, 4.0)
    ours = {k: tuple(v.shape) for k, v in layer.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    assert ours == theirs
    assert layer.head.bias is None and layer.head.weight.dtype == dg.float32


def test_errors_match_torch():
    bad_cutoffs = [[], [5, 3], [0, 4], [4, 20], [4, 4], [2.5]]
    for cutoffs in bad_cutoffs:
        with pytest.raises(ValueError):
            torch.nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs)
        with pytest.raises(ValueError):
            nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs)
    ours, theirs = _pair()
    x = np.zeros((3, 8))
    calls = [
        (x, [1, 2]),            # batch sizes differ
        (x, [1, 2, 20]),        # target out of range
        (x, [-1, 2, 3]),        # negative target
        (x[0], [1]),            # 1-d target with a 1-d input
        (x, 3),                 # 0-d target with a 2-d input
        (x, [[1], [2], [3]]),   # 2-d target
    ]
    for inputs, target in calls:
        with pytest.raises(RuntimeError):
            theirs(torch.tensor(inputs), torch.tensor(target))
        with pytest.raises(RuntimeError):
            ours(dg.tensor(inputs), dg.tensor(target))


def test_trains_with_an_optimizer():
    # Tutorial-style use: loss from forward, backward, step; the loss goes down.
    dg.manual_seed(0)
    layer = nn.AdaptiveLogSoftmaxWithLoss(6, 12, [3, 7], div_value=2.0)
    optimizer = dg.optim.SGD(layer.parameters(), lr=0.5)
    rng = np.random.default_rng(3)
    x = dg.tensor(rng.standard_normal((32, 6)).astype(np.float32))
    target = dg.tensor(rng.integers(0, 12, 32))
    losses = []
    for _ in range(20):
        optimizer.zero_grad()
        loss = layer(x, target).loss
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]
