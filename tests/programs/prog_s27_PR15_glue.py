"""Framework glue (PR15, session 27), written afresh: torch.testing.assert_close with its
messages on mismatch, deterministic-algorithm switches, torch.compile / torch.jit.script /
torch.jit.trace used as no-ops around small functions, contextlib-based grad-mode helpers
(decorators and context managers that nest and restore), torch.utils.hooks.RemovableHandle,
torch.utils.data internals (get_worker_info, default_collate / default_convert of nested
dicts, namedtuples, NumPy arrays and scalars, strings), and warnings filters around torch's
UserWarnings. Tiny sizes; run by prog_s27_PR15_all.py.
"""

import collections
import contextlib
import functools
import warnings

import numpy as np
import torch
import torch.utils.hooks
from prog_s25_PR9_harness import printed, put
from torch.utils.data import default_collate, get_worker_info
from torch.utils.data._utils.collate import default_convert


def _first_lines(error, n=3):
    return "\n".join(line.rstrip() for line in str(error).splitlines()[:n])


def section_assert_close() -> None:
    with printed("acl.log"):
        a = torch.tensor([1.0, 2.0, 3.0])
        torch.testing.assert_close(a, a + 1e-7)
        print("close ok")
        for name, actual, expected, kwargs in (
                ("values", a, torch.tensor([1.0, 2.5, 3.0]), {}),
                ("dtype", a, a.double(), {}),
                ("shape", a, a[:2], {}),
                ("int", torch.tensor([1, 2]), torch.tensor([1, 3]), {}),
                ("tol", a, a + 0.01, {"rtol": 0.0, "atol": 1e-3}),
                ("nan", torch.tensor([float("nan")]), torch.tensor([float("nan")]), {}),
                ("msg", a, a * 2, {"msg": "custom message"}),
                ("scalar", 1.0, 1.5, {}),
                ("bool", torch.tensor([True]), torch.tensor([False]), {})):
            try:
                torch.testing.assert_close(actual, expected, **kwargs)
                print(name, "passed")
            except AssertionError as e:
                print(name, "AssertionError")
                print(_first_lines(e, 6))
        torch.testing.assert_close(torch.tensor([float("nan")]), torch.tensor([float("nan")]),
                                   equal_nan=True)
        torch.testing.assert_close(a, a.double(), check_dtype=False)
        torch.testing.assert_close({"x": a, "y": [a, 2]}, {"x": a.clone(), "y": [a, 2]})
        print("containers ok")
        try:
            torch.testing.assert_close({"x": a}, {"x": a + 1})
        except AssertionError as e:
            print("container message:", _first_lines(e, 2))
        m = torch.testing.make_tensor((2, 3), dtype=torch.float32, device="cpu", low=-1, high=1)
        print("make_tensor", tuple(m.shape), m.dtype, bool((m >= -1).all() and (m <= 1).all()))


def section_deterministic() -> None:
    with printed("det.log"):
        print("default", torch.are_deterministic_algorithms_enabled(),
              torch.is_deterministic_algorithms_warn_only_enabled(),
              torch.get_deterministic_debug_mode())
        torch.use_deterministic_algorithms(True)
        try:
            print("on", torch.are_deterministic_algorithms_enabled(),
                  torch.get_deterministic_debug_mode())
            x = torch.zeros(5)
            x.index_add_(0, torch.tensor([0, 0, 1]), torch.ones(3))
            print("cpu index_add fine", x.tolist())
        finally:
            torch.use_deterministic_algorithms(False)
        torch.use_deterministic_algorithms(True, warn_only=True)
        print("warn only", torch.is_deterministic_algorithms_warn_only_enabled(),
              torch.get_deterministic_debug_mode())
        torch.use_deterministic_algorithms(False)
        torch.set_deterministic_debug_mode("warn")
        print("debug mode", torch.get_deterministic_debug_mode(),
              torch.are_deterministic_algorithms_enabled())
        torch.set_deterministic_debug_mode(0)
        print("back", torch.get_deterministic_debug_mode())
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        print("cudnn flags", torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
        torch.backends.cudnn.deterministic = False
        g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
        print("generators agree", torch.equal(torch.randn(3, generator=g1),
                                              torch.randn(3, generator=g2)))
        state = torch.get_rng_state()
        a = torch.rand(2)
        torch.set_rng_state(state)
        print("rng state replay", torch.equal(a, torch.rand(2)), state.dtype)


def _scale(x, k: float = 2.0):
    return torch.tanh(x) * k


def section_compile_noops() -> None:
    # (compiled calls are not made: PyTorch's first one imports and runs its compiler for
    # seconds; prog_s18_PR_infra.py and prog_s24_PR7_plumbing.py run them. Its first compile
    # imports internals that warn that script_method is deprecated: an import-time notice, not
    # the program's doing; the jit calls' own DeprecationWarnings are compared)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.compile(_scale)
    with printed("cmp.log"):
        x = torch.linspace(-1, 1, 5)
        compiled = torch.compile(_scale)
        print("compile", callable(compiled))

        @torch.compile(mode="reduce-overhead", fullgraph=False)
        def f(v):
            return v.relu().sum()
        print("compile decorator", callable(f))
        model = torch.nn.Linear(5, 2)
        cm = torch.compile(model)
        print("compiled module", isinstance(cm, torch.nn.Module), cm._orig_mod is model)
        print("state keys", list(cm.state_dict())[:2])
        scripted = torch.jit.script(_scale)
        print("script", torch.allclose(scripted(x), _scale(x)))
        traced = torch.jit.trace(_scale, (x,))
        print("trace", torch.allclose(traced(x * 0.5), _scale(x * 0.5)))

        @torch.jit.ignore
        def helper(v):
            return v + 1
        print("jit ignore", helper(torch.ones(1)).item())

        @torch.jit.unused
        def unused(v):
            return v
        print("jit unused callable", callable(unused))
        print("is_scripting", torch.jit.is_scripting(), torch.jit.is_tracing())
        print("compiler", torch.compiler.is_compiling(), torch._dynamo.is_compiling()
              if hasattr(torch, "_dynamo") else False)
        torch.compiler.reset()
        print("reset ok")
        fn = torch.compiler.disable(lambda v: v * 3)
        print("disable", fn(torch.ones(1)).item())
        put("cmp.out", traced(x))


@contextlib.contextmanager
def frozen(module):
    """Temporarily freezes a module's parameters (restoring each flag after)."""
    flags = [p.requires_grad for p in module.parameters()]
    for p in module.parameters():
        p.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)


def no_grad_method(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with torch.no_grad():
            return fn(*args, **kwargs)
    return wrapper


class Evaluator:
    @no_grad_method
    def score(self, model, x):
        return model(x), torch.is_grad_enabled()

    @torch.no_grad()
    def score2(self, model, x):
        return model(x).requires_grad

    @torch.inference_mode()
    def score3(self, model, x):
        out = model(x)
        return out.requires_grad, out.is_inference()


def section_grad_mode() -> None:
    with printed("gmd.log"):
        torch.manual_seed(5)
        model = torch.nn.Linear(2, 1)
        x = torch.randn(3, 2)
        with frozen(model):
            print("frozen", [p.requires_grad for p in model.parameters()],
                  model(x).requires_grad)
        print("restored", [p.requires_grad for p in model.parameters()])
        ev = Evaluator()
        out, enabled = ev.score(model, x)
        print("decorated", out.requires_grad, enabled, torch.is_grad_enabled())
        print("no_grad()", ev.score2(model, x), "inference", ev.score3(model, x))
        print("wraps name", Evaluator.score.__name__, Evaluator.score2.__name__)
        with torch.no_grad():
            with torch.enable_grad():
                print("nested enable", torch.is_grad_enabled(), model(x).requires_grad)
            print("back in no_grad", torch.is_grad_enabled())
        with torch.set_grad_enabled(False):
            print("set_grad_enabled", torch.is_grad_enabled())
        torch.set_grad_enabled(False)
        print("function form", torch.is_grad_enabled())
        torch.set_grad_enabled(True)
        stack = contextlib.ExitStack()
        stack.enter_context(torch.no_grad())
        print("exitstack", torch.is_grad_enabled())
        stack.close()
        print("closed", torch.is_grad_enabled())
        cm = torch.no_grad()
        print("reusable", type(cm).__name__, isinstance(cm, contextlib.ContextDecorator))
        with cm:
            pass
        with cm:
            print("second use", torch.is_grad_enabled())
        try:
            with torch.no_grad():
                raise ValueError("inside")
        except ValueError:
            print("restored after error", torch.is_grad_enabled())

        @torch.no_grad()
        def gen():
            yield torch.is_grad_enabled()
            yield torch.is_grad_enabled()
        print("generator", list(gen()), torch.is_grad_enabled())
        print("grad mode classes", torch.autograd.grad_mode.no_grad is torch.no_grad,
              torch.autograd.grad_mode.set_grad_enabled is torch.set_grad_enabled)


def section_removable_handle() -> None:
    with printed("rmh.log"):
        hooks = collections.OrderedDict()
        h1 = torch.utils.hooks.RemovableHandle(hooks)
        hooks[h1.id] = "first"
        h2 = torch.utils.hooks.RemovableHandle(hooks)
        hooks[h2.id] = "second"
        print("ids increase", h2.id > h1.id, list(hooks.values()))
        h1.remove()
        print("removed", list(hooks.values()))
        h1.remove()
        print("remove twice fine")
        with h2:
            print("in with", list(hooks.values()))
        print("after with", list(hooks.values()))
        model = torch.nn.Linear(2, 2)
        seen = []
        handle = model.register_forward_hook(lambda m, i, o: seen.append("fwd"))
        print("handle type", type(handle).__name__,
              isinstance(handle, torch.utils.hooks.RemovableHandle))
        model(torch.ones(1, 2))
        handle.remove()
        model(torch.ones(1, 2))
        print("hook calls", seen)
        t = torch.ones(2, requires_grad=True)
        th = t.register_hook(lambda g: g * 10)
        (t * 1).sum().backward()
        print("tensor hook", t.grad.tolist(), type(th).__name__)
        th.remove()
        t.grad = None
        (t * 1).sum().backward()
        print("after remove", t.grad.tolist())
        with model.register_forward_pre_hook(lambda m, i: seen.append("pre")):
            model(torch.ones(1, 2))
        model(torch.ones(1, 2))
        print("with-handle", seen)


Point = collections.namedtuple("Point", ["x", "y"])


def section_collate() -> None:
    with printed("col.log"):
        print("worker info", get_worker_info())
        batch = [{"img": np.full((2,), i, dtype=np.float32), "label": i, "name": f"s{i}",
                  "meta": {"w": float(i) / 2, "p": Point(i, -i)}} for i in range(3)]
        out = default_collate(batch)
        print("keys", list(out), type(out).__name__)
        print("img", out["img"].dtype, tuple(out["img"].shape), out["img"][:, 0].tolist())
        print("label", out["label"].dtype, out["label"].tolist())
        print("name", out["name"])
        print("meta w", out["meta"]["w"].dtype, out["meta"]["w"].tolist())
        print("point", type(out["meta"]["p"]).__name__, out["meta"]["p"].x.tolist(),
              out["meta"]["p"].y.tolist())
        tensors = default_collate([torch.ones(2), torch.zeros(2)])
        print("tensors", tensors.tolist())
        np_scalars = default_collate([np.float64(1.5), np.float64(2.5)])
        print("np scalars", np_scalars.dtype, np_scalars.tolist())
        np_ints = default_collate([np.int32(1), np.int32(2)])
        print("np ints", np_ints.dtype)
        print("bools", default_collate([True, False]).dtype)
        print("tuples", default_collate([(1, 2.0), (3, 4.0)]))
        print("lists", default_collate([[1, 2], [3, 4]]))
        try:
            default_collate([[1, 2], [3]])
        except RuntimeError as e:
            print("ragged RuntimeError", _first_lines(e, 1))
        try:
            default_collate([object(), object()])
        except TypeError as e:
            print("object TypeError", _first_lines(e, 1)[:60])
        conv = default_convert({"a": np.arange(3), "b": [np.float32(1.0)], "c": "text"})
        print("convert", type(conv["a"]).__name__, conv["a"].dtype, type(conv["b"][0]).__name__,
              conv["c"])
        arr_str = default_convert(np.array(["a", "b"]))
        print("convert str array", type(arr_str).__name__)
        loader = torch.utils.data.DataLoader(batch, batch_size=2)
        first = next(iter(loader))
        print("loader", list(first), first["img"].shape)
        put("col.img", out["img"])


def section_warning_filters() -> None:
    with printed("wfl.log"):
        x = torch.ones(2, 3)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.nn.functional.softmax(x)  # implicit dim
            torch.tensor(torch.ones(1))  # copy construct
        print("caught", [w.category.__name__ for w in caught],
              [str(w.message).split(".")[0][:40] for w in caught])
        with warnings.catch_warnings(record=True) as caught:
            warnings.filterwarnings("ignore", message=".*Implicit dimension.*")
            warnings.simplefilter("always", DeprecationWarning)
            torch.nn.functional.softmax(x)
        print("filtered by message", len(caught))
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            try:
                torch.nn.functional.log_softmax(x)
            except UserWarning as e:
                print("as error", str(e).split(".")[0])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.nn.functional.softmax(x, dim=1)
            torch.nn.functional.dropout(x, p=0.5, training=False)
        print("clean calls", len(caught))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.filterwarnings("ignore", category=UserWarning, module="torch")
            torch.nn.functional.softmax(x)
        print("module filter", len(caught))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            m = torch.nn.MSELoss()
            m(torch.ones(2, 1), torch.ones(2))
        print("broadcast warning", [str(w.message)[:40] for w in caught])
        print("warn_always", torch.is_warn_always_enabled())


SECTIONS = {"assert_close": section_assert_close, "deterministic": section_deterministic,
            "compile_noops": section_compile_noops, "grad_mode": section_grad_mode,
            "removable_handle": section_removable_handle, "collate": section_collate,
            "warning_filters": section_warning_filters}
