"""PyTorch's own documentation examples of ``torch.nn`` (modules, functional, init, utils and
its submodules, attention), ``torch.optim`` (optimizers, lr_scheduler, swa_utils),
``torch.distributions`` (distributions, transforms, constraints, kl), ``torch.autograd`` (and
functional, forward_ad, graph, Function), ``torch.func``, ``torch.utils.data`` /
``checkpoint``, ``torch.testing``, ``torch.masked``, ``torch.sparse``,
``torch.signal.windows``, ``torch.random`` and ``nn.Module``'s methods, run differentially:
each ``>>>`` block of the INSTALLED PyTorch's docstrings runs once under PyTorch and once under
deltagrad bound to ``torch`` (s28_DX_docharness.py), with the public names of the documented
module bound as doctest binds a module's globals (``StepLR``, ``prune``, ``default_collate``
used bare), and what each line prints must agree.

One test per documented name (its id: the qualified name). ``KNOWN``: blocks that differ for a
reviewed reason; such an entry must still differ (a fix makes it stale: remove it). ``SKIP``:
blocks whose output no implementation can reproduce (uninitialised memory). ``SLOW``: blocks
costing more than 0.1 s of one core (big 3-d inputs, worker processes): under
``@pytest.mark.soak``. Names bound in these namespaces that are not PyTorch's (the ``uuid``
module torch.utils.checkpoint imports, ``typing`` aliases) are left out.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))

from s28_DX_docharness import block, check_example, targets  # noqa: E402

_MODULES = ("torch.nn", "torch.nn.functional", "torch.nn.init", "torch.nn.utils",
            "torch.nn.utils.rnn", "torch.nn.utils.parametrize", "torch.nn.utils.parametrizations",
            "torch.nn.utils.prune", "torch.nn.utils.stateless", "torch.nn.utils.clip_grad",
            "torch.nn.attention", "torch.nn.attention.bias", "torch.nn.attention.flex_attention",
            "torch.optim", "torch.optim.lr_scheduler", "torch.optim.swa_utils",
            "torch.distributions", "torch.distributions.constraints", "torch.distributions.kl",
            "torch.distributions.transforms", "torch.autograd", "torch.autograd.functional",
            "torch.autograd.forward_ad", "torch.autograd.graph", "torch.func",
            "torch.utils.data", "torch.utils.checkpoint", "torch.testing", "torch.masked",
            "torch.sparse", "torch.signal.windows", "torch.random")

_MASKED_TENSOR = ("MaskedTensor is not implemented (a clear NotImplementedError; "
                  "torch.masked's functions take a dense tensor and mask=)")
_GENERATOR_REPR = ("repr of torch.manual_seed's Generator: PyTorch's <torch._C.Generator "
                   "object at 0x...>, deltagrad's Generator(seed=...) (as DX1's "
                   "Generator.manual_seed entry)")
KNOWN = {
    "torch.func.functionalize": "make_fx (torch.fx.experimental.proxy_tensor) traces no "
                                "function here: NotImplementedError",
    "torch.masked.is_masked_tensor": _MASKED_TENSOR,
    "torch.autograd.functional.jvp": "jvp(..., create_graph=True) of x.exp().sum(dim=1): the "
                                     "same values, but the result's grad_fn is ViewBackward0 "
                                     "(deltagrad's double backward of sum reshapes) where "
                                     "PyTorch's is SqueezeBackward1",
    "torch.distributions.LKJCholesky": "PyTorch's sample() draws row i's Beta with first "
                                       "concentration i - 1/2 (and one Beta more, for row 0) "
                                       "where the onion method's is i / 2: its correlations "
                                       "are not LKJ-distributed for dim >= 3 (dim 4, eta 1, "
                                       "200,000 samples: Var C[2, 0] 0.249, the LKJ's 0.2, "
                                       "deltagrad's 0.199); deltagrad keeps the LKJ",
    "torch.nn.CrossEntropyLoss": _GENERATOR_REPR,
    "torch.nn.LinearCrossEntropyLoss": _GENERATOR_REPR,
}
SKIP = {
    "torch.nn.utils.skip_init": "prints uninitialised memory (PyTorch's garbage; deltagrad's "
                                "zeros)",
}
SLOW = {  # (0.1-11 s of one core each, PyTorch's half included; s28 DX2's run)
    "torch.nn.AvgPool3d", "torch.nn.BatchNorm3d", "torch.nn.CircularPad3d", "torch.nn.Conv3d",
    "torch.nn.ConvTranspose2d", "torch.nn.ConvTranspose3d", "torch.nn.FractionalMaxPool3d",
    "torch.nn.InstanceNorm3d", "torch.nn.LPPool3d", "torch.nn.MaxPool3d",
    "torch.nn.MaxUnpool3d", "torch.nn.ReplicationPad3d", "torch.nn.Transformer",
    "torch.nn.TransformerDecoder", "torch.nn.TransformerDecoderLayer",
    "torch.nn.TransformerEncoder", "torch.nn.TransformerEncoderLayer",
    "torch.nn.functional.conv3d", "torch.nn.functional.conv_transpose3d",
    "torch.nn.functional.fractional_max_pool3d", "torch.func.jacfwd",
    "torch.func.linearize",
    "torch.utils.data.IterableDataset",  # (DataLoaders with 2 and 12 worker processes)
}

_TIME_LIMIT = 30  # seconds a block may take (both libraries) before it fails


def _from_torch(obj) -> bool:
    if inspect.ismodule(obj):
        return obj.__name__.startswith("torch")
    return (getattr(obj, "__module__", None) or "").startswith("torch")


def _own(obj, prefix: str) -> list:
    public = getattr(obj, "__all__", None)
    out = []
    for name, doc in targets(obj, prefix):
        short = name.rsplit(".", 1)[1]
        attr = getattr(obj, short)
        if not _from_torch(attr) or not block(doc):
            continue
        if (public is not None and short not in public
                and (getattr(attr, "__module__", None) or "").startswith("torch.utils._")):
            continue  # (a private helper the module imports: torch.utils._pytree.tree_map)
        out.append((name, doc))
    return out


def _all_targets() -> dict:
    found: dict = {}
    for module_name in _MODULES:
        for name, doc in _own(importlib.import_module(module_name), module_name):
            if doc not in _DOCS:  # (kl's imported distributions: documented above already)
                found[name] = doc
                _DOCS.add(doc)
                MODULE_OF[name] = module_name
    for name, doc in _own(torch.nn.Module, "Module"):
        found.setdefault(name, doc)
    for name, doc in _own(torch.autograd.Function, "torch.autograd.Function"):
        found.setdefault(name, doc)
    # methods documented on a class of their own (not Module's / Function's)
    for owner, method in ((torch.nn.Embedding, "from_pretrained"),
                          (torch.nn.EmbeddingBag, "from_pretrained"),
                          (torch.nn.Transformer, "forward"),
                          (torch.optim.lr_scheduler.CosineAnnealingWarmRestarts, "step")):
        doc = getattr(owner, method).__doc__
        if isinstance(doc, str) and block(doc):
            found[f"{owner.__module__.split('.modules')[0]}.{owner.__name__}.{method}"] = doc
    return found


_DOCS: set = set()
MODULE_OF: dict = {}  # name -> the module whose public names its example uses bare
_TARGETS = _all_targets()


def test_lists_name_documented_examples():
    # every KNOWN / SKIP / SLOW name still has an example (a renamed or removed docstring
    # leaves a stale entry), and the share is the size it was (about 400 blocks)
    stale = (set(KNOWN) | set(SKIP) | SLOW) - set(_TARGETS)
    assert not stale, f"entries without a documented example: {sorted(stale)}"
    assert len(_TARGETS) > 300


def _check(name: str) -> None:
    check_example(name, _TARGETS[name], known=KNOWN, skip=SKIP, time_limit=_TIME_LIMIT,
                  module=MODULE_OF.get(name))


@pytest.mark.parametrize("name", sorted(set(_TARGETS) - SLOW))
def test_documentation_example(name):
    _check(name)


@pytest.mark.soak
@pytest.mark.parametrize("name", sorted(SLOW))
def test_slow_documentation_example(name):
    _check(name)
