"""Focused differential tests of what PR's session-17 programs (prog_s17_PR_*.py) found wrong in
deltagrad, each against PyTorch in-process."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _shared_flags(lib):
    t = lib.ones(3)
    before = t.is_shared()
    same = t.share_memory_() is t
    view = t[1:]
    flags = [before, same, t.is_shared(), view.is_shared(), t.clone().is_shared(),
             t.reshape(3, 1).is_shared()]
    base = lib.ones(2, 4)
    base[0].share_memory_()  # sharing a view shares its whole storage
    flags += [base.is_shared(), base[1].is_shared()]
    other = lib.from_numpy(np.ones(3))
    flags += [other.is_shared(), other.share_memory_().is_shared()]
    return flags


def test_share_memory_marks_the_storage():
    # mnist_hogwild: share_memory_ then is_shared() was False for deltagrad
    assert _shared_flags(dg) == _shared_flags(torch)


def _module_flags(lib):
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.BatchNorm1d(2))
    out = model.share_memory()
    flags = [out is model] + [t.is_shared() for t in model.state_dict().values()]
    optimizer = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    model(lib.ones(4, 3)).sum().backward()
    optimizer.step()  # updated in place: still shared
    flags += [p.is_shared() for p in model.parameters()]
    flags += [p.grad.is_shared() for p in model.parameters()]
    return flags, [p.detach().numpy().copy() for p in model.parameters()]


def test_module_share_memory():
    # mnist_hogwild's model.share_memory() raised AttributeError
    want, want_values = _module_flags(torch)
    got, got_values = _module_flags(dg)
    assert got == want
    for a, b in zip(got_values, want_values):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


# print(values) of these shows grad_fn=<...>: deltagrad printed its own decomposition's last
# node (SqueezeBackward1 for x.max(1).values, SliceBackward0 for a chunk, SelectBackward0 for an
# unbind piece) where PyTorch prints one node of the function's own name.
NODE_CASES = {
    "max_dim": lambda t, x: t.max(x, 1)[0],
    "max_keepdim": lambda t, x: x.max(dim=1, keepdim=True).values,
    "min_dim": lambda t, x: x.min(0)[0],
    "median_dim": lambda t, x: x.median(1)[0],
    "nanmedian_dim": lambda t, x: x.nanmedian(1).values,
    "kthvalue": lambda t, x: x.kthvalue(2, 1)[0],
    "mode": lambda t, x: x.mode(1)[0],
    "unbind": lambda t, x: x.unbind(0)[1],
    "torch_unbind": lambda t, x: t.unbind(x, 1)[2],
    "split": lambda t, x: x.split(1, 0)[1],
    "split_sizes": lambda t, x: x.split([1, 2], 1)[1],
    "chunk": lambda t, x: x.chunk(2, 1)[0],
}


@pytest.mark.parametrize("case", list(NODE_CASES))
def test_grad_fn_names_of_multi_result_functions(case):
    fn = NODE_CASES[case]
    x = torch.randn(3, 3, requires_grad=True)
    want = fn(torch, x)
    got = fn(dg, dg.tensor(x.detach().numpy(), requires_grad=True))
    assert type(got.grad_fn).__name__ == type(want.grad_fn).__name__
    assert got.grad_fn.name() == want.grad_fn.name()
    assert repr(got).replace("deltagrad", "torch") == repr(want)


def test_multi_result_names_follow_the_node():
    # an in-place op replaces the node: the piece's name is then the in-place op's, as PyTorch
    # (keepdim=True: deltagrad's keepdim=False values are a view of the kept-dim result, so an
    # in-place op on them makes an AsStridedBackward0 where PyTorch's MulBackward0; KNOWN)
    x = dg.randn(3, 3, requires_grad=True)
    values = x.max(1, keepdim=True).values
    values.mul_(2)
    assert type(values.grad_fn).__name__ == "MulBackward0"
    with dg.no_grad():  # no graph, no name
        assert x.max(1).values.grad_fn is None and x.chunk(3)[0].grad_fn is None
    y = x * 1
    assert [type(p.grad_fn).__name__ for p in y.unbind(1)] == ["UnbindBackward0"] * 3


def _hogwild(lib, share):
    """mnist_hogwild's shape: the parent's model trained by two forked processes; whether the
    parent's weights changed."""
    import multiprocessing

    lib.manual_seed(0)
    model = lib.nn.Linear(3, 1)
    if share:
        model.share_memory()
    before = model.weight.detach().clone()
    data, target = lib.randn(8, 3), lib.randn(8, 1)

    def train(rank):
        optimizer = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
        for _ in range(2):
            optimizer.zero_grad()
            lib.nn.functional.mse_loss(model(data), target).backward()
            optimizer.step()

    context = multiprocessing.get_context("fork")
    procs = [context.Process(target=train, args=(rank,)) for rank in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [proc.exitcode for proc in procs] == [0, 0]
    return not lib.equal(before, model.weight.detach()), model.weight.is_shared()


@pytest.mark.parametrize("share", [True, False])
def test_share_memory_is_seen_by_forked_workers(share):
    # before: Module.share_memory raised; a no-op would leave the parent's model untrained
    assert _hogwild(dg, share) == _hogwild(torch, share) == (share, share)
