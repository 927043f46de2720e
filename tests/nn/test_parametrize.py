"""nn.utils.parametrize, nn.utils.parametrizations, the hook-based weight/spectral norms and
stateless.functional_call, against PyTorch (same weights, inputs and random vectors)."""

import copy
import pickle
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad.nn.utils.parametrize as P  # noqa: E402
from deltagrad.nn.utils.parametrizations import orthogonal, spectral_norm, weight_norm  # noqa: E402

import deltagrad as dg  # noqa: E402

TP = torch.nn.utils.parametrize
TPS = torch.nn.utils.parametrizations


def arr(t):
    return t.detach().numpy()


def _linear_pair(in_features=4, out_features=3, seed=0):
    torch.manual_seed(seed)
    theirs = torch.nn.Linear(in_features, out_features).double()
    ours = dg.nn.Linear(in_features, out_features).double()
    _load(ours, theirs)
    return ours, theirs


def _load(ours, theirs):
    ours.load_state_dict({k: dg.tensor(arr(v)) for k, v in theirs.state_dict().items()})


def _check_state(ours, theirs, rtol=1e-12):
    mine, reference = ours.state_dict(), theirs.state_dict()
    assert list(mine) == list(reference)
    for key in reference:
        np.testing.assert_allclose(arr(mine[key]), arr(reference[key]), rtol=rtol, atol=1e-14)


def _check_call_and_grads(ours, theirs, x, names, rtol=1e-10):
    out_ours = ours(dg.tensor(x))
    out_theirs = theirs(torch.tensor(x))
    np.testing.assert_allclose(arr(out_ours), arr(out_theirs), rtol=rtol, atol=1e-12)
    (out_ours ** 2).sum().backward()
    (out_theirs ** 2).sum().backward()
    for name in names:
        mine, reference = ours.get_parameter(name).grad, theirs.get_parameter(name).grad
        np.testing.assert_allclose(arr(mine), arr(reference), rtol=rtol, atol=1e-12)


def _symmetric(lib):
    class Symmetric(lib.nn.Module):
        def forward(self, X):  # noqa: N803
            return X.triu() + X.triu(1).mT

        def right_inverse(self, A):  # noqa: N803
            return A.triu()

    return Symmetric()


def _rank_one(lib):
    class RankOne(lib.nn.Module):
        def forward(self, x, y):
            return x.unsqueeze(-1) @ y.unsqueeze(-2)

        def right_inverse(self, Z):  # noqa: N803
            return Z[:, 0], Z[0, :] / Z[0, 0]

    return RankOne()


def _scale(lib, factor):
    class Scale(lib.nn.Module):
        def forward(self, X):  # noqa: N803
            return X * factor

        def right_inverse(self, X):  # noqa: N803
            return X / factor

    return Scale()


WIDE = np.random.default_rng(0).standard_normal((5, 6))
X = WIDE[:, :4]


# ----------------------------------------------------------------------------------------------
# parametrize.


def test_register_parametrization_matches_pytorch():
    ours, theirs = _linear_pair(4, 4)
    original = ours.weight
    P.register_parametrization(ours, "weight", _symmetric(dg))
    TP.register_parametrization(theirs, "weight", _symmetric(torch))
    assert type(ours).__name__ == type(theirs).__name__ == "ParametrizedLinear"
    assert P.type_before_parametrizations(ours) is dg.nn.Linear
    assert P.is_parametrized(ours) and P.is_parametrized(ours, "weight")
    assert not P.is_parametrized(ours, "bias")
    assert ours.parametrizations.weight.original is original  # the same object, in place
    _check_state(ours, theirs)
    np.testing.assert_allclose(arr(ours.weight), arr(theirs.weight))
    _check_call_and_grads(ours, theirs, X[:, :4], ["parametrizations.weight.original", "bias"])
    # Assigning goes through right_inverse.
    target = np.arange(16.0).reshape(4, 4)
    target = target + target.T
    ours.weight = dg.tensor(target)
    theirs.weight = torch.tensor(target)
    _check_state(ours, theirs)
    # Chaining a second parametrization applies it after the first.
    P.register_parametrization(ours, "weight", _scale(dg, 2.0))
    TP.register_parametrization(theirs, "weight", _scale(torch, 2.0))
    _check_state(ours, theirs)
    np.testing.assert_allclose(arr(ours.weight), arr(theirs.weight))
    assert repr(ours) == repr(theirs)


def test_right_inverse_with_several_tensors():
    ours, theirs = _linear_pair(3, 3, seed=1)
    rank_one = np.outer([1.0, 2.0, 3.0], [2.0, -1.0, 0.5])
    ours.weight.data = dg.tensor(rank_one)
    theirs.weight.data = torch.tensor(rank_one)
    P.register_parametrization(ours, "weight", _rank_one(dg))
    TP.register_parametrization(theirs, "weight", _rank_one(torch))
    _check_state(ours, theirs)
    assert ours.parametrizations.weight.ntensors == 2
    _check_call_and_grads(ours, theirs, X[:, :3], ["parametrizations.weight.original0",
                                                    "parametrizations.weight.original1"])
    for lib, module in ((P, ours), (TP, theirs)):
        with pytest.raises(ValueError, match="sequence of tensors"):
            lib.remove_parametrizations(module, "weight", leave_parametrized=False)
    P.remove_parametrizations(ours, "weight")
    TP.remove_parametrizations(theirs, "weight")
    _check_state(ours, theirs)
    assert type(ours) is dg.nn.Linear and isinstance(ours.weight, dg.nn.Parameter)


@pytest.mark.parametrize("leave_parametrized", [True, False])
def test_remove_parametrizations(leave_parametrized):
    ours, theirs = _linear_pair(4, 4, seed=2)
    original = ours.weight
    P.register_parametrization(ours, "weight", _symmetric(dg))
    TP.register_parametrization(theirs, "weight", _symmetric(torch))
    P.remove_parametrizations(ours, "weight", leave_parametrized=leave_parametrized)
    TP.remove_parametrizations(theirs, "weight", leave_parametrized=leave_parametrized)
    assert type(ours) is dg.nn.Linear and not hasattr(ours, "parametrizations")
    assert ours.weight is original
    _check_state(ours, theirs)
    assert not hasattr(dg.nn.Linear, "weight")  # the property went with the dynamic class


def test_parametrize_errors_match_pytorch():
    class Widen(torch.nn.Module):
        def forward(self, X):  # noqa: N803
            return torch.cat([X, X], dim=0)

    class WidenOurs(dg.nn.Module):
        def forward(self, X):  # noqa: N803
            return dg.cat([X, X], dim=0)

    for lib, p, widen in ((dg, P, WidenOurs()), (torch, TP, Widen())):
        layer = lib.nn.Linear(2, 2)
        with pytest.raises(ValueError, match="may not change the shape"):
            p.register_parametrization(layer, "weight", widen)
        with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
            p.register_parametrization(layer, "nothing", widen)
        with pytest.raises(ValueError, match="does not have a parametrization on"):
            p.remove_parametrizations(layer, "weight")
        p.register_parametrization(layer, "weight", widen, unsafe=True)
        assert tuple(layer.weight.shape) == (4, 2)
        with pytest.raises(KeyError, match="already exists"):
            layer.weight = lib.nn.Parameter(lib.ones(2, 2))


def test_cached_computes_each_parametrized_tensor_once():
    calls = []

    class Counting(dg.nn.Module):
        def forward(self, X):  # noqa: N803
            calls.append(1)
            return X * 2

    layer = P.register_parametrization(dg.nn.Linear(2, 2), "weight", Counting())
    calls.clear()
    with P.cached():
        first = layer.weight
        with P.cached():
            assert layer.weight is first
        assert layer.weight is first
    assert len(calls) == 1
    assert layer.weight is not first and len(calls) == 2


def test_parametrized_modules_deepcopy_but_do_not_pickle():
    layer = P.register_parametrization(dg.nn.Linear(3, 3), "weight", _symmetric(dg))
    clone = copy.deepcopy(layer)
    assert type(clone) is type(layer)
    assert clone.parametrizations.weight.original is not layer.parametrizations.weight.original
    np.testing.assert_array_equal(arr(clone.weight), arr(layer.weight))
    assert isinstance(clone.parametrizations.weight.original, dg.nn.Parameter)
    with pytest.raises(RuntimeError, match="only supported through state_dict"):
        pickle.dumps(layer)
    target = dg.nn.Linear(3, 3)
    P.transfer_parametrizations_and_params(layer, target)
    assert target.parametrizations.weight.original is layer.parametrizations.weight.original


# ----------------------------------------------------------------------------------------------
# parametrizations.weight_norm / spectral_norm / orthogonal.


@pytest.mark.parametrize("dim", [0, 1, None, -2])
def test_weight_norm_parametrization(dim):
    ours, theirs = _linear_pair(seed=3)
    weight_norm(ours, dim=dim)
    TPS.weight_norm(theirs, dim=dim)
    _check_state(ours, theirs)
    np.testing.assert_allclose(arr(ours.weight), arr(theirs.weight), rtol=1e-12)
    _check_call_and_grads(ours, theirs, X, ["parametrizations.weight.original0",
                                            "parametrizations.weight.original1"])


def test_weight_norm_loads_the_old_layout():
    torch.manual_seed(4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        old = torch.nn.utils.weight_norm(torch.nn.Linear(4, 3).double())
    ours = weight_norm(dg.nn.Linear(4, 3).double())
    theirs = TPS.weight_norm(torch.nn.Linear(4, 3).double())
    assert repr(ours.load_state_dict({k: dg.tensor(arr(v)) for k, v in
                                      old.state_dict().items()})) == \
        repr(theirs.load_state_dict(old.state_dict()))
    _check_state(ours, theirs)


def test_spectral_norm_parametrization_with_pytorchs_vectors():
    ours, theirs = _linear_pair(seed=5)
    spectral_norm(ours, n_power_iterations=2)
    TPS.spectral_norm(theirs, n_power_iterations=2)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    u = arr(ours.parametrizations.weight[0]._u)
    weight = arr(ours.parametrizations.weight.original)
    # Our random start differs, but 15 iterations already point u along the top singular
    # vector.
    top = np.linalg.svd(weight)[0][:, 0]
    assert abs(abs(u @ top) - 1) < 1e-4
    _load(ours, theirs)  # u and v from PyTorch
    for _ in range(3):  # training mode: each call iterates and updates the buffers
        _check_call_and_grads(ours, theirs, X, ["parametrizations.weight.original"])
        _check_state(ours, theirs, rtol=1e-10)
    ours.eval()
    theirs.eval()
    _check_call_and_grads(ours, theirs, X, ["parametrizations.weight.original"])
    _check_state(ours, theirs, rtol=1e-10)


def test_spectral_norm_vectors_and_errors():
    holder = dg.nn.Module()
    holder.weight = dg.nn.Parameter(dg.tensor([3.0, 4.0]))
    spectral_norm(holder)
    np.testing.assert_allclose(arr(holder.weight), [0.6, 0.8], rtol=1e-6)
    for lib, norm in ((dg, spectral_norm), (torch, TPS.spectral_norm)):
        with pytest.raises(IndexError, match="Dimension out of range"):
            norm(lib.nn.Linear(2, 2), dim=2)
        with pytest.raises(ValueError, match="n_power_iterations to be positive"):
            norm(lib.nn.Linear(2, 2), n_power_iterations=0)
        with pytest.raises(ValueError, match="has no parameter or buffer"):
            norm(lib.nn.Linear(2, 2), name="nothing")
    conv = spectral_norm(dg.nn.ConvTranspose1d(2, 3, 2))
    assert conv.parametrizations.weight[0].dim == 1


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
def test_orthogonal_square_matches_pytorch(orthogonal_map):
    ours, theirs = _linear_pair(4, 4, seed=6)
    orthogonal(ours, orthogonal_map=orthogonal_map)
    TPS.orthogonal(theirs, orthogonal_map=orthogonal_map)
    _check_state(ours, theirs, rtol=1e-10)
    np.testing.assert_allclose(arr(ours.weight), arr(theirs.weight), atol=1e-12)
    _load(ours, theirs)
    _check_call_and_grads(ours, theirs, X, ["parametrizations.weight.original"])


@pytest.mark.parametrize("shape", [(5, 3), (3, 5)])
def test_orthogonal_rectangular(shape):
    ours, theirs = _linear_pair(shape[1], shape[0], seed=7)
    orthogonal(ours)
    TPS.orthogonal(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    weight = arr(ours.weight)
    gram = weight.T @ weight if shape[0] > shape[1] else weight @ weight.T
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-12)
    _load(ours, theirs)  # the random completion of the base from PyTorch
    _check_call_and_grads(ours, theirs, WIDE[:, :shape[1]], ["parametrizations.weight.original"])
    # Without trivialization the householder map starts from the weight's QR (no randomness).
    ours, theirs = _linear_pair(shape[1], shape[0], seed=8)
    orthogonal(ours, use_trivialization=False)
    TPS.orthogonal(theirs, use_trivialization=False)
    _check_state(ours, theirs, rtol=1e-10)
    np.testing.assert_allclose(arr(ours.weight), arr(theirs.weight), atol=1e-12)


def test_orthogonal_errors():
    for lib, orth in ((dg, orthogonal), (torch, TPS.orthogonal)):
        holder = lib.nn.Module()
        holder.weight = lib.nn.Parameter(lib.ones(3))
        with pytest.raises(ValueError, match="Expected a matrix"):
            orth(holder)
        with pytest.raises(ValueError, match="orthogonal_map has to be one of"):
            orth(lib.nn.Linear(2, 2), orthogonal_map="qr")
        layer = orth(lib.nn.Linear(2, 2), orthogonal_map="cayley", use_trivialization=False)
        with pytest.raises(NotImplementedError):
            layer.weight = lib.eye(2)


# ----------------------------------------------------------------------------------------------
# The hook-based nn.utils.weight_norm / spectral_norm.


def test_hook_based_weight_norm():
    ours, theirs = _linear_pair(seed=9)
    with pytest.warns(FutureWarning):
        dg.nn.utils.weight_norm(ours, dim=1)
    with pytest.warns(FutureWarning):
        torch.nn.utils.weight_norm(theirs, dim=1)
    _check_state(ours, theirs)
    _check_call_and_grads(ours, theirs, X, ["weight_g", "weight_v", "bias"])
    for lib, module in ((dg, ours), (torch, theirs)):
        with pytest.warns(FutureWarning), pytest.raises(RuntimeError, match="two weight_norm"):
            lib.nn.utils.weight_norm(module, dim=1)
        lib.nn.utils.remove_weight_norm(module)
        with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
            lib.nn.utils.remove_weight_norm(module)
    _check_state(ours, theirs)
    assert ours._hooks.forward_pre == {}


def test_hook_based_spectral_norm():
    ours, theirs = _linear_pair(seed=10)
    dg.nn.utils.spectral_norm(ours)
    torch.nn.utils.spectral_norm(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert dict(ours.state_dict()._metadata) == dict(theirs.state_dict()._metadata)
    _load(ours, theirs)
    for _ in range(2):
        _check_call_and_grads(ours, theirs, X, ["weight_orig", "bias"])
        _check_state(ours, theirs, rtol=1e-10)
    # A state dict from before spectral norm's version 1 (no weight_v): v is solved for.
    old = {k: v for k, v in theirs.state_dict().items() if k != "weight_v"}
    old["weight"] = theirs.weight.detach().clone()
    fresh_ours = dg.nn.utils.spectral_norm(dg.nn.Linear(4, 3).double())
    fresh_theirs = torch.nn.utils.spectral_norm(torch.nn.Linear(4, 3).double())
    fresh_ours.load_state_dict({k: dg.tensor(arr(v)) for k, v in old.items()})
    fresh_theirs.load_state_dict(old)
    _check_state(fresh_ours, fresh_theirs, rtol=1e-8)
    for lib, module in ((dg, ours), (torch, theirs)):
        with pytest.raises(RuntimeError, match="two spectral_norm"):
            lib.nn.utils.spectral_norm(module)
        lib.nn.utils.remove_spectral_norm(module)
        with pytest.raises(ValueError, match="spectral_norm of 'weight' not found"):
            lib.nn.utils.remove_spectral_norm(module)
    _check_state(ours, theirs, rtol=1e-10)
    assert "spectral_norm" not in ours.state_dict()._metadata[""]


# ----------------------------------------------------------------------------------------------
# stateless.functional_call.


def test_stateless_functional_call_matches_pytorch():
    ours, theirs = _linear_pair(seed=11)
    weight = np.random.default_rng(1).standard_normal((3, 4))
    mine = dg.tensor(weight, requires_grad=True)
    reference = torch.tensor(weight, requires_grad=True)
    with pytest.warns(FutureWarning):
        out_ours = dg.nn.utils.stateless.functional_call(ours, {"weight": mine}, dg.tensor(X))
    with pytest.warns(FutureWarning):
        out_theirs = torch.nn.utils.stateless.functional_call(theirs, {"weight": reference},
                                                              torch.tensor(X))
    np.testing.assert_allclose(arr(out_ours), arr(out_theirs), rtol=1e-12)
    out_ours.sum().backward()
    out_theirs.sum().backward()
    np.testing.assert_allclose(arr(mine.grad), arr(reference.grad), rtol=1e-12)
    assert ours.weight.grad is None and ours.weight is not mine  # its own weight is back


@pytest.mark.parametrize("kind", ["weight_norm", "matrix_exp", "cayley", "householder",
                                  "spectral_norm"])
def test_parametrized_layers_pass_gradcheck(kind):
    layer = dg.nn.Linear(3, 3).double()
    if kind == "weight_norm":
        weight_norm(layer, dim=None)
        names = ["parametrizations.weight.original0", "parametrizations.weight.original1"]
    elif kind == "spectral_norm":
        spectral_norm(layer).eval()  # (training mode would update u and v on every call)
        names = ["parametrizations.weight.original"]
    else:
        orthogonal(layer, orthogonal_map=kind)
        names = ["parametrizations.weight.original"]
    rng = np.random.default_rng(12)
    values = tuple(dg.tensor(arr(layer.get_parameter(name)) + 0.1 * rng.standard_normal(
        tuple(layer.get_parameter(name).shape)), requires_grad=True) for name in names)
    x = dg.tensor(rng.standard_normal((2, 3)))
    # The layer's output with the originals given as arguments (functional_call swaps them).
    assert dg.gradcheck(
        lambda *given: dg.func.functional_call(layer, dict(zip(names, given)), (x,)), values)
