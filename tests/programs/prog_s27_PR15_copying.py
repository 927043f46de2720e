"""Copying and object identity as framework code relies on them (PR15, session 27), written
afresh: copy.copy / copy.deepcopy / pickle of tensors (views sharing a base, requires_grad,
grads, attributes set on tensors), of Parameters (class, requires_grad, shared parameters
staying shared), of modules with hooks, buffers and tied weights, of optimizers and
schedulers (state kept, param groups pointing at the new parameters); weak references to
tensors and modules (WeakKeyDictionary caches, WeakValueDictionary registries, finalizers).
Tiny sizes; run by prog_s27_PR15_all.py.
"""

import copy
import gc
import io
import pickle
import weakref

import torch
import torch.nn as nn
import torch.utils.weak
from prog_s25_PR9_harness import printed, put


def section_copy_tensors() -> None:
    with printed("cpt.log"):
        base = torch.arange(6.0).reshape(2, 3)
        view = base[:, 1:]
        pair = copy.deepcopy({"base": base, "view": view})
        pair["base"][0, 1] = 100.0
        print("deepcopy keeps views shared", pair["view"][0, 0].item(), base[0, 1].item())
        print("deepcopy view shape", tuple(pair["view"].shape), pair["view"].is_contiguous())
        shallow = copy.copy(base)
        print("copy.copy same data", shallow.data_ptr() == base.data_ptr(), shallow is base)
        w = torch.ones(3, requires_grad=True)
        (w * 2).sum().backward()
        w2 = copy.deepcopy(w)
        print("deepcopy leaf", w2.requires_grad, w2.is_leaf, w2.grad, w2.grad is w.grad)
        w.note = "tagged"
        print("attribute kept", copy.deepcopy(w).note)
        y = w * 3
        try:
            copy.deepcopy(y)
        except RuntimeError as e:
            print("non-leaf deepcopy RuntimeError", "graph leaves" in str(e))
        blob = pickle.dumps(base)
        back = pickle.loads(blob)
        print("pickle", back.tolist() == base.tolist(), back.dtype, type(back).__name__)
        r = pickle.loads(pickle.dumps(w))
        print("pickle requires_grad", r.requires_grad, r.grad)
        i = pickle.loads(pickle.dumps(torch.tensor([1, 2], dtype=torch.int16)))
        print("pickle int16", i.dtype, i.tolist())
        buf = io.BytesIO()
        torch.save({"a": base, "b": view}, buf)
        buf.seek(0)
        loaded = torch.load(buf)
        loaded["a"][0, 1] = -1.0
        print("save keeps views shared", loaded["b"][0, 0].item())
        put("cpt.base", pair["base"])


def section_copy_parameters() -> None:
    with printed("cpp.log"):
        p = nn.Parameter(torch.randn(2, 2))
        q = copy.deepcopy(p)
        print("deepcopy", isinstance(q, nn.Parameter), q.requires_grad, torch.equal(p, q),
              q.data_ptr() != p.data_ptr())
        f = nn.Parameter(torch.ones(2), requires_grad=False)
        print("frozen", copy.deepcopy(f).requires_grad, pickle.loads(pickle.dumps(f)).requires_grad,
              isinstance(pickle.loads(pickle.dumps(f)), nn.Parameter))
        memo = {}
        a = copy.deepcopy(p, memo)
        b = copy.deepcopy(p, memo)
        print("memo shares", a is b)
        print("repr", repr(nn.Parameter(torch.tensor([1.0, 2.0])))[:30])
        print("data is tensor", isinstance(p.data, nn.Parameter), p.data.requires_grad)
        d = p.detach()
        print("detach", isinstance(d, nn.Parameter), d.requires_grad)
        print("clone", isinstance(p.clone(), nn.Parameter), p.clone().requires_grad,
              p.clone().is_leaf)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(5, 3)
        self.out = nn.Linear(3, 5, bias=False)
        self.out.weight = self.emb.weight  # tied
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        self.seen = []

    def forward(self, idx):
        self.steps += 1
        return self.out(self.emb(idx))


def section_copy_modules() -> None:
    with printed("cpm.log"):
        torch.manual_seed(3)
        net = Net()
        calls = []
        net.register_forward_hook(lambda m, i, o: calls.append(tuple(o.shape)))
        net(torch.tensor([1, 2]))
        clone = copy.deepcopy(net)
        print("tied kept", clone.out.weight is clone.emb.weight,
              clone.out.weight is not net.out.weight)
        print("params", len(list(clone.parameters())), len(list(net.parameters())))
        print("buffer", clone.steps.item(), clone.steps is not net.steps)
        clone(torch.tensor([0]))
        print("hook copied", len(calls), calls[-1])
        print("state keys", list(clone.state_dict()))
        print("hooks dict", len(clone._forward_hooks))
        blob = pickle.dumps(nn.Sequential(nn.Linear(2, 2), nn.ReLU()))
        seq = pickle.loads(blob)
        print("pickled module", seq)
        print("training flag kept", copy.deepcopy(nn.Dropout().eval()).training)
        buf = io.BytesIO()
        torch.save(net.state_dict(), buf)
        buf.seek(0)
        sd = torch.load(buf)
        print("tied in state dict", sd["emb.weight"].data_ptr() == sd["out.weight"].data_ptr())
        put("cpm.steps", clone.steps)


def section_copy_optim() -> None:
    with printed("cpo.log"):
        torch.manual_seed(4)
        model = nn.Linear(3, 1)
        opt = torch.optim.Adam(model.parameters(), lr=0.1)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        x = torch.randn(4, 3)
        for _ in range(3):
            opt.zero_grad()
            model(x).pow(2).mean().backward()
            opt.step()
            sched.step()
        both = copy.deepcopy({"model": model, "opt": opt})
        m2, o2 = both["model"], both["opt"]
        print("group points at copy", o2.param_groups[0]["params"][0] is m2.weight)
        print("state keyed by copy", m2.weight in o2.state, model.weight in o2.state)
        step = o2.state[m2.weight]["step"]
        print("state step", step.item(), type(step).__name__)
        print("lr", o2.param_groups[0]["lr"], opt.param_groups[0]["lr"])
        s2 = copy.deepcopy(sched)
        print("sched", s2.last_epoch, s2.get_last_lr(), s2.optimizer is opt)
        sd = pickle.loads(pickle.dumps(opt.state_dict()))
        print("pickled opt state", sorted(sd), sorted(sd["state"][0]))
        print("sched state", sorted(sched.state_dict()))
        o3 = torch.optim.Adam(m2.parameters(), lr=0.1)
        o3.load_state_dict(opt.state_dict())
        print("loaded lr", o3.param_groups[0]["lr"], o3.state[m2.weight]["step"].item())
        put("cpo.weight", m2.weight)


def section_weakrefs() -> None:
    with printed("wkr.log"):
        t = torch.ones(2)
        r = weakref.ref(t)
        print("alive", r() is t)
        cache = torch.utils.weak.WeakIdKeyDictionary()  # (a WeakKeyDictionary compares by ==)
        cache[t] = "stats"
        print("cache", len(cache), cache.get(t))
        done = []
        weakref.finalize(t, done.append, "finalized")
        del t
        gc.collect()
        print("dead", r() is None, len(cache), done)
        m = nn.Linear(2, 2)
        registry = weakref.WeakValueDictionary()
        registry["head"] = m
        mr = weakref.ref(m)
        print("module ref", mr() is m, list(registry))
        del m
        gc.collect()
        print("module gone", mr() is None, list(registry))
        p = nn.Parameter(torch.zeros(1))
        ws = weakref.WeakSet([p])
        print("weakset param", p in ws, len(ws))
        prox = weakref.proxy(torch.arange(3.0) + 0)
        gc.collect()
        try:
            prox.sum()
            print("proxy alive")
        except ReferenceError:
            print("proxy ReferenceError")
        keep = torch.arange(3.0)
        px = weakref.proxy(keep)
        print("proxy sum", px.sum().item())
        print("hash stable", hash(keep) == hash(keep), keep.__hash__ is not None,
              hash(keep) != hash(keep + 0))


class Stateful(nn.Module):
    """A module that keeps a non-picklable cache and drops it from its pickled state."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.cache = {"fn": lambda v: v}
        self.register_buffer("count", torch.tensor(3))

    def __getstate__(self):
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__
        state = dict(state)
        state["cache"] = None
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self.cache = {"restored": True}


def section_module_pickle() -> None:
    with printed("mpk.log"):
        torch.manual_seed(6)
        m = Stateful()
        back = pickle.loads(pickle.dumps(m))
        print("restored", back.cache, back.count.item(), torch.equal(back.lin.weight, m.lin.weight))
        print("params", [n for n, _ in back.named_parameters()], back.training)
        buf = io.BytesIO()
        torch.save(m, buf)
        buf.seek(0)
        whole = torch.load(buf, weights_only=False)
        print("torch.save module", type(whole).__name__, whole.cache)
        buf.seek(0)
        try:
            torch.load(buf, weights_only=True)
        except pickle.UnpicklingError as e:
            print("weights_only UnpicklingError", "Weights only load failed" in str(e))
        m.register_forward_hook(lambda *a: None)
        try:
            pickle.dumps(m)
        except (AttributeError, pickle.PicklingError, TypeError) as e:
            print("hook lambda", type(e).__name__)
        sd = m.state_dict()
        print("state dict type", type(sd).__name__, list(sd), hasattr(sd, "_metadata"))
        kv = m.state_dict(keep_vars=True)
        print("keep_vars", kv["lin.weight"].requires_grad, sd["lin.weight"].requires_grad)
        sd2 = copy.deepcopy(sd)
        print("deepcopied metadata", hasattr(sd2, "_metadata"), sd2._metadata["lin"])


SECTIONS = {"module_pickle": section_module_pickle, "copy_tensors": section_copy_tensors,
            "copy_parameters": section_copy_parameters,
            "copy_modules": section_copy_modules, "copy_optim": section_copy_optim,
            "weakrefs": section_weakrefs}
