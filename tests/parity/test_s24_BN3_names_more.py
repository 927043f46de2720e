"""Session 24 BN3, continued (tests/parity/test_s24_BN3_names.py holds the rest):
``torch.nn.utils.stateless.NamedMemberAccessor`` and ``hash_tensor(out=)``, against PyTorch."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _accessor_trace(lib):
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    access = nn.utils.stateless.NamedMemberAccessor(model)
    out = []

    def record(function):
        try:
            out.append(repr(function()).replace("deltagrad.", "torch."))
        except Exception as error:  # noqa: BLE001 - the class and message are compared
            out.append(f"{type(error).__name__}: {str(error)[:90]}".replace("deltagrad.",
                                                                              "torch."))

    record(lambda: type(access.get_submodule("0")).__name__)
    record(lambda: access.get_submodule("") is model)
    record(lambda: access.get_submodule("2"))
    record(lambda: access.get_submodule("0.weight"))
    record(lambda: tuple(access.get_tensor("0.weight").shape))
    record(lambda: access.get_tensor("1.running_mean"))
    record(lambda: access.get_tensor("0.nope"))
    record(lambda: access.get_tensor("0"))
    old = access.swap_tensor("0.bias", lib.zeros(3))
    record(lambda: (isinstance(old, nn.Parameter), model[0].bias,
                    isinstance(model[0].bias, nn.Parameter)))
    access.set_tensor("0.bias", lib.ones(3))
    record(lambda: model[0].bias)
    record(lambda: access.check_keys(["0.weight", "x.y"]))
    record(lambda: ([n for n, _ in access.named_parameters()],
                    [n for n, _ in access.named_buffers()],
                    [n for n, _ in access.named_tensors()],
                    [n for n, _ in access.named_modules()]))
    access.del_tensor("0.bias")
    record(lambda: hasattr(model[0], "bias"))
    record(lambda: access.del_tensor("0.bias"))
    swapped = access.swap_tensors_dict({"0.weight": lib.zeros(3, 2), "1.weight": lib.ones(3)},
                                       allow_missing=True)
    record(lambda: (type(swapped).__name__, sorted(swapped[0]), swapped[1]))
    record(lambda: access.swap_tensors_dict({"zz": lib.zeros(1)}))
    record(lambda: access.set_tensors(["0.weight"], [lib.zeros(3, 2), lib.zeros(1)]))
    record(lambda: [tuple(t.shape) for t in access.get_tensors(["0.weight", "1.weight"])])
    replacement = nn.Linear(1, 1)
    previous = access.swap_submodule("0", replacement)
    record(lambda: (type(previous).__name__, model[0] is replacement))
    record(lambda: tuple(access.get_tensor("0.weight").shape))  # (PyTorch's cache: the old one)
    return out


def test_named_member_accessor_matches_pytorch():
    assert _accessor_trace(dg) == _accessor_trace(torch)


def test_functional_call_style_swap_and_restore():
    model = dg.nn.Linear(2, 2)
    access = dg.nn.utils.stateless.NamedMemberAccessor(model)
    x = dg.ones(1, 2)
    weights = {"weight": dg.eye(2), "bias": dg.zeros(2)}
    old, missing = access.swap_tensors_dict(weights)
    np.testing.assert_array_equal(model(x).detach().numpy(), [[1.0, 1.0]])
    access.swap_tensors_dict(old)
    assert missing == [] and model.weight is old["weight"]


@pytest.mark.parametrize("out_dtype", ["uint64", "int64"])
def test_hash_tensor_out(out_dtype):
    results = []
    for lib in (dg, torch):
        x = lib.tensor(np.random.default_rng(3).standard_normal((2, 3)))
        out = lib.empty(0, dtype=getattr(lib, out_dtype))
        try:
            returned = lib.hash_tensor(x, 1, out=out)
            results.append((returned is out, out.tolist()))
        except RuntimeError as error:
            results.append(str(error))
    assert results[0] == results[1]


D = [[0.0, 1, 0, 2], [3, 0, 0, 0], [0, 0, 4, 5], [0, 0, 0, 0]]
CSC_CASES = {
    "row": lambda L: L.tensor(D).to_sparse_csc()[0],
    "last row": lambda L: L.tensor(D).to_sparse_csc()[-1],
    "element": lambda L: L.tensor(D).to_sparse_csc()[0, 1],
    "row range": lambda L: L.tensor(D).to_sparse_csc()[5],
    "slice": lambda L: L.tensor(D).to_sparse_csc()[0:2],
    "coalesce": lambda L: L.tensor(D).to_sparse_csc().coalesce(),
    "is_coalesced": lambda L: L.tensor(D).to_sparse_bsr(2).is_coalesced(),
    "to_dense(dtype)": lambda L: L.tensor(D).to_sparse_csc().to_dense(L.float64),
    "unsqueeze": lambda L: L.tensor(D).to_sparse_bsc(2).unsqueeze(0),
    "abs after": lambda L: L.tensor(D).neg().to_sparse_csc().abs().to_dense(),
    "sum after": lambda L: L.tensor(D).to_sparse_bsr(2).sum(),
}


@pytest.mark.parametrize("name", CSC_CASES)
def test_compressed_indexing_and_coo_only_methods(name):
    import warnings

    results = []
    for lib in (dg, torch):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = CSC_CASES[name](lib)
            results.append((str(value.layout).split(".")[-1], value.to_dense().tolist()))
        except Exception as error:  # noqa: BLE001 - the class and message are compared
            results.append((type(error).__name__, str(error)[:60]))
    assert results[0] == results[1]
