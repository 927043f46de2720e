"""Differential sweep of torch.nn modules against deltagrad.nn (session 10, D1).

Every case row (s10_D1_table.py) builds the module in both libraries, copies PyTorch's weights
in by state_dict and compares outputs, gradients of inputs and parameters, buffers after the
step, state_dict/parameter/buffer names, repr and error types (s10_D1_harness.py).
"""

import pytest

torch = pytest.importorskip("torch")

import s10_D1_table as table  # noqa: E402
import s10_D1_table_b as table_b  # noqa: E402
import s10_D1_table_edges as edges  # noqa: E402
from s10_D1_harness import run_case  # noqa: E402


def _params(rows):
    # A row with ``xfail`` is a difference reported to the owner of the file that needs the fix
    # (strict: the row fails loudly once it is fixed, so that the mark comes off).
    return [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(reason=c.xfail, strict=True)]
                         if c.xfail else []) for c in rows]


@pytest.mark.parametrize("c", _params(table.ACTIVATIONS))
def test_activation_modules(c):
    run_case(c)


@pytest.mark.parametrize("c", _params(table.LOSSES))
def test_loss_modules(c):
    run_case(c)


@pytest.mark.parametrize("c", _params(table.CONV))
def test_conv_linear_embedding_modules(c):
    run_case(c)


@pytest.mark.parametrize("c", _params(table.POOLING))
def test_pooling_sampling_modules(c):
    run_case(c)


@pytest.mark.parametrize("c", _params(table.PADDING))
def test_padding_modules(c):
    run_case(c)


@pytest.mark.parametrize("c", _params(table.NORM))
def test_normalization_distance_modules(c):
    run_case(c)


@pytest.mark.parametrize("c", _params(table.RNN))
def test_recurrent_modules(c):
    run_case(c)


@pytest.mark.parametrize("c", _params(table.MISC))
def test_dropout_container_transformer_modules(c):
    run_case(c)


@pytest.mark.parametrize("c", _params(table.EXTRA))
def test_edge_configurations(c):
    run_case(c)


@pytest.mark.parametrize("c", _params(table.MORE))
def test_packed_masked_and_more(c):
    run_case(c)


@pytest.mark.parametrize("c", _params(table.SPECIAL_VALUES))
def test_special_values(c):
    run_case(c)


@pytest.mark.parametrize("c", _params(edges.EDGE_VALUES))
def test_degenerate_values_and_argument_errors(c):
    run_case(c)


@pytest.mark.parametrize("c", _params(table_b.ROWS))
def test_d1b_fixes(c):
    run_case(c)


@pytest.mark.parametrize("c", _params(table_b.NEW_MODULES))
def test_d1b_new_modules(c):
    run_case(c)


def _then(first, second):
    return lambda m, F, w: second(m, F, first(m, F, w))


_LEAKY_ = lambda m, F, t: F.leaky_relu(t, 0.3, inplace=True)  # noqa: E731
_RELU_ = lambda m, F, t: F.relu(t, inplace=True)  # noqa: E731
_MUL_ = lambda m, F, t: t.mul_(2)  # noqa: E731
# In-place activations and PyTorch's saved values: relu's node (both forms) and the in-place
# forms of leaky_relu / elu / selu / celu save their result, so changing it in place after
# makes backward fail; the other activations save their input.
IN_PLACE_CHAINS = {
    "relu_-leaky_relu_": _then(lambda m, F, w: _RELU_(m, F, w * 2), _LEAKY_),
    "leaky_relu_-relu_": _then(lambda m, F, w: _LEAKY_(m, F, w * 2), _RELU_),
    "relu-input-mul_": lambda m, F, w: (lambda x: (F.relu(x), x.mul_(2))[0])(w * 2),
    "relu-result-mul_": _then(lambda m, F, w: F.relu(w * 2), _MUL_),
    "leaky_relu-result-mul_": _then(lambda m, F, w: F.leaky_relu(w * 2, 0.3), _MUL_),
    "leaky_relu_-result-mul_": _then(lambda m, F, w: _LEAKY_(m, F, w * 2), _MUL_),
    "elu_-result-mul_": _then(lambda m, F, w: F.elu(w * 2, inplace=True), _MUL_),
    "selu_-result-mul_": _then(lambda m, F, w: F.selu(w * 2, inplace=True), _MUL_),
    "celu_-result-mul_": _then(lambda m, F, w: F.celu(w * 2, 0.5, inplace=True), _MUL_),
    "hardtanh_-result-mul_": _then(lambda m, F, w: F.hardtanh(w * 0.5, inplace=True), _MUL_),
    "threshold_-result-mul_": _then(lambda m, F, w: F.threshold(w * 2, 0.5, 0.0, True), _MUL_),
    "leaky_relu_-negative-slope": lambda m, F, w: F.leaky_relu(w * 2, -0.2, inplace=True),
    "elu_-negative-alpha": lambda m, F, w: F.elu(w * 2, -0.5, inplace=True),
    "celu_-negative-alpha": lambda m, F, w: F.celu(w * 2, -0.5, inplace=True),
    "rrelu_-eval-negative": lambda m, F, w: F.rrelu(w * 2, -0.5, -0.2, inplace=True),
    "leaky_relu_-zero-slope": lambda m, F, w: F.leaky_relu(w * 2, 0.0, inplace=True),
}


def _chain_run(lib, program):
    w = lib.tensor([1.0, -2.0, 0.5], requires_grad=True)
    y = program(lib, lib.nn.functional, w)
    name = y.grad_fn.name()
    try:
        (y * y).sum().backward()
    except RuntimeError:
        return name, "RuntimeError"
    return name, w.grad.numpy().tolist()


@pytest.mark.parametrize("name", list(IN_PLACE_CHAINS))
def test_in_place_activations_saved_values_and_node_names(name):
    import deltagrad as dg

    assert _chain_run(dg, IN_PLACE_CHAINS[name]) == _chain_run(torch, IN_PLACE_CHAINS[name])


_NODE_NAMES = [("threshold", (0.5, 0.0)), ("celu", (0.5,)), ("rrelu", ()), ("elu", ()),
               ("selu", ()), ("leaky_relu", (0.2,))]


@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("name,args", _NODE_NAMES)
def test_activation_node_names(name, args, inplace):
    import deltagrad as dg

    def node(lib):
        x = lib.tensor([1.0, -2.0], requires_grad=True) * 1
        return getattr(lib.nn.functional, name)(x, *args, inplace=inplace).grad_fn.name()

    assert node(dg) == node(torch)
