"""Regression tests for what session 28's optimizer / LR-scheduler fuzzer family
(``s28_SL19_optim.py``) found: each runs the same code on deltagrad and on PyTorch and compares
the outcome (values, group keys in order, state classes, exception classes)."""

import copy

import pytest
import s31_DD3_outcomes as outcomes

torch = pytest.importorskip("torch")


_same = outcomes.same


def _model(lib, seed=0):
    lib.manual_seed(seed)
    return lib.nn.Linear(3, 2).double()


def _groups(opt):
    return [{k: (len(v) if k == "params" else v) for k, v in g.items()} for g in opt.param_groups]


def _with_grads(lib, m):
    m.weight.grad = lib.full((2, 3), 0.5, dtype=lib.float64)
    m.bias.grad = lib.full((2,), -0.25, dtype=lib.float64)
    return m


# -- option values: checked on the constructor's defaults only --------------------------------

def test_a_groups_own_invalid_lr_is_taken():
    def run(lib):
        m = _model(lib)
        opt = lib.optim.Adagrad([{"params": [m.weight], "lr": -1.0}])
        opt.add_param_group({"params": [m.bias], "lr": -2.0, "weight_decay": -0.5})
        return _groups(opt)
    assert _same(run)[0] == "ok"


def test_the_constructors_invalid_lr_still_raises():
    assert _same(lambda lib: lib.optim.Adam(_model(lib).parameters(), lr=-1.0)) == ["ValueError"]


def test_a_loaded_invalid_lr_is_taken():
    def run(lib):
        m = _model(lib)
        sd = lib.optim.RAdam([{"params": [m.weight], "lr": -1.0}], lr=0.1).state_dict()
        opt = lib.optim.RAdam([m.weight], lr=0.1)
        opt.load_state_dict(sd)
        return _groups(opt)
    assert _same(run)[0] == "ok"


# -- params and groups ------------------------------------------------------------------------

def test_a_group_without_params_is_a_key_error():
    assert _same(lambda lib: lib.optim.Adadelta([{"lr": 0.5}])) == ["KeyError"]


def test_a_top_level_set_is_listed_and_a_groups_set_refused():
    assert _same(lambda lib: _groups(lib.optim.Rprop({_model(lib).weight}, lr=0.1)))[0] == "ok"
    assert _same(lambda lib: lib.optim.SGD([{"params": {_model(lib).weight}}], lr=0.1)) == \
        ["TypeError"]


# -- load_state_dict --------------------------------------------------------------------------

def test_group_count_is_checked_before_state_is_read():
    def run(lib):
        m = _model(lib)
        opt = lib.optim.RMSprop(m.parameters(), lr=0.5)
        opt.add_param_group({"params": [lib.nn.Parameter(lib.ones(2, dtype=lib.float64))]})
        sd = lib.optim.ASGD(m.parameters(), lr=0.01).state_dict()
        opt.load_state_dict({"param_groups": sd["param_groups"]})
    assert _same(run) == ["ValueError"]


@pytest.mark.parametrize(("into", "source"), [
    ("SGD", "Adadelta"), ("Adam", "Adamax"), ("RMSprop", "Rprop"), ("AdamW", "ASGD"),
    ("AdamW", "RAdam"), ("NAdam", "SGD"), ("Adagrad", "Adam"), ("RAdam", "AdamW"),
    ("NAdam", "RAdam"),  # (no momentum_decay afterwards: PyTorch's step then raises KeyError)
])
def test_another_classs_group_gets_pytorchs_setstate_flags(into, source):
    def run(lib):
        m = _model(lib)
        kw = {"momentum": 0.9} if into in ("SGD", "RMSprop") else {}
        opt = getattr(lib.optim, into)(m.parameters(), lr=0.1, **kw)
        opt.load_state_dict(copy.deepcopy(getattr(lib.optim, source)(m.parameters(),
                                                                     lr=0.5).state_dict()))
        return [list(g.items()) for g in _groups(opt)]
    assert _same(run)[0] == "ok"


def test_another_classs_0d_state_stays_a_tensor():
    def run(lib):
        m = _with_grads(lib, _model(lib))
        asgd = lib.optim.ASGD(m.parameters(), lr=0.01)
        asgd.step()
        sgd = lib.optim.SGD(m.parameters(), lr=0.1)
        sgd.load_state_dict(asgd.state_dict())
        return [[k, type(v).__name__, str(v.dtype).rsplit(".", 1)[-1]]
                for k, v in sgd.state[m.weight].items()]
    assert _same(run)[0] == "ok"


@pytest.mark.parametrize(("into", "source"), [("NAdam", "Rprop"), ("ASGD", "Adadelta"),
                                              ("Adam", "SGD"), ("AdamW", "SGD")])
def test_a_state_setstate_cannot_read_raises_key_error(into, source):
    def run(lib):
        m = _with_grads(lib, _model(lib))
        src = getattr(lib.optim, source)(m.parameters(), lr=0.1, **(
            {"momentum": 0.9} if source == "SGD" else {}))
        src.step()
        opt = getattr(lib.optim, into)(m.parameters(), lr=0.1)
        try:
            opt.load_state_dict(src.state_dict())
        except KeyError as exc:  # (what the load left: groups with the flags set so far)
            return [str(exc), [list(g.items()) for g in _groups(opt)]]
    assert _same(run)[0] == "ok"


def test_cyclic_lr_load_pops_the_scale_fn_entry_from_the_given_dict():
    def run(lib):
        opt = lib.optim.SGD(_model(lib).parameters(), lr=0.1, momentum=0.9)
        sched = lib.optim.lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=1.0)
        sd = sched.state_dict()
        sched.load_state_dict(sd)
        return sorted(sd)
    assert _same(run)[0] == "ok"
    assert _same(lambda lib: (lambda s: (s.load_state_dict(sd := s.state_dict()),
                                         s.load_state_dict(sd)))(
        lib.optim.lr_scheduler.CyclicLR(lib.optim.SGD(_model(lib).parameters(), lr=0.1,
                                                      momentum=0.9), 0.01, 1.0))) == ["KeyError"]
