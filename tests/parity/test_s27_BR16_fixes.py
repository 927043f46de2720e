"""Session 27 BR16: small differences from PyTorch 2.13, each checked against real ``torch``.

1. PyTorch's int-list parser reads a Python bool after the first position as its int
   (``x.repeat(1, True)`` is ``x.repeat(1, 1)``; a first bool is a TypeError): repeat, tile,
   sum_to_size, and the dim lists of flip / squeeze / movedim / reductions / vector norms.
2. None where PyTorch's parser wants a number: ``round(x, decimals=None)``,
   ``linalg.pinv(a, None)``, ``linalg.matrix_rank(a, None)``, ``pinverse(a, None)``,
   ``linalg.cross(a, b, dim=None)`` raise TypeError (they were read as the default).
3. A piece of split / chunk / unbind modified in place after ``backward()`` freed its graph:
   PyTorch's RuntimeError (the pieces' check was lost with the freed graph).
"""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _run(lib, code: str):
    """``code``'s ``out`` (after ``x``: a fixed [2, 3] float32 tensor), or the exception's type."""
    space = {"torch": lib, "x": lib.tensor(np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5)}
    try:
        exec(code, space)
    except Exception as error:  # noqa: BLE001 - the type is the result compared
        return error
    return space["out"]


def _same(code: str) -> None:
    ours, theirs = _run(dg, code), _run(torch, code)
    if isinstance(theirs, Exception):
        assert isinstance(ours, Exception), f"{code}: PyTorch raises {theirs!r}, deltagrad not"
        assert isinstance(ours, type(theirs)), f"{code}: {ours!r} vs {theirs!r}"
        return
    assert not isinstance(ours, Exception), f"{code}: deltagrad raises {ours!r}"
    if isinstance(theirs, torch.Tensor):
        assert tuple(ours.shape) == tuple(theirs.shape), code
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], code
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=code)
    else:
        assert ours == theirs, code


BOOL_LISTS = [
    "out = x.repeat(1, True)", "out = x.repeat(True, 1)", "out = x.repeat((1, True))",
    "out = x.repeat((True, 1))", "out = x.repeat(2, True, False)",
    "out = x.sum_to_size(2, True)", "out = x.sum_to_size(True, 3)",
    "out = x.sum_to_size((2, True))", "out = x.sum_to_size(size=(2, True))",
    "out = x.tile(1, True)", "out = x.tile(True, 1)", "out = torch.tile(x, (1, True))",
    "out = torch.tile(x, (True, 1))", "out = x.tile(dims=(2, True))",
    "out = x[:, :1].expand(2, True)", "out = x.view(2, True, 3)", "out = x.view(True, 6)",
    "out = x.reshape(2, True, 3)", "out = torch.reshape(x, (2, True, 3))",
    "out = x.permute(0, True)", "out = x.permute(True, 0)", "out = torch.permute(x, (0, True))",
    "out = x.new_ones(2, True)", "out = x.new_ones(True, 2)", "out = x.new_ones((2, True))",
    "out = x.flip(0, True)", "out = torch.flip(x, (0, True))", "out = torch.flip(x, (True, 0))",
    "out = x[:1].squeeze((0, True))", "out = x[:1].squeeze((True, 0))",
    "out = x[None].movedim((0, True), (1, 0))", "out = x[None].movedim((0, 1), (1, True))",
    "out = x.sum((0, True))", "out = x.sum((True, 0))", "out = x.mean((0, True))",
    "out = x.amax((0, True))", "out = x.logsumexp((0, True))", "out = x.logsumexp((True, 0))",
    "out = x.std((0, True))", "out = torch.var(x, (0, True))", "out = x.norm(dim=(0, True))",
    "out = torch.linalg.vector_norm(x, 2, (0, True))", "out = x.count_nonzero((0, True))",
]


@pytest.mark.parametrize("code", BOOL_LISTS, ids=[f"b{i}" for i in range(len(BOOL_LISTS))])
def test_bool_in_an_int_list_as_pytorch(code):
    _same(code)


NONE_ARGUMENTS = [
    "out = torch.round(x, decimals=None)", "out = x.round(decimals=None)",
    "out = torch.round(x, decimals=True)", "out = torch.round(x, decimals=1)",
    "out = torch.round(x)", "out = torch.special.round(x, decimals=None)",
    "out = torch.linalg.pinv(x, None)", "out = torch.linalg.pinv(x, rcond=None)",
    "out = torch.linalg.pinv(x, atol=None)", "out = torch.linalg.pinv(x, 0.1)",
    "out = torch.linalg.pinv(x)", "out = torch.pinverse(x, None)",
    "out = torch.linalg.matrix_rank(x, None)", "out = torch.linalg.matrix_rank(x, tol=None)",
    "out = torch.linalg.matrix_rank(x, atol=None)", "out = torch.linalg.matrix_rank(x, 0.5)",
    "out = torch.linalg.matrix_rank(x)",
    "out = torch.linalg.cross(x, x, dim=None)", "out = torch.linalg.cross(x, x, dim=True)",
    "out = torch.linalg.cross(x.T, x.T, dim=-1)",
]


@pytest.mark.parametrize("code", NONE_ARGUMENTS,
                         ids=[f"n{i}" for i in range(len(NONE_ARGUMENTS))])
def test_none_argument_as_pytorch(code):
    _same(code)


def _pieces(lib, how: str, leaf: bool):
    x = lib.tensor(np.linspace(-1.0, 1.0, 24, dtype=np.float32).reshape(4, 6),
                   requires_grad=True)
    base = x if leaf else x * 1
    if how == "split":
        return x, base.split(2)
    if how == "split_sizes":
        return x, base.split([1, 3])
    if how == "chunk":
        return x, base.chunk(2)
    if how == "unbind":
        return x, base.unbind(0)
    if how == "tensor_split":
        return x, base.tensor_split(2)
    return x, [base.narrow(0, 0, 2)]


@pytest.mark.parametrize("how", ["split", "split_sizes", "chunk", "unbind", "tensor_split",
                                 "narrow"])
@pytest.mark.parametrize("leaf", [True, False], ids=["leaf", "nonleaf"])
@pytest.mark.parametrize("view", [False, True], ids=["piece", "view_of_piece"])
def test_piece_written_in_place_after_backward(how, leaf, view):
    outcomes = []
    for lib in (dg, torch):
        x, parts = _pieces(lib, how, leaf)
        (parts[0] * 1).sum().backward()  # (frees the graph)
        before = x.detach().clone()
        target = parts[0].view(-1) if view else parts[0]
        try:
            target.mul_(2)
        except RuntimeError:
            outcomes.append(("RuntimeError", True))
            continue
        outcomes.append(("ok", bool((x.detach() == before).all())))
    # (a leaf's plain view after backward: refused as PyTorch's since s28 BR17)
    assert outcomes[0] == outcomes[1], outcomes


def test_the_brief_repro():
    x = dg.randn(4, requires_grad=True)
    p = x.split(2)
    (p[0] * 1).sum().backward()
    with pytest.raises(RuntimeError, match="returns multiple views"):
        p[0].mul_(2)
    with dg.no_grad():  # (allowed without grad mode, as PyTorch)
        p[0].mul_(2)
