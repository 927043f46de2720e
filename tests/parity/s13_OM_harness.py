"""PyTorch's own module descriptions (ModuleInfo ``module_db``) run through deltagrad's nn.

Each ModuleInfo gives constructor arguments and forward inputs for one ``torch.nn`` class. We
build the PyTorch module, build deltagrad's class of the same name from the converted arguments,
copy PyTorch's state into it (``load_state_dict``), and report every way the two differ: the
state's keys / shapes / order, parameter and buffer names, ``repr``, forward outputs (values,
dtypes, shapes, structure), gradients of inputs and parameters for a seeded cotangent, buffers
after a training-mode forward, and who raises. ``module_error_inputs_func`` gives inputs that
must raise: deltagrad must raise with PyTorch's exception class. Each input is also run with
non-contiguous tensors, with a zero-size batch and unbatched (the first row of the batch).
"""
from __future__ import annotations

import collections
import dataclasses
import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import opinfo_harness as H  # noqa: E402

import deltagrad as dg  # noqa: E402

# Modules whose training-mode output depends on random numbers: compared in eval mode, and in
# training mode by structure / shape / dtype only.
RANDOM_IN_TRAINING = {"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                      "FeatureAlphaDropout", "RReLU"}
RANDOM_ALWAYS = {"FractionalMaxPool2d", "FractionalMaxPool3d"}
# PyTorch's multilabel_margin_loss of a zero-size batch returns uninitialized memory (any value,
# sometimes 0.0): nothing to compare against, and a comparison would be flaky.
EMPTY_BATCH_UNDEFINED = {"MultiLabelMarginLoss"}
# Modules with dropout inside: random in training mode unless their dropout probability is 0.
DROPOUT_INSIDE = {"TransformerEncoder", "TransformerEncoderLayer", "TransformerDecoderLayer",
                  "Transformer", "MultiheadAttention", "RNN", "GRU", "LSTM"}


# How many comparisons each stage made (the sweep test checks these are not zero).
STATS = collections.Counter()


def module_name(info) -> str:
    return info.module_cls.__name__


@dataclasses.dataclass
class MDiff:
    module: str
    dtype: str
    mode: str      # "train" / "eval" / "-"
    variant: str   # "plain" / "noncontig" / "empty_batch" / "error"
    kind: str
    desc: str
    detail: str

    def key(self):
        return (self.module, self.variant, self.kind)


# --------------------------------------------------------------------------- conversion


def _dg_noncontiguous(t):
    """deltagrad's counterpart of ``noncontiguous_like``: the values live every second element."""
    d = H.to_dg(t.detach())
    if d.dim() == 0 or d.numel() == 0:
        return d.requires_grad_(t.requires_grad) if t.requires_grad else d
    big = dg.empty(tuple(d.shape) + (2,), dtype=d.dtype)
    big[..., 0] = math.nan if d.is_floating_point() else 12
    big[..., 1] = d
    out = big[..., 1].detach()
    if t.requires_grad:
        out.requires_grad_(True)
    return out


def _torch_noncontiguous(t):
    from torch.testing._internal.common_utils import noncontiguous_like
    if t.dim() == 0 or t.numel() == 0:
        return t
    return noncontiguous_like(t)


def _map_tensors(obj, fn):
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_map_tensors(x, fn) for x in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map_tensors(x, fn) for x in obj)
    if isinstance(obj, dict):
        return {k: _map_tensors(v, fn) for k, v in obj.items()}
    return obj


def _packed_to_dg(p, memo):
    rnn = dg.nn.utils.rnn
    conv = [None if x is None else H.to_dg(x, memo) for x in p]
    return rnn.PackedSequence(*conv)


def _layer_to_dg(m):
    """A PyTorch layer given as a constructor argument (TransformerEncoder's encoder_layer):
    deltagrad's layer built from the attributes that describe it (its state is copied later,
    through the owner's state_dict)."""
    name = type(m).__name__
    dtype = H.dg_dtype(next(m.parameters()).dtype)
    if name in ("TransformerEncoderLayer", "TransformerDecoderLayer"):
        act = m.activation
        act = getattr(dg.nn.functional, act.__name__) if not isinstance(act, torch.nn.Module) \
            else _layer_to_dg(act)
        return getattr(dg.nn, name)(
            m.self_attn.embed_dim, m.self_attn.num_heads, m.linear1.out_features,
            m.dropout.p, act, m.norm1.eps, m.self_attn.batch_first, m.norm_first,
            m.linear1.bias is not None, dtype=dtype)
    if name == "LayerNorm":
        return dg.nn.LayerNorm(m.normalized_shape, m.eps, m.elementwise_affine,
                               m.bias is not None, dtype=dtype)
    raise H.Unconvertible(f"module {name}")


def to_dg(obj, memo):
    """H.to_dg plus PackedSequence, PyTorch functions (by name) and layers."""
    if isinstance(obj, torch.nn.utils.rnn.PackedSequence):
        return _packed_to_dg(obj, memo)
    if isinstance(obj, torch.nn.Module):
        return _layer_to_dg(obj)
    if callable(obj) and not isinstance(obj, (torch.Tensor, type)) and \
            getattr(obj, "__module__", "").startswith("torch") and \
            hasattr(dg.nn.functional, getattr(obj, "__name__", "")):
        return getattr(dg.nn.functional, obj.__name__)
    if isinstance(obj, (list, tuple)) and not hasattr(obj, "_fields"):
        return type(obj)(to_dg(x, memo) for x in obj)
    if isinstance(obj, dict):
        return {k: to_dg(v, memo) for k, v in obj.items()}
    return H.to_dg(obj, memo)


def structure(obj):
    """The output's nesting with class names (tuple, namedtuple, PackedSequence), no values."""
    if isinstance(obj, (torch.Tensor, dg.Tensor)):
        return "T"
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__,) + tuple(structure(x) for x in obj)
    return type(obj).__name__


# --------------------------------------------------------------------------- building


def _dtype_name(dtype):
    return str(dtype).split(".")[-1]


def build_torch(info, mi, dtype, training):
    args, kwargs = mi.constructor_input.args, mi.constructor_input.kwargs
    torch.manual_seed(0)
    m = info.module_cls(*args, **kwargs)
    m.to(dtype)
    m.train(training)
    return m


def build_dg(info, mi, dtype, training):
    cls = getattr(dg.nn, module_name(info))
    memo = {}
    args = to_dg(mi.constructor_input.args, memo)
    kwargs = to_dg(mi.constructor_input.kwargs, memo)
    m = cls(*args, **kwargs)
    m.to(H.dg_dtype(dtype))
    m.train(training)
    return m


def state_summary(m):
    return [(k, tuple(v.shape)) for k, v in m.state_dict().items()]


def copy_state(m_t, m_d):
    """PyTorch's state into deltagrad's module; returns a difference description or None."""
    sd = {k: H.to_dg(v.detach().clone()) for k, v in m_t.state_dict().items()}
    d_keys = list(m_d.state_dict().keys())
    if d_keys != list(sd):
        m_d.load_state_dict(sd, strict=False)
        return f"state_dict keys {d_keys} (PyTorch {list(sd)})"
    m_d.load_state_dict(sd)
    return None


def _is_random(info, mi, training):
    name = module_name(info)
    if name in RANDOM_ALWAYS:  # (unless its random samples are given: then compared)
        return "_random_samples" not in mi.constructor_input.kwargs
    if not training:
        return False
    if name in RANDOM_IN_TRAINING:
        return True
    if name in DROPOUT_INSIDE:
        kw = mi.constructor_input.kwargs
        p = kw.get("dropout", 0.0 if name in ("RNN", "GRU", "LSTM", "MultiheadAttention")
                   else 0.1)
        return p != 0
    return False


# --------------------------------------------------------------------------- one input


def _forward_inputs(mi, variant):
    fi = mi.forward_input
    args, kwargs = tuple(fi.args), dict(fi.kwargs)
    if variant == "noncontig":
        t_args = _map_tensors(args, _torch_noncontiguous)
        t_kwargs = _map_tensors(kwargs, _torch_noncontiguous)
        memo = {}

        def conv(t):
            if id(t) not in memo:
                memo[id(t)] = _dg_noncontiguous(t)
            return memo[id(t)]
        d_args = _map_tensors(t_args, conv)
        d_kwargs = _map_tensors(t_kwargs, conv)
        pairs = {id(t): memo[id(t)] for t in _leaves((t_args, t_kwargs), [])}
        return t_args, t_kwargs, d_args, d_kwargs, pairs
    if variant in ("empty_batch", "unbatched"):
        part = slice(0, 0) if variant == "empty_batch" else 0

        def cut(t):
            return t[part].detach().requires_grad_(t.requires_grad) if t.dim() > 0 else t
        args, kwargs = _map_tensors(args, cut), _map_tensors(kwargs, cut)
    memo = {}
    d_args, d_kwargs = to_dg(args, memo), to_dg(kwargs, memo)
    pairs = {id(t): memo[id(t)] for t in _leaves((args, kwargs), []) if id(t) in memo}
    return args, kwargs, d_args, d_kwargs, pairs


def _leaves(obj, out):
    if isinstance(obj, torch.Tensor):
        if obj.requires_grad and obj.is_leaf and (obj.dtype.is_floating_point
                                                  or obj.dtype.is_complex):
            out.append(obj)
    elif isinstance(obj, torch.nn.utils.rnn.PackedSequence):
        _leaves(obj.data, out)
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            _leaves(x, out)
    elif isinstance(obj, dict):
        for x in obj.values():
            _leaves(x, out)
    return out


_flat = H._flat_tensors  # (instances of cls in nested lists / tuples, in order)


def run_input(info, mi, dtype, training, variant="plain", checks=("state", "repr")):
    """Compare one ModuleInput in one mode; returns a list of (kind, detail)."""
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            m_t = build_torch(info, mi, dtype, training)
        except Exception:  # noqa: BLE001 - PyTorch refuses the input: nothing to compare
            return out
        try:
            m_d = build_dg(info, mi, dtype, training)
        except Exception as exc:  # noqa: BLE001
            return [("dg_construct", f"{type(exc).__name__}: {str(exc)[:160]}")]
        lazy = info.is_lazy
        if "repr" in checks and not lazy:
            STATS["repr"] += 1
            if repr(m_t) != repr(m_d):
                out.append(("repr", f"{repr(m_d)[:200]!r} (PyTorch {repr(m_t)[:200]!r})"))
        t_args, t_kwargs, d_args, d_kwargs, pairs = _forward_inputs(mi, variant)
        if lazy:
            # Materialize both with a no-grad forward, then copy PyTorch's initial values.
            try:
                with torch.no_grad():
                    m_t(*t_args, **t_kwargs)
            except Exception:  # noqa: BLE001
                return out
            try:
                with dg.no_grad():
                    m_d(*d_args, **d_kwargs)
            except Exception as exc:  # noqa: BLE001
                return out + [("dg_raises", f"lazy: {type(exc).__name__}: {str(exc)[:160]}")]
            if "repr" in checks and repr(m_t) != repr(m_d):
                out.append(("repr", f"{repr(m_d)[:200]!r} (PyTorch {repr(m_t)[:200]!r})"))
        if "state" in checks:
            STATS["state"] += 1
            t_state, d_state = state_summary(m_t), state_summary(m_d)
            if t_state != d_state:
                out.append(("state", f"{d_state} (PyTorch {t_state})"))
            tp = [k for k, _ in m_t.named_parameters()]
            dp = [k for k, _ in m_d.named_parameters()]
            tb = [k for k, _ in m_t.named_buffers()]
            db = [k for k, _ in m_d.named_buffers()]
            if tp != dp or tb != db:
                out.append(("names", f"params {dp} buffers {db} (PyTorch {tp} / {tb})"))
        try:
            msg = copy_state(m_t, m_d)
        except Exception as exc:  # noqa: BLE001
            return out + [("load_state", f"{type(exc).__name__}: {str(exc)[:160]}")]
        if msg:
            out.append(("load_state", msg))
        random = _is_random(info, mi, training)
        try:
            torch.manual_seed(0)
            t_out = m_t(*t_args, **t_kwargs)
        except Exception as exc:  # noqa: BLE001 - PyTorch's refusal is the reference
            try:
                m_d(*d_args, **d_kwargs)
            except Exception:  # noqa: BLE001
                return out
            return out + [("torch_raises", f"PyTorch {type(exc).__name__}: {str(exc)[:120]}")]
        try:
            d_out = m_d(*d_args, **d_kwargs)
        except Exception as exc:  # noqa: BLE001
            return out + [("dg_raises", f"{type(exc).__name__}: {str(exc)[:160]}")]
    if structure(t_out) != structure(d_out):
        return out + [("structure", f"{structure(d_out)} (PyTorch {structure(t_out)})")]
    e, a = H.to_numpy(t_out), H.to_numpy(d_out)
    if random:
        e, a = _shapes_only(e), _shapes_only(a)
    msg = H.compare(e, a, 10.0)
    STATS["forward"] += 1
    if msg:
        return out + [("value", msg)]
    if training and not random:
        STATS["buffers"] += 1
        msg = H.compare(H.to_numpy(list(m_t.state_dict().values())),
                        H.to_numpy(list(m_d.state_dict().values())), 10.0, "buffers")
        if msg:
            out.append(("buffers", msg))
    if random:
        return out
    res = _compare_grads(m_t, m_d, t_out, d_out, t_args, t_kwargs, pairs)
    if res:
        out.append(res)
    return out


def _shapes_only(x):
    if isinstance(x, tuple) and len(x) == 2 and isinstance(x[1], np.ndarray):
        return (x[0], x[1].shape)
    if isinstance(x, tuple):
        return tuple(_shapes_only(y) for y in x)
    return x


def _compare_grads(m_t, m_d, t_out, d_out, t_args, t_kwargs, pairs):
    t_leaves = _leaves((t_args, t_kwargs), [])
    t_params = [p for p in m_t.parameters() if p.requires_grad]
    d_params = [p for p in m_d.parameters() if p.requires_grad]
    if len(t_params) != len(d_params):
        return ("grad", f"{len(d_params)} trainable parameters (PyTorch {len(t_params)})")
    t_outs = [t for t in _flat(t_out, torch.Tensor, []) if t.requires_grad]
    if not t_outs or not (t_leaves or t_params):
        return None
    d_all = _flat(d_out, dg.Tensor, [])
    t_all = _flat(t_out, torch.Tensor, [])
    d_outs = [d for t, d in zip(t_all, d_all) if t.requires_grad]
    if not all(d.requires_grad for d in d_outs):
        return ("grad", "an output does not require grad (PyTorch's does)")
    rng = np.random.default_rng(0)
    t_cots = [torch.from_numpy(rng.standard_normal(tuple(t.shape))).to(t.dtype) for t in t_outs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            t_grads = torch.autograd.grad(t_outs, t_leaves + t_params, t_cots, allow_unused=True)
        except Exception:  # noqa: BLE001 - not differentiable in PyTorch either
            return None
        d_leaves = [pairs[id(t)] for t in t_leaves]
        try:
            d_grads = dg.autograd.grad(d_outs, d_leaves + d_params,
                                       [H.to_dg(c) for c in t_cots], allow_unused=True)
        except Exception as exc:  # noqa: BLE001
            return ("grad", f"backward raises {type(exc).__name__}: {str(exc)[:160]}")
    names = [f"input{k}" for k in range(len(t_leaves))] + [n for n, p in m_t.named_parameters()
                                                           if p.requires_grad]
    STATS["grad"] += 1
    for name, tg, dgr in zip(names, t_grads, d_grads):
        if tg is None and dgr is None:
            continue
        if tg is None or dgr is None:
            if tg is not None and not bool((tg == 0).all()):
                return ("grad", f"grad of {name} is None (PyTorch has one)")
            continue
        msg = H.compare(H.to_numpy(tg), H.to_numpy(dgr), 30.0, f"grad {name}")
        if msg:
            return ("grad", msg)
    return None


# --------------------------------------------------------------------------- error inputs


def run_error_input(info, err):
    """deltagrad must raise where PyTorch does, with the same class."""
    from torch.testing._internal.common_modules import ModuleErrorEnum
    mi = err.module_error_input
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            m_d = _build_dg_as_given(info, mi)
        except Exception as exc:  # noqa: BLE001
            if isinstance(exc, err.error_type):
                return None
            if err.error_on == ModuleErrorEnum.CONSTRUCTION_ERROR:
                return ("exc_class", f"construct: {type(exc).__name__} (PyTorch "
                        f"{err.error_type.__name__}): {str(exc)[:120]}")
            return ("dg_construct", f"{type(exc).__name__}: {str(exc)[:120]}")
        if err.error_on == ModuleErrorEnum.CONSTRUCTION_ERROR:
            return ("silent", f"constructed (PyTorch {err.error_type.__name__}: "
                    f"{err.error_regex[:100]})")
        fi = mi.forward_input
        memo = {}
        try:
            m_d(*to_dg(tuple(fi.args), memo), **to_dg(dict(fi.kwargs), memo))
        except Exception as exc:  # noqa: BLE001
            if isinstance(exc, err.error_type):
                return None
            return ("exc_class", f"forward: {type(exc).__name__} (PyTorch "
                    f"{err.error_type.__name__}): {str(exc)[:120]}")
    return ("silent", f"forward ran (PyTorch {err.error_type.__name__}: {err.error_regex[:100]})")


def _build_dg_as_given(info, mi):
    """The module as the error input constructs it: no cast (NLLLoss's error input gives a
    float16 weight on purpose)."""
    memo = {}
    cls = getattr(dg.nn, module_name(info))
    return cls(*to_dg(mi.constructor_input.args, memo), **to_dg(mi.constructor_input.kwargs, memo))


# --------------------------------------------------------------------------- sweeps


def module_inputs(info, dtype, training, requires_grad=True):
    return list(info.module_inputs_func(info, device="cpu", dtype=dtype,
                                        requires_grad=requires_grad, training=training))


def sweep_module(info, dtypes=(torch.float32,), modes=(True, False),
                 variants=("plain", "noncontig", "empty_batch", "unbatched"), max_inputs=None,
                 errors=True):
    """Every input of one ModuleInfo, as a list of MDiff."""
    diffs = []
    name = module_name(info)
    if not hasattr(dg.nn, name):
        return [MDiff(name, "-", "-", "-", "missing", "", "no deltagrad class")]
    for dtype in dtypes:
        if dtype not in info.dtypes:
            continue
        for training in modes:
            mode = "train" if training else "eval"
            torch.manual_seed(0)  # (make_tensor draws from the global generator)
            try:
                inputs = module_inputs(info, dtype, training)
            except Exception as exc:  # noqa: BLE001
                diffs.append(MDiff(name, _dtype_name(dtype), mode, "-", "no_inputs", "",
                                   repr(exc)[:160]))
                continue
            if max_inputs is not None:
                inputs = inputs[:max_inputs]
            for mi in inputs:
                for variant in variants:
                    if variant == "empty_batch" and name in EMPTY_BATCH_UNDEFINED:
                        continue
                    if variant in ("empty_batch", "unbatched") and not _has_batch(mi):
                        continue
                    checks = ("state", "repr") if variant == "plain" and training else ()
                    try:
                        res = run_input(info, mi, dtype, training, variant, checks)
                    except Exception as exc:  # noqa: BLE001 - reported, never hidden
                        res = [("harness", f"{type(exc).__name__}: {str(exc)[:160]}")]
                    for kind, detail in res:
                        diffs.append(MDiff(name, _dtype_name(dtype), mode, variant, kind,
                                           mi.desc, detail))
    if errors and info.module_error_inputs_func is not None:
        for dtype in dtypes[:1]:
            torch.manual_seed(0)
            errs = list(info.module_error_inputs_func(info, device="cpu", dtype=dtype,
                                                      requires_grad=False, training=True))
            for err in errs:
                STATS["error"] += 1
                try:
                    res = run_error_input(info, err)
                except Exception as exc:  # noqa: BLE001
                    res = ("harness", f"{type(exc).__name__}: {str(exc)[:160]}")
                if res:
                    diffs.append(MDiff(name, _dtype_name(dtype), "-", "error", res[0],
                                       err.module_error_input.desc, res[1]))
    return diffs


def _has_batch(mi):
    """A zero-size batch makes sense where every tensor forward argument has a batch dim of the
    same size > 0 (and the input is not described as unbatched)."""
    if "no_batch" in mi.desc or "unbatched" in mi.desc:
        return False
    ts = [t for t in _flat((tuple(mi.forward_input.args), tuple(mi.forward_input.kwargs.values())),
                           torch.Tensor, [])]
    if not ts or any(t.dim() < 2 for t in ts):
        return False
    return len({t.shape[0] for t in ts}) == 1 and ts[0].shape[0] > 0
