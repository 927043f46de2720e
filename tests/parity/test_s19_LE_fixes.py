"""Regression tests for what running more libraries' own suites under the alias found (LE,
session 19), each differential against PyTorch."""

import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


class _Index:
    """An object that is an int only through ``__index__`` (torch_einops_utils' shape
    objects: ``torch.empty(shape(t, 'b [n] d'))``)."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value


def _index_objects(m):
    """Sizes and subscripts given as ``__index__`` objects: PyTorch's int-list parser and its
    indexing read them as ints (deltagrad raised TypeError / IndexError)."""
    x = m.arange(6.0)
    y = m.arange(12.0).reshape(3, 4)
    z = y.clone()
    z[_Index(0), _Index(1)] = 9.0
    return [tuple(m.empty(_Index(3)).shape), tuple(m.zeros([_Index(3), 2]).shape),
            tuple(m.ones(_Index(2), _Index(1)).shape), tuple(x.view(_Index(2), -1).shape),
            tuple(x.reshape((_Index(3), 2)).shape), tuple(m.ones(1).expand(_Index(4)).shape),
            tuple(y.permute(_Index(1), _Index(0)).shape), tuple(x.new_zeros(_Index(2)).shape),
            tuple(m.full((_Index(2),), 1.0).shape), y[_Index(1)].tolist(),
            y[_Index(2), _Index(3)].item(), tuple(y[_Index(1), None].shape), z.tolist()]


def test_index_objects_as_sizes_and_subscripts():
    assert _index_objects(dg) == _index_objects(torch)


@pytest.mark.parametrize("size", [2.0, "2"])
def test_non_index_sizes_still_refused(size):
    # (a float or a str is no size on either side: the __index__ branch lets in no more)
    for m in (torch, dg):
        with pytest.raises(TypeError):
            m.empty(size)
        with pytest.raises(TypeError):
            m.zeros((2, size))


def _chain(t, depth: int = 3) -> list:
    """The names along the first non-leaf input of ``t``'s graph, ``depth`` nodes deep."""
    names, fn = [], t.grad_fn
    while fn is not None and len(names) < depth:
        names.append(fn.name())
        inner = [f for f, _ in fn.next_functions if f is not None and "Accumulate" not in f.name()]
        fn = inner[0] if inner else None
    return names


def _batch_norm_graphs(m):
    """Batch norm is one NativeBatchNormBackward0 node over the convolution's in PyTorch, in
    training and evaluation mode, for 2-d, 3-d and 4-d inputs (deltagrad's eval mode was four
    nodes of sub / mul / add and a 4-d input had view nodes around it: torch_pruning's graph
    walk grouped 10 layers where PyTorch's groups 3); and the values and gradients."""
    m.manual_seed(0)
    out = []
    for shape, layer in (((2, 3, 4, 4), m.nn.BatchNorm2d), ((2, 3, 5), m.nn.BatchNorm1d),
                         ((4, 3), m.nn.BatchNorm1d), ((2, 3, 2, 2, 2), m.nn.BatchNorm3d)):
        for affine in (True, False):
            for train in (True, False):
                bn = layer(3, affine=affine).double()
                bn.running_mean.fill_(0.25)
                bn.running_var.fill_(2.0)
                if affine:
                    with m.no_grad():
                        bn.weight.copy_(m.tensor([0.5, 1.5, -1.0]))
                        bn.bias.copy_(m.tensor([0.1, -0.2, 0.3]))
                bn.train(train)
                x = m.randn(*shape, dtype=m.float64, requires_grad=True)
                y = bn(x * 2)
                g = m.linspace(-1, 1, y.numel(), dtype=m.float64).reshape(y.shape)
                grads = m.autograd.grad((y * g).sum(), [x, *bn.parameters()],
                                        create_graph=True)
                total = sum((v * v).sum() for v in grads)
                # (eval mode without affine parameters: no gradient depends on x)
                second = (m.autograd.grad(total, x, allow_unused=True)[0]
                          if total.requires_grad else None)
                second = None if second is None else second.numpy().round(8).tolist()
                # (PyTorch lists an absent weight and bias as (None, 0): not compared)
                out.append((_chain(y), [type(f).__name__ for f, _ in y.grad_fn.next_functions
                                        if f is not None],
                            y.detach().numpy().round(10).tolist(),
                            [v.detach().numpy().round(10).tolist() for v in grads],
                            second,
                            bn.running_mean.numpy().round(10).tolist()))
    return out


def test_batch_norm_is_one_node():
    assert _batch_norm_graphs(dg) == _batch_norm_graphs(torch)


def _split_nodes(m):
    """The pieces of one split / chunk / unbind share one node in PyTorch: their grad_fns are
    the same (deltagrad: equal and of one hash), the output index of each shows in a consumer's
    next_functions, and the node saves its dim and sizes (torch_pruning reads them: a negative
    dim as PyTorch's unsigned 2**64 - 1)."""
    x = m.randn(2, 16, requires_grad=True)
    out = []
    for pieces in (m.split(x, [4, 4, 8], -1), m.split(x, 5, 1), m.chunk(x, 3, 1),
                   x.unbind(0), x.unbind(-1)):
        fn = pieces[0].grad_fn
        out.append((fn.name(), [getattr(fn, k, None) for k in (
            "_saved_dim", "_saved_split_sizes", "_saved_split_size", "_saved_self_sym_sizes")],
            all(p.grad_fn == fn for p in pieces), len({p.grad_fn for p in pieces}),
            [i for _, i in (pieces[-1] * 1).grad_fn.next_functions]))
    y = x * 2
    a, b = y.split(8, 1)
    out.append((a.grad_fn == y.grad_fn, a.grad_fn == (y * 1).grad_fn,
                m.split(y, 8, 1)[0].grad_fn == a.grad_fn))
    return out


def test_split_pieces_share_one_node():
    assert _split_nodes(dg) == _split_nodes(torch)


def test_rank_not_in_group():
    # (PyTorch's private helper, which pytorch-ignite's collectives call first: an
    # AttributeError before; None is the default group)
    for m in (torch, dg):
        dist = m.distributed
        assert dist._rank_not_in_group(None) is False
        assert dist._rank_not_in_group(dist.GroupMember.NON_GROUP_MEMBER) is True
