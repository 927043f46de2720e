"""Cases of the SM sweep (session 12): state dicts, their hooks, versions and checkpoints.

Checkpoints are written by the real ``torch.save`` into a temporary folder and read by
``lib.load``: BatchNorm's version-1 checkpoints without num_batches_tracked, metadata, dtypes,
shared storages, parameters; load_state_dict strict / non-strict / assign and its messages;
_register_state_dict_hook, state-dict pre/post hooks, load pre/post hooks, a module's own
``_load_from_state_dict`` reading ``_version``. ``text=True``: the message is compared too.
"""

import atexit
import collections
import io
import os
import shutil
import tempfile

import torch as _torch

CASES: dict = {}
TEXT: set = set()


def case(name: str, text: bool = False):
    """Register ``program(lib)`` under ``name`` (``text``: compare the error message too)."""

    def register(program):
        CASES[name] = program
        if text:
            TEXT.add(name)
        return program

    return register


# PyTorch's checkpoints are real files (torch.save), in a folder removed at exit.
_DIR = tempfile.mkdtemp(prefix="s12_SM_")
atexit.register(shutil.rmtree, _DIR, True)


def _saved(obj, name):
    path = os.path.join(_DIR, name + ".pt")
    _torch.save(obj, path)
    return path


def _bn_old_ckpt():
    m = _torch.nn.BatchNorm1d(3)
    sd = m.state_dict()
    del sd["num_batches_tracked"]
    sd._metadata[""]["version"] = 1
    return _saved(sd, "bn_old")


@case("bn-old-checkpoint-no-num-batches")
def _(lib):
    m = lib.nn.BatchNorm1d(3)
    m.num_batches_tracked.fill_(5)
    r = m.load_state_dict(lib.load(_bn_old_ckpt()))
    return repr(r), m.num_batches_tracked


@case("bn-old-checkpoint-plain-dict-no-metadata")
def _(lib):
    m = lib.nn.BatchNorm1d(3)
    sd = {k: v for k, v in lib.nn.BatchNorm1d(3).state_dict().items() if k != "num_batches_tracked"}
    m.num_batches_tracked.fill_(5)
    r = m.load_state_dict(sd)
    return repr(r), m.num_batches_tracked


@case("bn-new-checkpoint-missing-num-batches")
def _(lib):
    m = lib.nn.BatchNorm1d(3)
    sd = m.state_dict()
    del sd["num_batches_tracked"]
    return repr(m.load_state_dict(sd, strict=False))


@case("bn-old-checkpoint-nested")
def _(lib):
    t = _torch.nn.Sequential(_torch.nn.Linear(2, 3), _torch.nn.BatchNorm1d(3))
    sd = t.state_dict()
    del sd["1.num_batches_tracked"]
    sd._metadata["1"]["version"] = 1
    path = _saved(sd, "bn_nested_old")
    m = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3))
    r = m.load_state_dict(lib.load(path))
    return repr(r), m[1].num_batches_tracked


@case("bn-no-running-stats-old")
def _(lib):
    m = lib.nn.BatchNorm1d(3, track_running_stats=False)
    return repr(m.load_state_dict({"weight": lib.ones(3), "bias": lib.zeros(3)})), list(
        m.state_dict()
    )


@case("loaded-metadata")
def _(lib):
    t = _torch.nn.Sequential(_torch.nn.Linear(2, 3), _torch.nn.BatchNorm1d(3))
    sd = lib.load(_saved(t.state_dict(), "meta"))
    return dict(sd._metadata), type(sd).__name__


@case("load-state-dict-int-into-float")
def _(lib):
    m = lib.nn.Linear(2, 1)
    m.load_state_dict({"weight": lib.tensor([[1, 2]]), "bias": lib.tensor([3])})
    return m.weight, m.bias


@case("load-state-dict-double-into-float-keeps-dtype")
def _(lib):
    m = lib.nn.Linear(2, 1)
    w = m.weight
    m.load_state_dict(
        {"weight": lib.ones(1, 2, dtype=lib.float64), "bias": lib.zeros(1, dtype=lib.float64)}
    )
    return m.weight, m.weight is w


@case("load-state-dict-assign")
def _(lib):
    m = lib.nn.Linear(2, 1)
    w = m.weight
    m.load_state_dict(
        {"weight": lib.ones(1, 2, dtype=lib.float64), "bias": lib.zeros(1, dtype=lib.float64)},
        assign=True,
    )
    return m.weight, m.weight is w, isinstance(m.weight, lib.nn.Parameter), m.weight.requires_grad


@case("load-state-dict-assign-plain-tensor-requires-grad")
def _(lib):
    m = lib.nn.Linear(2, 1).requires_grad_(False)
    m.load_state_dict({"weight": lib.ones(1, 2), "bias": lib.zeros(1)}, assign=True)
    return m.weight.requires_grad, isinstance(m.weight, lib.nn.Parameter)


@case("load-state-dict-shares-no-memory")
def _(lib):
    m = lib.nn.Linear(2, 1)
    sd = {"weight": lib.ones(1, 2), "bias": lib.zeros(1)}
    m.load_state_dict(sd)
    sd["weight"].add_(1)
    return m.weight


@case("load-state-dict-scalar-shape", text=True)
def _(lib):
    m = lib.nn.BatchNorm1d(2)
    return repr(m.load_state_dict({**m.state_dict(), "num_batches_tracked": lib.tensor([3])}))


@case("load-state-dict-shape-mismatch", text=True)
def _(lib):
    m = lib.nn.Sequential(lib.nn.Linear(2, 1))
    m.load_state_dict({"0.weight": lib.ones(2, 2), "0.bias": lib.zeros(1)})


@case("load-state-dict-shape-mismatch-nonstrict", text=True)
def _(lib):
    m = lib.nn.Sequential(lib.nn.Linear(2, 1))
    m.load_state_dict({"0.weight": lib.ones(2, 2)}, strict=False)


@case("load-state-dict-shape-and-missing", text=True)
def _(lib):
    m = lib.nn.Sequential(lib.nn.Linear(2, 1))
    m.load_state_dict({"0.weight": lib.ones(2, 2), "x": lib.ones(1)})


@case("load-state-dict-not-mapping", text=True)
def _(lib):
    lib.nn.Linear(2, 1).load_state_dict([("weight", 1)])


@case("load-state-dict-not-tensor", text=True)
def _(lib):
    lib.nn.Linear(2, 1).load_state_dict({"weight": [[1.0, 2.0]], "bias": [0.0]})


@case("load-state-dict-unexpected-child-keys", text=True)
def _(lib):
    m = lib.nn.Sequential(lib.nn.Linear(2, 1))
    r = m.load_state_dict(
        {**m.state_dict(), "0.extra": lib.ones(1), "1.weight": lib.ones(1), "zzz": lib.ones(1)},
        strict=False,
    )
    return repr(r), r.missing_keys, r.unexpected_keys, list(r)


@case("load-state-dict-none-param", text=True)
def _(lib):
    m = lib.nn.Linear(2, 1, bias=False)
    return repr(m.load_state_dict({"weight": lib.ones(1, 2), "bias": lib.ones(1)}, strict=False))


@case("load-state-dict-nonpersistent", text=True)
def _(lib):
    m = lib.nn.Module()
    m.register_buffer("a", lib.zeros(1), persistent=False)
    return repr(m.load_state_dict({"a": lib.ones(1)}, strict=False)), m.a


@case("incompatible-keys-repr")
def _(lib):
    m = lib.nn.Linear(2, 1)
    r = m.load_state_dict(m.state_dict())
    return (
        repr(r),
        str(r),
        type(r).__name__,
        r == ([], []),
        r._fields if hasattr(r, "_fields") else None,
    )


@case("state-dict-hook-modifies")
def _(lib):
    m = lib.nn.Sequential(lib.nn.Linear(2, 1))

    def hook(module, sd, prefix, local_metadata):
        sd[prefix + "extra"] = lib.ones(1)

    h = m[0]._register_state_dict_hook(hook)
    a = list(m.state_dict())
    h.remove()
    return a, list(m.state_dict())


@case("state-dict-hook-returns-new")
def _(lib):
    m = lib.nn.Linear(2, 1)
    m._register_state_dict_hook(lambda mod, sd, prefix, meta: {"only": lib.ones(1)})
    return list(m.state_dict())


@case("state-dict-pre-hook")
def _(lib):
    m = lib.nn.Sequential(lib.nn.Linear(2, 1))
    seen = []
    m[0].register_state_dict_pre_hook(
        lambda mod, prefix, keep_vars: seen.append((type(mod).__name__, prefix, keep_vars))
    )
    m.state_dict(keep_vars=True)
    return seen


@case("state-dict-post-hook-public")
def _(lib):
    m = lib.nn.Linear(2, 1)
    seen = []
    m.register_state_dict_post_hook(
        lambda mod, sd, prefix, meta: seen.append((prefix, list(sd), dict(meta)))
    )
    lib.nn.Sequential(m).state_dict()
    return seen


@case("state-dict-post-hook-return-error", text=True)
def _(lib):
    m = lib.nn.Linear(2, 1)
    m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: {})
    m.state_dict()


@case("load-pre-hook")
def _(lib):
    m = lib.nn.Sequential(lib.nn.Linear(2, 1))
    seen = []

    def hook(sd, prefix, local_metadata, strict, missing, unexpected, errors):
        seen.append((prefix, sorted(sd), dict(local_metadata), strict))
        sd[prefix + "weight"] = sd[prefix + "weight"] * 0 + 7

    m[0]._register_load_state_dict_pre_hook(hook)
    m.load_state_dict(m.state_dict())
    return seen, m[0].weight


@case("load-pre-hook-with-module")
def _(lib):
    m = lib.nn.Linear(2, 1)
    seen = []
    m._register_load_state_dict_pre_hook(
        lambda mod, sd, prefix, *rest: seen.append((type(mod).__name__, len(rest))),
        with_module=True,
    )
    m.load_state_dict(m.state_dict())
    return seen


@case("load-pre-hook-public")
def _(lib):
    m = lib.nn.Linear(2, 1)
    seen = []
    m.register_load_state_dict_pre_hook(
        lambda mod, sd, prefix, *rest: seen.append((type(mod).__name__, prefix, len(rest)))
    )
    m.load_state_dict(m.state_dict())
    return seen


@case("load-post-hook-clears-keys")
def _(lib):
    m = lib.nn.Sequential(lib.nn.Linear(2, 1))
    seen = []

    def post(module, keys):
        seen.append((type(module).__name__, list(keys.missing_keys), list(keys.unexpected_keys)))
        keys.missing_keys.clear()

    m[0].register_load_state_dict_post_hook(post)
    r = m.load_state_dict({"0.weight": lib.ones(1, 2), "q": lib.ones(1)}, strict=False)
    return seen, repr(r)


@case("load-post-hook-strict-after-clear", text=True)
def _(lib):
    m = lib.nn.Linear(2, 1)

    def post(module, keys):
        keys.missing_keys.clear()

    m.register_load_state_dict_post_hook(post)
    m.load_state_dict({"weight": lib.ones(1, 2)})
    return m.weight


@case("load-post-hook-returns-value", text=True)
def _(lib):
    m = lib.nn.Linear(2, 1)
    m.register_load_state_dict_post_hook(lambda mod, keys: 3)
    m.load_state_dict(m.state_dict())


@case("load-post-hook-remove")
def _(lib):
    m = lib.nn.Linear(2, 1)
    seen = []
    h = m.register_load_state_dict_post_hook(lambda mod, keys: seen.append(1))
    m.load_state_dict(m.state_dict())
    h.remove()
    m.load_state_dict(m.state_dict())
    return seen


@case("custom-load-from-state-dict")
def _(lib):
    class M(lib.nn.Module):
        _version = 3

        def __init__(self):
            super().__init__()
            self.w = lib.nn.Parameter(lib.zeros(2))

        def _load_from_state_dict(
            self,
            state_dict,
            prefix,
            local_metadata,
            strict,
            missing_keys,
            unexpected_keys,
            error_msgs,
        ):
            version = local_metadata.get("version")
            if version is None or version < 3:
                old = prefix + "old_w"
                if old in state_dict:
                    state_dict[prefix + "w"] = state_dict.pop(old)
            super()._load_from_state_dict(
                state_dict,
                prefix,
                local_metadata,
                strict,
                missing_keys,
                unexpected_keys,
                error_msgs,
            )

    m = lib.nn.Sequential(M())
    sd = {"0.old_w": lib.ones(2)}
    r = m.load_state_dict(sd)
    meta = dict(m.state_dict()._metadata)
    return repr(r), m[0].w, meta, sd


@case("custom-load-from-state-dict-error-msgs", text=True)
def _(lib):
    class M(lib.nn.Module):
        def _load_from_state_dict(
            self,
            state_dict,
            prefix,
            local_metadata,
            strict,
            missing_keys,
            unexpected_keys,
            error_msgs,
        ):
            error_msgs.append("bad thing")

    M().load_state_dict({})


@case("module-version-attr")
def _(lib):
    nn = lib.nn
    return [
        (n, getattr(nn, n)._version)
        for n in (
            "Module",
            "Linear",
            "BatchNorm1d",
            "BatchNorm2d",
            "InstanceNorm1d",
            "SyncBatchNorm",
            "LayerNorm",
            "Embedding",
            "MultiheadAttention",
            "TransformerEncoderLayer",
            "GroupNorm",
            "LSTM",
            "Conv2d",
        )
    ]


@case("load-whole-module-pickle")
def _(lib):
    t = _torch.nn.Sequential(_torch.nn.Linear(2, 3), _torch.nn.ReLU())
    path = _saved(t, "whole")
    try:
        m = lib.load(path, weights_only=False)
    except Exception as e:
        return ("load error", type(e).__name__)
    return repr(m), type(m).__name__


@case("load-module-weights-only-default", text=False)
def _(lib):
    t = _torch.nn.Sequential(_torch.nn.Linear(2, 3))
    path = _saved(t, "whole2")
    return type(lib.load(path)).__name__


@case("load-tensor-shared-storage")
def _(lib):
    x = _torch.arange(6.0)
    path = _saved({"a": x, "b": x[2:].view(2, 2)}, "shared")
    d = lib.load(path)
    d["a"].add_(1)
    return d["b"], d["b"].is_contiguous(), d["b"].stride()


@case("load-noncontiguous")
def _(lib):
    x = _torch.arange(6.0).view(2, 3).t()
    d = lib.load(_saved({"a": x}, "nc"))
    return d["a"], d["a"].stride()


@case("load-dtypes")
def _(lib):
    path = _saved(
        {
            k: _torch.ones(2, dtype=getattr(_torch, k))
            for k in (
                "float16",
                "bfloat16",
                "int8",
                "uint8",
                "int16",
                "int32",
                "bool",
                "float64",
                "complex64",
            )
        },
        "dtypes",
    )
    return {k: str(v.dtype) for k, v in lib.load(path).items()}


@case("load-parameter-requires-grad")
def _(lib):
    path = _saved(
        {
            "p": _torch.nn.Parameter(_torch.ones(2)),
            "q": _torch.nn.Parameter(_torch.ones(2), requires_grad=False),
            "t": _torch.ones(2, requires_grad=False),
        },
        "params",
    )
    d = lib.load(path)
    return [(k, isinstance(v, lib.nn.Parameter), v.requires_grad) for k, v in d.items()]


@case("load-map-location-mmap")
def _(lib):
    path = _saved({"a": _torch.ones(2)}, "mm")
    return lib.load(path, map_location="cpu", mmap=True)["a"], lib.load(
        path, map_location=lambda s, loc: s
    )["a"]


@case("load-optimizer-state")
def _(lib):
    t = _torch.nn.Linear(2, 1)
    opt = _torch.optim.Adam(t.parameters())
    t(_torch.ones(1, 2)).sum().backward()
    opt.step()
    path = _saved(opt.state_dict(), "opt")
    sd = lib.load(path)
    return sorted(sd), sd["param_groups"][0]["params"], sorted(sd["state"][0])


@case("save-roundtrip-to-torch")
def _(lib):
    m = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3))
    buf = io.BytesIO()
    lib.save(m.state_dict(), buf)
    buf.seek(0)
    sd = _torch.load(buf)
    return [(k, tuple(v.shape), str(v.dtype)) for k, v in sd.items()], dict(sd._metadata)


# More of PyTorch's checkpoint forms.


def _saved_with(obj, name, **kw):
    path = os.path.join(_DIR, name + ".pt")
    _torch.save(obj, path, **kw)
    return path


@case("legacy-format")
def _(lib):
    x = _torch.arange(6.0).view(2, 3)
    path = _saved_with(
        {"a": x, "b": x[:, 1], "n": 3}, "legacy", _use_new_zipfile_serialization=False
    )
    d = lib.load(path)
    return d["a"], d["b"], d["b"].stride(), d["n"]


@case("python-values")
def _(lib):
    path = _saved(
        {
            "size": _torch.Size([2, 3]),
            "t": (1, 2.5, "x", None, True),
            "od": collections.OrderedDict(a=1),
            "dtype": _torch.float16,
            "l": [_torch.ones(1)],
        },
        "pyvals",
    )
    d = lib.load(path)
    return d["size"], d["t"], type(d["od"]).__name__, d["dtype"], d["l"]


@case("requires-grad-tensor")
def _(lib):
    path = _saved({"t": _torch.ones(2, requires_grad=True)}, "rg")
    d = lib.load(path)
    return d["t"].requires_grad, d["t"].is_leaf


@case("zero-dim-and-empty")
def _(lib):
    path = _saved({"s": _torch.tensor(3.5), "e": _torch.zeros(0, 3), "i": _torch.tensor(7)}, "zd")
    d = lib.load(path)
    return d["s"], d["e"], d["i"], d["s"].item()


@case("weights-only-plain-data")
def _(lib):
    path = _saved({"a": 1}, "wo")
    return lib.load(path, weights_only=True)


@case("load-bytesio")
def _(lib):
    import io

    buf = io.BytesIO()
    _torch.save({"w": _torch.arange(3.0)}, buf)
    buf.seek(0)
    return lib.load(buf)["w"]


@case("state-dict-into-module-bf16")
def _(lib):
    _torch.manual_seed(0)  # (both sides load the same weights whichever cases ran before)
    t = _torch.nn.Linear(2, 2).to(_torch.bfloat16)
    path = _saved(t.state_dict(), "bf16")
    m = lib.nn.Linear(2, 2)
    m.load_state_dict(lib.load(path))
    return m.weight.dtype, m.weight


@case("load-into-lazy")
def _(lib):
    t = _torch.nn.Linear(3, 2)
    path = _saved(t.state_dict(), "lazy")
    m = lib.nn.LazyLinear(2)
    r = m.load_state_dict(lib.load(path))
    return repr(r), type(m).__name__, m.weight.shape, m(lib.ones(1, 3)).shape


@case("load-complex")
def _(lib):
    path = _saved({"c": _torch.tensor([1 + 2j, 3 - 1j])}, "cplx")
    return lib.load(path)["c"]


@case("load-strided-views-share")
def _(lib):
    base = _torch.arange(12.0).view(3, 4)
    path = _saved([base, base.t(), base[1], base[:, ::2]], "views")
    a, b, c, d = lib.load(path)
    a[1, 1] = 100
    return b, c, d, d.stride()


@case("load-state-dict-old-3-checkpoint-1-elem")
def _(lib):
    m = lib.nn.BatchNorm1d(2)
    sd = {k: v for k, v in m.state_dict().items()}
    sd["num_batches_tracked"] = lib.tensor([4])
    r = m.load_state_dict(sd)
    return repr(r), m.num_batches_tracked


@case("embedding-from-torch")
def _(lib):
    _torch.manual_seed(0)
    t = _torch.nn.Embedding(5, 3, padding_idx=1)
    path = _saved(t.state_dict(), "emb")
    m = lib.nn.Embedding(5, 3, padding_idx=1)
    m.load_state_dict(lib.load(path))
    return m(lib.tensor([1, 4]))


@case("optimizer-load-state-dict-from-torch")
def _(lib):
    _torch.manual_seed(0)
    t = _torch.nn.Linear(2, 1)
    opt = _torch.optim.Adam(t.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        t(_torch.ones(3, 2)).pow(2).sum().backward()
        opt.step()
    p1 = _saved(t.state_dict(), "m_opt")
    p2 = _saved(opt.state_dict(), "opt_full")
    m = lib.nn.Linear(2, 1)
    m.load_state_dict(lib.load(p1))
    o = lib.optim.Adam(m.parameters(), lr=0.1)
    o.load_state_dict(lib.load(p2))
    o.zero_grad()
    m(lib.ones(3, 2)).pow(2).sum().backward()
    o.step()
    return m.weight, m.bias, o.state_dict()["state"][0]["step"]


# Modules built on the meta device, then filled from a state dict.


@case("meta-device-build-and-to-empty")
def _(lib):
    m = lib.nn.Linear(3, 2, device="meta")
    a = (str(m.weight.device), m.weight.shape, m.weight.is_meta)
    m.to_empty(device="cpu")
    return a, str(m.weight.device), m.weight.shape, [n for n, _ in m.named_parameters()]


@case("meta-load-assign")
def _(lib):
    with lib.device("meta"):
        m = lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.BatchNorm1d(2))
    src = lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.BatchNorm1d(2))
    with lib.no_grad():
        src[0].weight.fill_(0.5)
    m.load_state_dict(src.state_dict(), assign=True)
    return (
        m[0].weight,
        str(m[1].running_mean.device),
        m(lib.ones(4, 3)).shape,
        isinstance(m[0].weight, lib.nn.Parameter),
        m[0].weight.requires_grad,
    )


@case("meta-load-no-assign")
def _(lib):
    with lib.device("meta"):
        m = lib.nn.Linear(3, 2)
    src = lib.nn.Linear(3, 2)
    r = m.load_state_dict(src.state_dict())
    return repr(r), str(m.weight.device)


@case("meta-state-dict")
def _(lib):
    m = lib.nn.BatchNorm1d(3, device="meta")
    return [(k, str(v.device), tuple(v.shape), str(v.dtype)) for k, v in m.state_dict().items()]


@case("meta-to-cpu", text=True)
def _(lib):
    m = lib.nn.Linear(3, 2, device="meta")
    m.to("cpu")


@case("reset-parameters-after-to-empty")
def _(lib):
    lib.manual_seed(0)
    m = lib.nn.Linear(3, 2, device="meta")
    m.to_empty(device="cpu")
    m.reset_parameters()
    return m.weight.shape, bool((m.weight.abs() <= 1 / 3**0.5 + 1e-6).all())


# Containers from PyTorch; modules that keep derived weights, after assign=True loads.


def _containers(L):
    L.manual_seed(0)

    class M(L.nn.Module):
        def __init__(self):
            super().__init__()
            self.pl = L.nn.ParameterList([L.nn.Parameter(L.randn(2)), L.nn.Parameter(L.randn(3))])
            self.pd = L.nn.ParameterDict(
                {"b": L.nn.Parameter(L.randn(2)), "a": L.nn.Parameter(L.randn(1))}
            )
            self.md = L.nn.ModuleDict(
                {"enc": L.nn.Linear(2, 2), "dec": L.nn.Sequential(L.nn.Linear(2, 1))}
            )

        def forward(self, x):
            return self.md["dec"](self.md["enc"](x) * self.pl[0] + self.pd["a"])

    return M()


@case("containers-from-torch")
def _(lib):
    path = _saved(_containers(_torch).state_dict(), "containers")
    m = _containers(lib)
    r = m.load_state_dict(lib.load(path))
    return repr(r), list(m.state_dict()), m(lib.ones(1, 2))


@case("lstm-load-assign-then-forward")
def _(lib):
    lib.manual_seed(1)
    src = lib.nn.LSTM(3, 4, num_layers=2)
    m = lib.nn.LSTM(3, 4, num_layers=2)
    x = lib.linspace(-1, 1, 30).reshape(5, 2, 3)
    m(x)
    m.load_state_dict(src.state_dict(), assign=True)
    return lib.allclose(m(x)[0], src(x)[0])


@case("lstm-load-copy-then-forward")
def _(lib):
    lib.manual_seed(1)
    src = lib.nn.LSTM(3, 4)
    m = lib.nn.LSTM(3, 4)
    x = lib.linspace(-1, 1, 30).reshape(5, 2, 3)
    m(x)
    m.load_state_dict(src.state_dict())
    return lib.allclose(m(x)[0], src(x)[0])


@case("mha-load-assign-then-forward")
def _(lib):
    lib.manual_seed(2)
    src = lib.nn.MultiheadAttention(4, 2)
    m = lib.nn.MultiheadAttention(4, 2)
    x = lib.linspace(-1, 1, 24).reshape(3, 2, 4)
    m(x, x, x)
    m.load_state_dict(src.state_dict(), assign=True)
    return lib.allclose(m(x, x, x)[0], src(x, x, x)[0])


@case("conv-load-assign-then-forward")
def _(lib):
    lib.manual_seed(3)
    src = lib.nn.Conv2d(2, 3, 3)
    m = lib.nn.Conv2d(2, 3, 3)
    x = lib.linspace(-1, 1, 50).reshape(1, 2, 5, 5)
    m(x)
    m.load_state_dict(src.state_dict(), assign=True)
    return lib.allclose(m(x), src(x))


@case("bn-load-assign-then-train-step")
def _(lib):
    src = lib.nn.BatchNorm1d(2)
    with lib.no_grad():
        src.running_mean.fill_(1.0)
    m = lib.nn.BatchNorm1d(2)
    m.load_state_dict(src.state_dict(), assign=True)
    m(lib.linspace(-1, 1, 8).reshape(4, 2))
    return m.running_mean, src.running_mean, m.num_batches_tracked, src.num_batches_tracked


@case("transformer-from-torch")
def _(lib):
    def build(L):
        L.manual_seed(0)
        return L.nn.TransformerEncoder(
            L.nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0),
            2,
            enable_nested_tensor=False,
        ).eval()

    path = _saved(build(_torch).state_dict(), "transformer")
    m = build(lib)
    m.load_state_dict(lib.load(path))
    x = lib.linspace(-1, 1, 24).reshape(3, 2, 4)
    return list(m.state_dict())[:6], m(x)
