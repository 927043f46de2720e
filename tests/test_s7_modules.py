"""PyTorch's utility submodules under deltagrad: cuda.amp, compiler, types, overrides,
utils.hooks, utils._pytree, utils.benchmark, hub and utils.model_zoo; each program runs in both
libraries and must give the same results (values, structures, exception types)."""

import collections
import re
import subprocess
import sys
import warnings
from urllib.error import URLError

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

import torch.utils._pytree as tpytree  # noqa: E402
import torch.utils.benchmark as tbench  # noqa: E402 - not loaded by `import torch`

import deltagrad.utils._pytree as dpytree  # noqa: E402

BOTH = pytest.mark.parametrize("m", [dg, torch], ids=["deltagrad", "torch"])


# ---------------------------------------------------------------------------------- import paths

PATHS = ["cuda.amp", "compiler", "hub", "types", "overrides", "utils.hooks", "utils._pytree",
         "utils.benchmark", "utils.model_zoo", "nn.utils.prune", "nn.utils.fusion",
         "nn.utils.spectral_norm", "nn.utils.weight_norm"]


# What `import torch` (2.13) offers as attributes, checked in a fresh interpreter: the
# submodules it loads itself. `utils.model_zoo`, `utils.benchmark` and `nn.utils.prune` need
# their own import there (deltagrad loads nn.utils.prune with nn.utils: harmless).
TORCH_ATTRIBUTES = ["compiler", "hub", "types", "overrides", "utils.hooks", "utils._pytree",
                    "nn.utils.fusion", "cuda.amp"]


def test_submodule_paths_import_as_in_pytorch():
    # In a fresh interpreter: `import deltagrad.<path>`, the attribute paths PyTorch has right
    # after `import torch`, and `import deltagrad` staying light (no urllib.request, timeit).
    code = (
        "import importlib, sys, deltagrad\n"
        "light = [m for m in ('urllib.request', 'timeit', 'torch') if m in sys.modules]\n"
        "import deltagrad as torch\n"
        f"for p in {TORCH_ATTRIBUTES!r}:\n"
        "    obj = torch\n"
        "    for part in p.split('.'): obj = getattr(obj, part)\n"
        f"for p in {PATHS!r}: importlib.import_module('deltagrad.' + p)\n"
        "from deltagrad.cuda.amp import GradScaler, autocast\n"
        "from deltagrad.nn.utils.spectral_norm import SpectralNorm\n"
        "from deltagrad.nn.utils.weight_norm import WeightNorm\n"
        "assert callable(torch.nn.utils.spectral_norm) and callable(torch.nn.utils.weight_norm)\n"
        "print(light)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------------------------ cuda.amp

@BOTH
def test_cuda_amp_builds_disabled_with_pytorch_warnings(m):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scaler = m.cuda.amp.GradScaler()
        with m.cuda.amp.autocast():
            y = m.ones(2) * 2
    assert [w.category for w in caught] == [FutureWarning, UserWarning, FutureWarning,
                                            UserWarning]
    assert not scaler.is_enabled() and y.dtype == m.float32
    loss = m.ones(1)
    assert scaler.scale(loss) is loss and scaler.get_scale() == 1.0


# ------------------------------------------------------------------------------------ compiler

def test_compiler_queries_and_identity_decorators():
    # (PyTorch's decorators load its compiler, seconds of import: the queries are compared.)
    for c in (dg.compiler, torch.compiler):
        assert (c.is_compiling(), c.is_dynamo_compiling(), c.is_exporting()) == (False,) * 3
    c = dg.compiler

    def f(x):
        return x + 1

    for decorated in (c.disable(f), c.disable()(f), c.disable(f, recursive=False),
                      c.allow_in_graph(f), c.assume_constant_result(f)):
        assert decorated(1) == 2
    assert c.reset() is None and c.cudagraph_mark_step_begin() is None
    with c.set_stance("force_eager"):
        assert f(1) == 2

    @c.set_stance("default")
    def g(x):
        return x * 3

    assert g(2) == 6
    assert c.substitute_in_graph(f)(lambda x: x + 100)(1) == 2
    assert c.save_cache_artifacts() is None


@BOTH
def test_compiler_wrap_numpy_converts_tensors_and_arrays(m):
    @m.compiler.wrap_numpy
    def fn(a, pair, scale=1):
        return {"sum": np.sum(a * a) * scale, "arr": a * 2, "pair": [pair[0] + 1, pair[1]]}

    out = fn(m.arange(4.0), (m.ones(2), "s"), scale=2)
    assert isinstance(out["sum"], np.floating) and out["sum"] == 28.0  # a scalar stays NumPy
    assert isinstance(out["arr"], m.Tensor) and out["arr"].tolist() == [0.0, 2.0, 4.0, 6.0]
    assert isinstance(out["pair"][0], m.Tensor) and out["pair"][1] == "s"
    with pytest.raises(RuntimeError):  # .numpy() of a tensor that requires grad
        fn(m.ones(2, requires_grad=True), (m.ones(1), 1))


def test_compiler_list_backends_is_empty_deltagrad_has_no_backends():
    # Deliberate difference: PyTorch lists its compiler backends; deltagrad compiles nothing.
    assert dg.compiler.list_backends() == []
    model = dg.nn.Linear(2, 2)
    assert dg.compiler.compile(model)._orig_mod is model  # (PyTorch's wrapper, run eagerly)


# --------------------------------------------------------------------------------------- types

def test_types_aliases():
    from deltagrad import types

    assert set(types.Number.__args__) == {int, float, bool}
    assert dg.device in types.Device.__args__ and str in types.Device.__args__
    assert types._size.__args__[0] is dg.Size and types._dtype is dg.dtype
    assert types.Tensor is dg.Tensor and types._int is int
    assert not isinstance(3, types.py_sym_types) and not isinstance(3, torch.types.py_sym_types)


# ----------------------------------------------------------------------------------- overrides

class _Like:
    """A tensor-like with a __torch_function__ that reports how it was called."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return (cls.__name__, func.__name__, [t.__name__ for t in types], len(args),
                sorted(kwargs or {}))


class _SubLike(_Like):
    pass


class _Declines:
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return NotImplemented


def _public_api(a, b=None, *, scale=1):
    return "not overridden"


@BOTH
def test_overrides_protocol_matches_pytorch(m):
    o = m.overrides
    like, sub = _Like(), _SubLike()
    x = m.ones(2)
    assert not o.has_torch_function((x, 1, "s")) and o.has_torch_function([x, like])
    assert not o.has_torch_function_unary(x) and o.has_torch_function_unary(like)
    assert o.has_torch_function_variadic(x, sub) and not o.has_torch_function_variadic(x, 2)
    got = o.handle_torch_function(_public_api, (like, sub), like, sub, scale=3)
    assert got == ("_SubLike", "_public_api", ["_SubLike", "_Like"], 2, ["scale"])
    assert [o.is_tensor_like(v) for v in (x, m.nn.Parameter(x), like, 1, None)] == [
        True, True, True, False, False]
    with pytest.raises(TypeError, match="no implementation found"):
        o.handle_torch_function(_public_api, (_Declines(),), 1)


def test_overrides_tables_and_modes_raise_clearly():
    # Session 11: the dispatch tables exist (the protocol is implemented); dummy overrides do
    # not. Session 12: function modes do; the base class's handler raises, as PyTorch's.
    assert dg.exp in dg.overrides.get_overridable_functions()[dg]
    assert dg.zeros in dg.overrides.get_ignored_functions()
    with pytest.raises(NotImplementedError, match="no table of dummy overrides"):
        dg.overrides.get_testing_overrides()

    class Mode(dg.overrides.TorchFunctionMode):
        pass

    with Mode(), pytest.raises(NotImplementedError):
        dg.exp(dg.ones(1))


# -------------------------------------------------------------------------------- utils.hooks

def test_utils_hooks_removable_handle_is_the_handle_of_register_hooks():
    from deltagrad.utils.hooks import RemovableHandle, unserializable_hook

    layer = dg.nn.Linear(2, 2)
    calls = []
    handle = layer.register_forward_hook(lambda *a: calls.append(1))
    assert isinstance(handle, RemovableHandle)
    layer(dg.ones(1, 2))
    handle.remove()
    layer(dg.ones(1, 2))
    assert calls == [1]
    hooks = collections.OrderedDict()
    own = RemovableHandle(hooks)  # a library's own registry, as with PyTorch's handle
    hooks[own.id] = "hook"
    with own:
        assert list(hooks.values()) == ["hook"]
    assert not hooks

    @unserializable_hook
    def hook(grad):
        return grad

    assert hook.__torch_unserializable__ is True


# ------------------------------------------------------------------------------------- pytree

Point = collections.namedtuple("Point", "x y")


class _Pair:
    def __init__(self, a, b):
        self.a, self.b = a, b


for _lib in (tpytree, dpytree):
    _lib.register_pytree_node(_Pair, lambda p: ([p.a, p.b], "ctx"),
                              lambda values, context: _Pair(*values))


def _sample_tree():
    return {"b": [1, (2, None)], "a": Point(3, collections.OrderedDict(z=4.5, y="s")),
            "c": None, "d": collections.defaultdict(list, {"k": 6}),
            "e": collections.deque([7, 8], maxlen=3), "f": [], "g": ((), {}), 9: True}


def test_pytree_flatten_spec_repr_and_round_trip_match_pytorch():
    tree = _sample_tree()
    (dl, ds), (tl, ts) = dpytree.tree_flatten(tree), tpytree.tree_flatten(tree)
    assert dl == tl
    assert repr(ds) == repr(ts)
    assert (ds.num_leaves, ds.num_nodes, ds.num_children) == (ts.num_leaves, ts.num_nodes,
                                                              ts.num_children)
    rebuilt = dpytree.tree_unflatten(list(range(len(dl))), ds)
    assert rebuilt == tpytree.tree_unflatten(list(range(len(tl))), ts)
    assert type(rebuilt["d"]) is collections.defaultdict and rebuilt["e"].maxlen == 3
    assert dpytree.tree_unflatten(dl, ds) == tree
    for leaf in (None, 1, "s", dg.ones(2)):
        assert dpytree.tree_flatten(leaf)[0] == [leaf] and repr(
            dpytree.tree_structure(leaf)) == "*"
    assert dpytree.tree_structure([1, [2]]) == dpytree.tree_structure([3, [4]])
    assert dpytree.tree_structure([1, [2]]) != dpytree.tree_structure([1, 2])
    assert dpytree.LeafSpec() == dpytree.tree_structure(1)
    assert hash(dpytree.tree_structure({"a": [1]})) == hash(dpytree.tree_structure({"a": [2]}))


def test_pytree_result_tuples_and_registered_classes():
    d, t = dg.max(dg.ones(2, 3), 0), torch.max(torch.ones(2, 3), 0)
    assert repr(dpytree.tree_structure(d)) == repr(tpytree.tree_structure(t))
    doubled = dpytree.tree_map(lambda v: v * 2, d)
    assert type(doubled) is type(d) and doubled.values.tolist() == [2.0, 2.0, 2.0]
    pair = [_Pair(1, [2, 3])]
    for lib in (dpytree, tpytree):
        out = lib.tree_map(lambda v: v + 1, pair)
        assert (out[0].a, out[0].b) == (2, [3, 4])
        assert lib.tree_leaves(pair) == [1, 2, 3]
        with pytest.raises(ValueError, match="already registered"):
            lib.register_pytree_node(_Pair, lambda p: ([], None), lambda v, c: None)


@pytest.mark.parametrize("lib", [dpytree, tpytree], ids=["deltagrad", "torch"])
def test_pytree_map_variants_and_errors(lib):
    assert lib.tree_map(lambda a, b: a + b, [1, [2]], [10, [20]]) == [11, [22]]
    # A rest may hold a subtree where the first tree has a leaf; dicts match by key.
    assert lib.tree_map(lambda a, b: (a, b), [1, [2]], [[9], [3]]) == [(1, [9]), [(2, 3)]]
    assert lib.tree_map(lambda a, b: a - b, {"a": 1, "b": 2}, {"b": 3, "a": 4}) == {
        "a": -3, "b": -1}
    for rest, message in (([1, 2, 3], "arity"), ((1, 2), "type"), ({"c": 1}, "type")):
        with pytest.raises(ValueError, match=message):
            lib.tree_map(lambda a, b: a, [1, 2], rest)
    with pytest.raises(ValueError, match="keys mismatch"):
        lib.tree_map(lambda a, b: a, {"a": 1, "b": 2}, {"c": 3, "a": 4})
    with pytest.raises(ValueError):
        lib.tree_unflatten([1, 2], lib.tree_structure([1]))
    with pytest.raises(TypeError):
        lib.tree_unflatten([1], [1])
    tree = [1, 2.0, "s", (3, None)]
    assert lib.tree_map_only(int, lambda v: v * 10, tree) == [10, 2.0, "s", (30, None)]
    assert lib.tree_map_only((int, float), str, tree) == ["1", "2.0", "s", ("3", None)]
    assert lib.tree_map_only(lambda v: v == 2.0, str, tree) == [1, "2.0", "s", (3, None)]
    assert lib.tree_all(lambda v: v is None or v, tree) and lib.tree_all(bool, [])
    assert lib.tree_any(lambda v: v == "s", tree) and not lib.tree_any(bool, [[], {}])
    assert lib.tree_all_only(int, lambda v: v > 0, tree)
    assert not lib.tree_any_only(str, lambda v: v == "x", tree)
    assert lib.tree_leaves([1, [2]], is_leaf=lambda v: v == [2]) == [1, [2]]
    seen = []
    assert lib.tree_map_(seen.append, tree) is tree and seen == [1, 2.0, "s", 3, None]
    assert list(lib.tree_iter({"a": [1, 2]})) == [1, 2]
    assert lib.is_namedtuple(Point(1, 2)) and not lib.is_namedtuple((1, 2))


def test_pytree_key_paths_match_pytorch():
    tree = {"a": [1, Point(2, {"k": 3})]}
    dpairs, tpairs = (lib.tree_flatten_with_path(tree)[0] for lib in (dpytree, tpytree))
    assert [(dpytree.keystr(p), v) for p, v in dpairs] == [(tpytree.keystr(p), v)
                                                            for p, v in tpairs]
    assert [dpytree.key_get(tree, p) for p, _ in dpairs] == [1, 2, 3]
    assert dpytree.tree_map_with_path(lambda p, v: dpytree.keystr(p), tree) == \
        tpytree.tree_map_with_path(lambda p, v: tpytree.keystr(p), tree)


def test_pytree_maps_tensors():
    params = {"w": dg.ones(2, requires_grad=True), "cfg": [dg.zeros(1), 3]}
    out = dpytree.tree_map_only(dg.Tensor, lambda t: t.detach() + 1, params)
    assert out["w"].tolist() == [2.0, 2.0] and out["cfg"][1] == 3
    assert dpytree.tree_all_only(dg.Tensor, lambda t: t.dtype == dg.float32, params)


# ---------------------------------------------------------------------------------- benchmark

def _shape_of_repr(text: str) -> list:
    # Numbers and the object's address vary; the lines and words must be PyTorch's.
    lines = text.splitlines()[1:]
    return [re.sub(r"[0-9.]+ (ns|us|ms|s)\b", "T", re.sub(r"\d+\.\d+%", "P", line))
            for line in lines]


def test_benchmark_timer_measures_a_statement_like_pytorch():
    from deltagrad.utils import benchmark

    reprs = {}
    for name, lib in (("deltagrad", benchmark), ("torch", tbench)):
        timer = lib.Timer("y = x * 2", setup="x = 3", label="mul", sub_label="int",
                          description="x * 2")
        m = timer.timeit(number=200)
        assert m.number_per_run == 200 and len(m.raw_times) == 1 and m.raw_times[0] > 0
        assert m.times == [m.raw_times[0] / 200] and m.mean == m.median == m.times[0]
        assert m.iqr == 0.0 and m.title == "mul: int" and m.env is None
        reprs[name] = _shape_of_repr(repr(m))
        with pytest.raises(NotImplementedError, match="blocked_autorange"):
            timer.autorange()
        with pytest.raises(NotImplementedError, match="blocked_autorange"):
            timer.repeat()
    assert reprs["deltagrad"] == reprs["torch"]


def test_benchmark_blocked_autorange_and_statistics():
    from deltagrad.utils.benchmark import Measurement, TaskSpec, Timer

    calls = []
    m = Timer("torch.ones(3) + x", globals={"x": 1.0}).blocked_autorange(
        callback=lambda number, seconds: calls.append(number), min_run_time=0.01)
    assert sum(m.raw_times) >= 0.01 and len(calls) == len(m.raw_times)
    assert all(number == m.number_per_run for number in calls)
    assert "measurement" in repr(m) and m.stmt == "torch.ones(3) + x"
    # Statistics of given times, against PyTorch's Measurement.
    raw = [4.0, 1.0, 3.0, 2.0, 10.0]
    mine = Measurement(2, raw, TaskSpec("pass", "pass"))
    theirs = tbench.Measurement(
        2, raw, tbench.utils.common.TaskSpec("pass", "pass"))
    for attribute in ("times", "median", "mean", "iqr", "significant_figures", "has_warnings"):
        assert getattr(mine, attribute) == pytest.approx(getattr(theirs, attribute))
    assert _shape_of_repr(repr(mine)) == _shape_of_repr(repr(theirs))
    assert mine.meets_confidence(2.0) and not mine.meets_confidence(0.1)
    merged = Measurement.merge([mine, mine])
    assert len(merged) == 1 and merged[0].times == mine.times * 2
    fast = Timer("pass").adaptive_autorange(threshold=10.0, max_run_time=0.5)
    assert len(fast.raw_times) >= 4


def test_benchmark_rejects_cpp_callables_and_compare():
    from deltagrad.utils.benchmark import Compare, Timer

    for lib in (Timer, tbench.Timer):
        with pytest.raises(ValueError, match="only a `str` stmt"):
            lib(lambda: None)
    with pytest.raises(NotImplementedError, match="Compare"):
        Compare([])

    with pytest.raises(NotImplementedError, match="Python statements only"):
        Timer("x", language="c++")
    with pytest.raises(ValueError, match="global_setup is C\\+\\+ only"):
        Timer("x", global_setup="int x;")


# ---------------------------------------------------------------------------------------- hub

@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    """A private hub cache for both libraries (restored afterwards)."""
    monkeypatch.setattr(dg.hub, "_hub_dir", None)
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    dg.hub.set_dir(tmp_path / "hub")
    torch.hub.set_dir(tmp_path / "hub")
    return tmp_path / "hub"


def test_hub_get_dir_follows_pytorch(monkeypatch, tmp_path):
    monkeypatch.setattr(dg.hub, "_hub_dir", None)
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    monkeypatch.delenv("TORCH_HOME", raising=False)
    assert dg.hub.get_dir() == torch.hub.get_dir()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert dg.hub.get_dir() == torch.hub.get_dir() == str(tmp_path / "th" / "hub")
    dg.hub.set_dir("~/somewhere")
    torch.hub.set_dir("~/somewhere")
    assert dg.hub.get_dir() == torch.hub.get_dir()


def test_load_state_dict_from_url_reads_the_cache_offline(hub_dir, capsys):
    state = dg.nn.Linear(3, 2).state_dict()
    (hub_dir / "checkpoints").mkdir(parents=True)
    dg.save(state, hub_dir / "checkpoints" / "tiny-0123abcd.pt")
    url = "https://example.invalid/models/tiny-0123abcd.pt"  # never fetched: it is cached
    loaded = dg.hub.load_state_dict_from_url(url, check_hash=True)
    assert list(loaded) == ["weight", "bias"]
    assert np.array_equal(loaded["weight"].numpy(), state["weight"].numpy())
    from deltagrad.utils import model_zoo

    again = model_zoo.load_url(url, map_location="cpu")
    assert np.array_equal(again["bias"].numpy(), state["bias"].numpy())
    dg.save({"x": dg.ones(1)}, hub_dir / "other.pt")
    assert dg.hub.load_state_dict_from_url("https://e.invalid/a.pt", model_dir=str(hub_dir),
                                           file_name="other.pt")["x"].tolist() == [1.0]
    assert capsys.readouterr().out == ""  # nothing was downloaded


@pytest.mark.parametrize("m", [dg, torch], ids=["deltagrad", "torch"])
def test_load_state_dict_from_url_uncached_without_network_names_the_url(m, hub_dir):
    # Port 9 on this machine refuses at once: no network is used.
    url = "http://127.0.0.1:9/weights/absent.pt"
    with pytest.raises(URLError) as error:
        m.hub.load_state_dict_from_url(url, progress=False)
    if m is dg:
        assert url in str(error.value)
    assert not (hub_dir / "checkpoints" / "absent.pt").exists()


def test_download_url_to_file_from_a_local_url_checks_the_hash(tmp_path):
    import hashlib

    source = tmp_path / "src.bin"
    source.write_bytes(b"deltagrad" * 1000)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    dst = tmp_path / "dst.bin"
    dg.hub.download_url_to_file(source.as_uri(), str(dst), hash_prefix=digest[:8])
    assert dst.read_bytes() == source.read_bytes()
    with pytest.raises(RuntimeError, match="invalid hash value"):
        dg.hub.download_url_to_file(source.as_uri(), str(tmp_path / "bad.bin"),
                                    hash_prefix="ffff" if digest[:4] != "ffff" else "0000")
    assert not (tmp_path / "bad.bin").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dst.bin", "src.bin"]


HUBCONF = '''
"""A tiny hub repository."""
import helper

dependencies = ["numpy"]


def tiny(n=2, scale=1):
    """Returns the helper's value."""
    return helper.value(n) * scale


_private = 1
not_callable = 3
'''


@pytest.fixture
def local_repo(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "hubconf.py").write_text(HUBCONF)
    (repo / "helper.py").write_text("def value(n):\n    return [n] * n\n")
    yield repo
    sys.modules.pop("helper", None)


@BOTH
def test_hub_load_local_repository(m, local_repo, hub_dir):
    assert m.hub.load(str(local_repo), "tiny", 3, source="local", scale=2) == [3, 3, 3] * 2
    assert str(local_repo) not in sys.path
    sys.modules.pop("helper", None)
    with pytest.raises(RuntimeError, match="Cannot find callable"):
        m.hub.load(str(local_repo), "not_callable", source="local")
    with pytest.raises(ValueError, match="Unknown source"):
        m.hub.load(str(local_repo), "tiny", source="ftp")
    (local_repo / "hubconf.py").write_text(HUBCONF.replace('["numpy"]', '["no_such_pkg_x"]'))
    with pytest.raises(RuntimeError, match="Missing dependencies: no_such_pkg_x"):
        m.hub.load(str(local_repo), "tiny", source="local")


def test_hub_github_repository_only_from_the_cache(local_repo, hub_dir):
    cached = hub_dir / "owner_repo_main"
    cached.parent.mkdir(parents=True, exist_ok=True)
    local_repo.rename(cached)
    assert dg.hub.load("owner/repo", "tiny", 1, verbose=False) == [1]
    assert dg.hub.list("owner/repo:main", verbose=False) == ["tiny"]
    assert dg.hub.help("owner/repo", "tiny") == "Returns the helper's value."
    with pytest.raises(RuntimeError, match="never downloads"):
        dg.hub.load("owner/other", "tiny")
    with pytest.raises(RuntimeError, match="never downloads"):
        dg.hub.load("owner/repo", "tiny", force_reload=True)
