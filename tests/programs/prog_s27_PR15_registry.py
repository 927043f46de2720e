"""Module registries as framework glue walks and edits them (PR15, session 27), written afresh:
named_modules with memo / prefix / remove_duplicate, named_parameters of shared weights,
register_module / add_module and their errors, get_submodule / set_submodule /
get_parameter / get_buffer, the order of _modules, ``__setattr__`` of Parameters vs tensors vs
modules (and the errors of a mismatched assignment), ``__delattr__``, extra_repr, ``__dir__``;
state-dict hooks and a ``_load_from_state_dict`` override that upgrades an old key, with
strict and assign loading. Tiny sizes; run by prog_s27_PR15_all.py.
"""

import torch
import torch.nn as nn
from prog_s25_PR9_harness import printed, put


def _tree():
    shared = nn.Linear(2, 2)
    return nn.Sequential(nn.Sequential(shared, nn.ReLU()), shared,
                         nn.ModuleDict({"head": nn.Linear(2, 1), "act": nn.Tanh()}))


def section_named_modules() -> None:
    with printed("nmd.log"):
        torch.manual_seed(1)
        net = _tree()
        print("default", [n for n, _ in net.named_modules()])
        print("dups", [n for n, _ in net.named_modules(remove_duplicate=False)])
        print("prefix", [n for n, _ in net.named_modules(prefix="model")][:3])
        memo = set()
        print("memo first", [n for n, _ in net[0].named_modules(memo=memo)])
        print("memo second", [n for n, _ in net.named_modules(memo=memo)])
        print("params", [n for n, _ in net.named_parameters()])
        print("params dup", [n for n, _ in net.named_parameters(remove_duplicate=False)])
        print("children", [n for n, _ in net.named_children()])
        print("no recurse", [n for n, _ in net[2]["head"].named_parameters(recurse=False)])
        print("modules count", len(list(net.modules())), "param count",
              sum(p.numel() for p in net.parameters()))
        print("buffers prefix", [n for n, _ in nn.BatchNorm1d(2).named_buffers(prefix="bn")])


def section_submodules() -> None:
    with printed("smd.log"):
        torch.manual_seed(2)
        net = _tree()
        print("get", type(net.get_submodule("2.head")).__name__,
              net.get_submodule("") is net)
        print("get_parameter", tuple(net.get_parameter("2.head.weight").shape))
        for bad in ("3", "2.nope", "0.0.weight"):
            try:
                net.get_submodule(bad)
            except AttributeError as e:
                print("get_submodule AttributeError", bad, str(e).split(" has no")[0][:40])
        try:
            net.get_parameter("2.head.nope")
        except AttributeError as e:
            print("get_parameter AttributeError", "nope" in str(e))
        bn = nn.Sequential(nn.BatchNorm1d(3))
        print("get_buffer", bn.get_buffer("0.running_mean").tolist())
        net.set_submodule("2.act", nn.Sigmoid())
        print("set", type(net[2]["act"]).__name__)
        try:
            net.set_submodule("2.missing.x", nn.ReLU())
        except AttributeError as e:
            print("set_submodule AttributeError", "missing" in str(e))
        net.register_module("extra", nn.Identity())
        net.add_module("more", None)
        print("keys", list(net._modules), net.more)
        for name, bad in (("a.b", nn.ReLU()), ("", nn.ReLU()), (3, nn.ReLU()),
                          ("x", torch.ones(1))):
            try:
                net.add_module(name, bad)
            except (KeyError, TypeError) as e:
                print("add_module", type(e).__name__, repr(name))
        try:
            net.add_module("0", nn.ReLU())
            print("replaced 0", type(net[0]).__name__)
        except KeyError as e:
            print("add_module existing KeyError", e)
        try:
            net.add_module("training", nn.ReLU())
        except KeyError as e:
            print("add_module attribute KeyError", "attribute" in str(e))
        print("ordering", list(net._modules)[-3:])
        del net.extra
        print("after del", list(net._modules)[-2:], hasattr(net, "extra"))


class Holder(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(2))
        self.register_buffer("b", torch.zeros(2))
        self.sub = nn.Linear(2, 2)
        self.plain = torch.ones(1)
        self.size = 3

    def extra_repr(self):
        return f"size={self.size}"


def section_setattr() -> None:
    with printed("sat.log"):
        torch.manual_seed(3)
        h = Holder()
        print("params", [n for n, _ in h.named_parameters()], "buffers",
              [n for n, _ in h.named_buffers()])
        print("plain not registered", "plain" in h._parameters, "plain" in h._buffers,
              "plain" in h.__dict__)
        try:
            h.w = torch.zeros(2)
        except TypeError as e:
            print("tensor over parameter TypeError", "torch.nn.Parameter or None" in str(e))
        h.w = None
        print("param None", h.w, "w" in h._parameters, list(h.state_dict()))
        h.w = nn.Parameter(torch.full((2,), 5.0))
        print("param back", h.w.tolist())
        h.b = torch.ones(2)
        print("buffer assign stays buffer", "b" in h._buffers, h.b.tolist())
        try:
            h.b = 3
        except TypeError as e:
            print("int over buffer TypeError", "cannot assign" in str(e))
        try:
            h.sub = torch.ones(1)
        except TypeError as e:
            print("tensor over module TypeError", "child module" in str(e))
        h.sub = None
        print("module None", h.sub, "sub" in h._modules)
        h.newp = nn.Parameter(torch.zeros(1))
        print("new param", [n for n, _ in h.named_parameters()])
        del h.newp
        print("deleted", [n for n, _ in h.named_parameters()], hasattr(h, "newp"))
        del h.b
        print("deleted buffer", list(h._buffers))
        try:
            del h.nothing
        except AttributeError:
            print("del missing AttributeError")
        print(h)
        d = dir(h)
        print("dir", "w" in d, "sub" in d, "forward" in d, "_parameters" in d, "plain" in d)
        try:
            h.missing_attribute  # noqa: B018 - the lookup is what is tried
        except AttributeError as e:
            print("getattr message", str(e))
        try:
            nn.Module().register_parameter("p", torch.ones(1))
        except TypeError as e:
            print("register_parameter TypeError", "Parameter or None" in str(e))
        try:
            nn.Module().register_buffer("x.y", torch.ones(1))
        except KeyError as e:
            print("register_buffer KeyError", e)
        try:
            nn.Linear(1, 1).register_buffer("weight", torch.ones(1))
        except KeyError as e:
            print("register_buffer exists KeyError", e)


class OldCompat(nn.Module):
    """Renames a key of old checkpoints when loading ("proj.*" became "fc.*")."""
    _version = 2

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.log = []

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        version = local_metadata.get("version")
        self.log.append((prefix, version))
        if version is None or version < 2:
            for suffix in ("weight", "bias"):
                old = prefix + "proj." + suffix
                if old in state_dict:
                    state_dict[prefix + "fc." + suffix] = state_dict.pop(old)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


def section_state_dict_hooks() -> None:
    with printed("sdh.log"):
        torch.manual_seed(4)
        model = nn.Sequential(OldCompat())
        sd = model.state_dict()
        print("metadata", sd._metadata[""], sd._metadata["0"]["version"])
        old = {"0.proj.weight": torch.eye(2), "0.proj.bias": torch.zeros(2)}
        result = model.load_state_dict(old)
        print("upgraded", result, model[0].log, model[0].fc.weight.tolist())
        print("result fields", result.missing_keys, result.unexpected_keys)
        try:
            model.load_state_dict({"0.fc.weight": torch.eye(2)})
        except RuntimeError as e:
            print("strict RuntimeError", str(e).splitlines()[0])
            print("   ", str(e).splitlines()[1].strip())
        r = model.load_state_dict({"0.fc.weight": torch.eye(2), "junk": torch.ones(1)},
                                  strict=False)
        print("non-strict", r.missing_keys, r.unexpected_keys)
        try:
            model.load_state_dict({"0.fc.weight": torch.ones(3, 2), "0.fc.bias": torch.ones(2)})
        except RuntimeError as e:
            print("shape RuntimeError", "size mismatch for 0.fc.weight" in str(e))
        p_before = model[0].fc.weight
        new = {"0.fc.weight": torch.full((2, 2), 2.0), "0.fc.bias": torch.ones(2)}
        model.load_state_dict(new, assign=True)
        print("assign", model[0].fc.weight is p_before,
              isinstance(model[0].fc.weight, nn.Parameter),
              model[0].fc.weight.requires_grad, model[0].fc.weight.data_ptr() ==
              new["0.fc.weight"].data_ptr())
        model.load_state_dict({"0.fc.weight": torch.zeros(2, 2), "0.fc.bias": torch.zeros(2)})
        print("copy keeps object", model[0].fc.weight.sum().item())
        seen = []

        def post(module, state_dict, prefix, local_metadata):
            state_dict[prefix + "tag"] = torch.tensor(7)

        handle = model[0].register_state_dict_post_hook(post)
        print("post hook", list(model.state_dict()))
        handle.remove()
        print("removed", list(model.state_dict()))
        model.register_load_state_dict_pre_hook(
            lambda module, sd, prefix, *rest: seen.append(("pre", prefix, sorted(sd))))
        model.register_load_state_dict_post_hook(
            lambda module, keys: seen.append(("post", keys.missing_keys)))
        model.load_state_dict({"0.fc.weight": torch.eye(2), "0.fc.bias": torch.ones(2)})
        print("load hooks", seen)
        put("sdh.weight", model[0].fc.weight)


SECTIONS = {"named_modules": section_named_modules, "submodules": section_submodules,
            "setattr": section_setattr, "state_dict_hooks": section_state_dict_hooks}
