"""The fixes T23 made for libraries' own suites run under the alias (ignite, accelerate),
each against PyTorch."""

from __future__ import annotations

import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _shuffled_batches(m, num_workers, persistent=False):
    """ignite's resume pattern: reseed between iter(loader) and the first batch."""
    m.manual_seed(0)
    loader = m.utils.data.DataLoader(m.arange(12), batch_size=2, shuffle=True,
                                     num_workers=num_workers,
                                     persistent_workers=persistent)
    passes = []
    for seed in (1, 3):
        it = iter(loader)
        m.manual_seed(seed)
        first = [next(it).tolist()]
        m.manual_seed(seed + 1)
        passes.append(first + [b.tolist() for b in it])
    return passes, m.rand(2).tolist()


@pytest.mark.parametrize("num_workers,persistent", [(0, False), (2, False), (2, True)])
def test_worker_loader_draws_its_order_at_iter(num_workers, persistent):
    # PyTorch's worker iterator prefetches indices at iter(): the shuffle's seed comes from
    # the state before the reseed; without workers, from the state after it.
    assert (_shuffled_batches(dg, num_workers, persistent)
            == _shuffled_batches(torch, num_workers, persistent))


def _moved_to_meta(m, monkeypatch):
    """accelerate's init_empty_weights: each parameter is moved to meta as it is registered."""
    plain = m.nn.Module.register_parameter

    def register(module, name, param):
        plain(module, name, param)
        if param is not None:
            kind = type(module._parameters[name])
            module._parameters[name] = kind(module._parameters[name].to("meta"))
    monkeypatch.setattr(m.nn.Module, "register_parameter", register)


def test_parameters_moved_to_meta_are_never_copied(monkeypatch):
    import tracemalloc
    _moved_to_meta(dg, monkeypatch)
    tracemalloc.start()
    try:
        layer = dg.nn.Linear(5000, 4000)  # 80 MB of np.empty: a copy would touch 80 MB more
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert layer.weight.is_meta and layer.bias.is_meta
    assert peak < 1.25 * 80e6
    monkeypatch.undo()
    _moved_to_meta(torch, monkeypatch)
    real = torch.nn.Linear(5000, 4000)
    assert (tuple(layer.weight.shape), layer.weight.device.type) == (
        tuple(real.weight.shape), real.weight.device.type)


META_VIEWS = {
    "whole": lambda t: t, "row": lambda t: t[1], "column": lambda t: t[:, 1],
    "transposed row": lambda t: t.t()[1], "slice of view": lambda t: t.view(12)[5:],
    "reshape": lambda t: t[1:].reshape(8), "expand": lambda t: t[2].unsqueeze(0).expand(3, 4),
    "clone": lambda t: t[1].clone(), "sum": lambda t: t[1] + 1,
    "narrow": lambda t: t.narrow(1, 2, 2), "as_strided": lambda t: t.as_strided((2,), (1,), 3),
    "as_strided of a view": lambda t: t[1].as_strided((2,), (1,), 1),
    "row of row": lambda t: t[1][2:], "contiguous": lambda t: t[1].contiguous(),
    "unbind": lambda t: t.unbind(0)[2], "chunk": lambda t: t.chunk(2, 1)[1],
    "T contiguous": lambda t: t.T.contiguous(), "select": lambda t: t.select(1, 3),
    "diagonal": lambda t: t[:, 1:].diagonal(), "permute": lambda t: t[1:].permute(1, 0),
    "ellipsis": lambda t: t[..., 2], "view dtype": lambda t: t[1].view(t.new_empty(0,
                                                                       dtype=int).dtype),
    "parameter": lambda t: type(t)(t[1]),
}


@pytest.mark.parametrize("name", sorted(META_VIEWS))
def test_meta_views_report_their_storage_offset(name):
    def answers(m):
        view = META_VIEWS[name](m.empty(3, 4, device="meta"))
        storage = view.untyped_storage()
        return (view.data_ptr(), view.storage_offset(), storage.data_ptr(), storage.nbytes(),
                storage.device.type, tuple(view.shape))
    assert answers(dg) == answers(torch)


def _store_answers(m, store):
    """What a store answers through PyTorch's API (values are bytes; add keeps digits)."""
    from datetime import timedelta
    store.set("a", "x")
    store.set("b", b"\x00\xff")
    answers = [store.get("a"), store.get("b"), store.add("c", 3), store.add("c", -1),
               store.get("c"), store.check(["a", "c"]), store.check(["a", "zz"]),
               store.compare_set("a", "x", "y"), store.compare_set("a", "q", "z"),
               store.compare_set("new", "", "v"), store.compare_set("other", "q", "v"),
               store.check(["other"]), store.timeout]
    store.append("ap", "1")
    store.append("ap", b"2")
    store.multi_set(["m1", "m2"], ["1", b"2"])
    answers += [store.multi_get(["ap", "m2", "c"]), store.has_extended_api()]
    store.set_timeout(timedelta(milliseconds=50))
    # (PyTorch's wait(keys) without a timeout ignores set_timeout: 5 minutes, not called)
    for call in (lambda: store.get("missing"),
                 lambda: store.wait(["missing"], timedelta(milliseconds=20))):
        with pytest.raises(RuntimeError):
            call()
    with pytest.raises(TypeError):
        store.set("i", 5)
    return answers


def test_stores_answer_as_pytorch(tmp_path):
    import torch.distributed as real

    import deltagrad.distributed as ours
    for m, dist in ((dg, ours), (torch, real)):
        hashed = dist.HashStore()
        assert _store_answers(m, hashed) == _store_answers(dg, ours.HashStore())
        assert isinstance(hashed, dist.Store)
        assert (hashed.delete_key("a"), hashed.delete_key("a")) == (True, False)
        prefixed = dist.PrefixStore("pre", hashed)
        prefixed.set("z", "1")
        assert (hashed.check(["pre/z"]), prefixed.get("z"), prefixed.check(["a"])) == (
            True, b"1", False)
        path = str(tmp_path / f"{m.__name__}.store")
        first = dist.FileStore(path, 2)  # (kept: PyTorch removes the file after the last one)
        assert _store_answers(m, first) == _store_answers(
            dg, ours.FileStore(str(tmp_path / f"{m.__name__}.ours.store"), 1))
        assert dist.FileStore(path, 2).get("m1") == b"1"  # (a second store on the same file)


def test_file_store_is_shared_between_processes(tmp_path):
    import multiprocessing

    import deltagrad.distributed as dist
    path = str(tmp_path / "shared.store")
    store = dist.FileStore(path, 2)
    child = multiprocessing.get_context("fork").Process(target=_child_counts, args=(path,))
    child.start()
    totals = [store.add("count", 1) for _ in range(20)]
    assert store.get("child") == b"done"  # (waits for the other process)
    child.join(30)
    assert child.exitcode == 0
    assert store.get("count") == b"40" and len(set(totals)) == 20


def _child_counts(path):
    import deltagrad.distributed as dist
    store = dist.FileStore(path, 2)
    for _ in range(20):
        store.add("count", 1)
    store.set("child", "done")


def test_init_process_group_with_a_store_for_one_process():
    import deltagrad.distributed as dist
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        assert (dist.get_rank(), dist.get_world_size(), dist.is_initialized()) == (0, 1, True)
        x = dg.ones(3)
        dist.all_reduce(x)
        assert x.tolist() == [1.0, 1.0, 1.0]
    finally:
        dist.destroy_process_group()
    import torch.distributed as real
    for module in (dist, real):  # (PyTorch's checks: world_size and rank must be given)
        with pytest.raises(AssertionError, match="world_size must be positive"):
            module.init_process_group("gloo", store=module.HashStore())
        with pytest.raises(AssertionError, match="rank must be non-negative"):
            module.init_process_group("gloo", store=module.HashStore(), world_size=1)
    with pytest.raises(NotImplementedError, match="store-based rendezvous"):
        dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=2)
    assert not dist.is_initialized()
