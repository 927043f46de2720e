"""Session 28 (SL16): the nn.Module-API differences the module family
(``s28_SL16_modules.py``) found, fixed; each case runs the same code on deltagrad and on
PyTorch and compares what it returns (values, names, identities, dtypes) or the builtin class
of what it raises, and the warnings' classes."""

import builtins
import copy
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402

LIBS = [torch, dg]


def _plain(value):
    """What is compared of a case's result: tensors as (dtype name, shape, values)."""
    if isinstance(value, (torch.Tensor, dg.Tensor)):
        return ("tensor", str(value.dtype).rsplit(".", 1)[-1], tuple(value.shape),
                value.detach().double().numpy().round(6).tolist())
    if isinstance(value, (torch.dtype, dg.dtype)):
        return "dtype " + str(value).rsplit(".", 1)[-1]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _run(case, lib):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = ("ok", _plain(case(lib)))
        except Exception as exc:  # noqa: BLE001 - the builtin class is compared
            base = next(k for k in type(exc).__mro__ if getattr(builtins, k.__name__, None) is k)
            out = ("raises", base.__name__)
    return out, sorted({w.category.__name__ for w in caught})


def same(case):
    theirs, ours = _run(case, torch), _run(case, dg)
    assert ours == theirs
    return theirs


# -- load_state_dict --------------------------------------------------------------------------

def test_load_state_dict_result_class_is_named_as_pytorchs():
    def case(lib):
        m = lib.nn.Linear(2, 2)
        r = m.load_state_dict(m.state_dict())
        return type(r).__name__, repr(r), tuple(r)
    assert same(case)[0][1][0] == "_IncompatibleKeys"


@pytest.mark.parametrize("value", ["list", "array", "number"])
def test_load_state_dict_refuses_what_is_no_tensor(value):
    def case(lib):
        m = lib.nn.Linear(2, 2)
        sd = m.state_dict()
        sd["bias"] = {"list": [1.0, 2.0], "array": np.ones(2, np.float32), "number": 3.0}[value]
        with pytest.raises(RuntimeError, match="expected torch.Tensor or Tensor-like object"):
            m.load_state_dict(sd)
        return True
    same(case)


def test_load_state_dict_assign_goes_on_past_an_entry_that_raises():
    # PyTorch reports the entry (a long tensor cannot be a Parameter requiring grad) with the
    # others and has assigned the entries after it when it raises
    def case(lib):
        lib.manual_seed(0)
        m = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Linear(2, 2))
        sd = {k: v.detach() + 1 for k, v in m.state_dict().items()}
        sd["0.bias"] = sd["0.bias"].long()
        with pytest.raises(RuntimeError, match='While copying the parameter named "0.bias"'):
            m.load_state_dict(sd, assign=True)
        return [m[0].weight, m[0].bias, m[1].weight, m[1].bias]
    same(case)


# -- attributes, names, modes -----------------------------------------------------------------

@pytest.mark.parametrize("target", ["training", "weight", "act", "lin", "new", "lin.weight"])
@pytest.mark.parametrize("strict", [False, True])
def test_set_submodule_over_what_is_no_module(target, strict):
    def case(lib):
        m = lib.nn.Module()
        m.lin = lib.nn.Linear(2, 2)
        m.weight = lib.nn.Parameter(lib.ones(2))
        m.act = None
        m.set_submodule(target, lib.nn.Identity(), strict=strict)
        return [n for n, _ in m.named_modules()], [n for n, _ in m.named_parameters()]
    same(case)


@pytest.mark.parametrize("dst", ["DoubleTensor", "'torch.HalfTensor'", "float64", "int64"])
def test_module_type_takes_what_tensor_type_takes(dst):
    def case(lib):
        m = lib.nn.Linear(2, 2).requires_grad_(dst != "int64")
        target = eval(dst, {"torch": lib}) if dst.startswith("'") else getattr(lib, dst)
        r = m.type(target)
        return r is m, m.weight.dtype, m.bias.dtype
    same(case)


@pytest.mark.parametrize("mode", ["1", "0", "None", "'x'"])
def test_train_refuses_what_is_no_bool_in_pytorchs_words(mode):
    def case(lib):
        with pytest.raises(ValueError, match="^training mode is expected to be boolean$"):
            lib.nn.Linear(2, 2).train(eval(mode))
        return True
    same(case)


def test_dir_leaves_out_names_that_start_with_a_digit():
    def case(lib):
        s = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.ReLU())
        s.add_module("named", lib.nn.Tanh())
        return [k for k in dir(s) if k[:1].isdigit()], "named" in dir(s), hasattr(s, "0")
    same(case)


# -- containers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["ParameterList", "ParameterDict"])
def test_parameter_containers_cannot_be_called(kind):
    def case(lib):
        c = getattr(lib.nn, kind)()
        with pytest.raises(RuntimeError, match=f"{kind} should not be called"):
            c(lib.ones(1))
        return True
    same(case)


@pytest.mark.parametrize("index", ["1.0", "True", "-1", "1"])
@pytest.mark.parametrize("kind", ["Sequential", "ModuleList"])
def test_container_index_must_be_an_integer(kind, index):
    def case(lib):
        mods = [lib.nn.ReLU(), lib.nn.Tanh()]
        c = lib.nn.Sequential(*mods) if kind == "Sequential" else lib.nn.ModuleList(mods)
        return type(c[eval(index)]).__name__
    same(case)


@pytest.mark.parametrize("index", [0, 1, 2, -1, -3, 5])
def test_modulelist_insert_moves_names_as_pytorchs(index):
    # a negative index is PyTorch's KeyError (after the names above 0 moved); one past the end
    # adds the name str(index)
    def case(lib):
        m = lib.nn.ModuleList([lib.nn.ReLU(), lib.nn.Tanh()])
        try:
            m.insert(index, lib.nn.GELU())
            raised = None
        except KeyError:
            raised = "KeyError"
        return raised, list(m._modules), [type(v).__name__ for v in m._modules.values()]
    same(case)


def test_sequential_insert_moves_modules_by_their_names():
    def case(lib):
        s = lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Tanh())
        s.add_module("z", lib.nn.ELU())
        with pytest.raises(KeyError):
            s.insert(0, lib.nn.GELU())
        t = lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Tanh()).insert(-1, lib.nn.GELU())
        return list(s._modules), [type(v).__name__ for v in t]
    same(case)


def test_parameter_dict_holds_any_object_as_pytorchs():
    def case(lib):
        d = lib.nn.ParameterDict({"w": lib.nn.Parameter(lib.ones(2))})
        d["k"] = 3
        d["n"] = None
        d["t"] = lib.zeros(1)
        out = [list(d), [n for n, _ in d.named_parameters()], d["k"], d.get("n", 5),
               list(d.state_dict()), len(d), "k" in d, repr(d)]
        out.append([k for k, _ in d.items()])
        out.append(d.pop("k"))
        out.append(d.popitem()[0])
        with pytest.raises(AttributeError):
            d.pop("missing")
        with pytest.raises(TypeError):
            d[0]
        d.clear()
        with pytest.raises(KeyError):
            d.popitem()
        return out + [list(d), len(d)]
    same(case)


@pytest.mark.parametrize("update", ["3", "[('a',)]", "[3]", "[('a', 1, 2)]"])
def test_parameter_dict_update_checks_its_pairs(update):
    def case(lib):
        lib.nn.ParameterDict().update(eval(update))
    same(case)


def test_parameter_dict_lists_a_refused_key_as_pytorchs():
    def case(lib):
        d = lib.nn.ParameterDict()
        with pytest.raises(KeyError):
            d["update"] = lib.ones(1)  # (a method's name)
        return list(d.keys()), len(d)
    same(case)


# -- hooks, copies, conversions ------------------------------------------------------------------

def test_backward_pre_hook_alone_warns_when_no_input_requires_grad():
    def case(lib):
        m = lib.nn.Linear(2, 2)
        seen = []
        m.register_full_backward_pre_hook(lambda mod, g: seen.append(len(g)))
        m(lib.ones(1, 2)).sum().backward()
        return seen
    assert same(case)[1] == ["UserWarning"]


@pytest.mark.parametrize("how", ["copy", "deepcopy"])
def test_a_shallow_copy_keeps_the_gradients(how):
    def case(lib):
        m = lib.nn.Linear(2, 2)
        m(lib.ones(1, 2)).sum().backward()
        c = getattr(copy, how)(m)
        return [m.weight.grad is None, c.weight.grad is None, c.weight is m.weight]
    same(case)


@pytest.mark.parametrize("conversion", ["double", "float", "half", "to64"])
def test_a_conversion_replaces_buffers_as_pytorchs(conversion):
    # the module's buffer becomes the converted tensor: a state dict taken before keeps the
    # old one (and its dtype); a buffer requiring grad is converted with a graph
    def case(lib):
        m = lib.nn.BatchNorm1d(2)
        m.register_buffer("g", lib.ones(2, dtype=lib.float64, requires_grad=True))
        kept = m.state_dict(keep_vars=True)
        weight = m.weight
        if conversion == "to64":
            m.to(lib.float64)
        else:
            getattr(m, conversion)()
        return [kept["running_mean"].dtype, m.running_mean.dtype,
                kept["running_mean"] is m.running_mean, m.weight is weight,
                m.g.requires_grad, m.g.is_leaf, m.num_batches_tracked.dtype]
    same(case)


def test_vector_to_parameters_rebinds_in_turn_until_the_vector_runs_out():
    def case(lib):
        m = lib.nn.Linear(3, 2)
        vec = lib.arange(7.0)
        with pytest.raises(RuntimeError):
            lib.nn.utils.vector_to_parameters(vec, m.parameters())
        with lib.no_grad():
            vec.add_(1)  # (the weight shares the vector's memory now)
        return m.weight
    same(case)


# -- F.linear's bias ----------------------------------------------------------------------------

@pytest.mark.parametrize("shapes", [
    ((4, 3), (1, 3), (2,)), ((4, 3), (2, 3), (4, 2)), ((2, 4, 3), (2, 3), (4, 2)),
    ((2, 4, 3), (1, 3), (2,)), ((2, 4, 3), (1, 3), (2, 4, 1)), ((4, 3), (1, 3), (4, 1)),
    ((3,), (2, 3), (1, 2)), ((3,), (2, 3), (1, 1)), ((3,), (1, 3), (2,)),
    ((4, 3), (2, 3), (1, 2)), ((2, 2, 4, 3), (1, 3), (2,)), ((5, 3), (2, 3), (4, 2))], ids=str)
def test_linear_never_broadcasts_its_output_up(shapes):
    # PyTorch expands the bias to [rows, out_features] for a 2-D input (addmm) and adds it in
    # place for more dims: a bias that would broadcast the output up raises (deltagrad
    # broadcast it: a [4, 2] output from a weight of one row and a [2] bias)
    x, w, b = shapes

    def case(lib):
        gen = np.random.default_rng(0)
        xs = [lib.tensor(gen.standard_normal(s), dtype=lib.float64) for s in (x, w, b)]
        return lib.nn.functional.linear(*xs)
    same(case)


@pytest.mark.parametrize("flag", ["1", "'x'", "None", "True", "False"])
def test_module_requires_grad_takes_a_bool(flag):
    # (PyTorch's Tensor.requires_grad_ parser, reached at the first parameter: a module
    # without parameters takes anything)
    def case(lib):
        lib.nn.ReLU().requires_grad_(eval(flag))
        m = lib.nn.Linear(2, 2).requires_grad_(eval(flag))
        return m.weight.requires_grad
    same(case)


def test_the_hook_flag_tables_read_as_pytorchs():
    # (PyTorch's private id -> True tables of hooks registered with_kwargs / always_call)
    def case(lib):
        m = lib.nn.Linear(2, 2)
        handles = [m.register_forward_hook(lambda mod, a, o: None, always_call=True),
                   m.register_forward_hook(lambda mod, a, k, o: None, with_kwargs=True),
                   m.register_forward_pre_hook(lambda mod, a, k: None, with_kwargs=True),
                   m.register_forward_pre_hook(lambda mod, a: None)]
        ids = {h.id: i for i, h in enumerate(handles)}
        tables = [m._forward_hooks_always_called, m._forward_hooks_with_kwargs,
                  m._forward_pre_hooks_with_kwargs]
        out = [sorted(ids[k] for k in t) for t in tables]
        handles[0].remove()
        return out + [len(m._forward_hooks_always_called),
                      len(lib.nn.ReLU()._forward_hooks_with_kwargs)]
    same(case)


@pytest.mark.parametrize("update", ["3", "[('a',)]", "[3]", "[('a', 1, 2)]", "[('a', 3)]"])
def test_module_dict_update_checks_its_pairs(update):
    def case(lib):
        lib.nn.ModuleDict().update(eval(update))
    same(case)


def _message(case, lib):
    try:
        case(lib)
    except Exception as exc:  # noqa: BLE001
        return str(exc)
    return None


@pytest.mark.parametrize("kind", ["ModuleDict", "ParameterDict"])
@pytest.mark.parametrize("update", ["3", "[('a',)]", "[3]"])
def test_dict_update_errors_in_pytorchs_words(kind, update):
    def case(lib):
        getattr(lib.nn, kind)().update(eval(update))
    assert _message(case, dg) == _message(case, torch)


def test_container_item_assignment_follows_setattr():
    # (PyTorch's __setitem__ is setattr under the item's name: an object over a parameter or a
    # child module is its TypeError, None is kept; a float index is operator.index's TypeError)
    def case(lib):
        out = []
        pl = lib.nn.ParameterList([lib.ones(1)])
        for step in (lambda: pl.__setitem__(0, 4), lambda: pl.__setitem__(0, None),
                     lambda: pl.append(None), lambda: pl.append(3),
                     lambda: pl.__setitem__(2, lib.ones(2)), lambda: pl[1.0],
                     lambda: lib.nn.ModuleList([lib.nn.ReLU()]).__setitem__(0, 3),
                     lambda: lib.nn.Sequential(lib.nn.ReLU()).__setitem__(0, 3),
                     lambda: lib.nn.ModuleList().extend(lib.nn.ReLU())):
            try:
                step()
                out.append("ok")
            except TypeError:
                out.append("TypeError")
        return out + [list(pl._parameters), [n for n, _ in pl.named_parameters()], len(pl)]
    same(case)


@pytest.mark.parametrize("shape", [(4, 3), (4, 3, 2), (4, 2, 3, 3)], ids=str)
def test_batch_norm_counts_the_batch_before_refusing_its_channels(shape):
    def case(lib):
        bn = lib.nn.BatchNorm1d(2)
        with pytest.raises((RuntimeError, ValueError)):
            bn(lib.ones(*shape))
        return bn.num_batches_tracked
    same(case)


def test_module_hooks_run_on_bfloat16():
    # (the hooks' identity node read its inputs through .numpy(): bfloat16 has none)
    def case(lib):
        m = lib.nn.BatchNorm1d(4).bfloat16()
        seen = []
        m.register_full_backward_pre_hook(lambda mod, g: seen.append(g[0].dtype))
        m.register_full_backward_hook(lambda mod, gi, go: seen.append(gi[0].dtype))
        x = lib.ones(4, 4, dtype=lib.bfloat16, requires_grad=True)
        y = m(x)
        (y * lib.arange(16.0).reshape(4, 4).bfloat16()).sum().backward()
        return seen, y.dtype, x.grad.float()
    same(case)


def test_assign_of_a_parameter_held_as_a_buffer_moves_it_to_the_parameters():
    def case(lib):
        m = lib.nn.Linear(2, 2)
        m.register_buffer("extra", lib.nn.Parameter(lib.ones(2)))
        m.load_state_dict({k: v + 1 for k, v in m.state_dict().items()}, assign=True)
        return ([n for n, _ in m.named_parameters()], [n for n, _ in m.named_buffers()],
                list(m.state_dict()))
    same(case)
