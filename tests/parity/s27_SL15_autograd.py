"""Session 27's autograd-API family for the program-level differential fuzzer
(``s17_SL_progfuzz.py``): the semantics of the autograd API itself, past what session 24's
``Gen9`` draws (saved-tensor writes, retain_graph, simple hooks, a few custom Functions). Each
line is compared as every other line is (raised or not and the builtin class; values, dtype,
shape, requires_grad, is_leaf, ``.grad``), and the lines record more in variables: grad_fn
names (``type(t.grad_fn).__name__``), hook call counts and the gradients hooks saw, the
warnings a line gave (their classes), ``is_inference`` / ``is_grad_enabled`` and the
exception class with the key words of its message. What it draws:

- ``torch.autograd.grad`` with ``grad_outputs`` (None, tensors, a list with None, the wrong
  shape / dtype / count), retain_graph, create_graph, allow_unused, materialize_grads,
  is_grads_batched; inputs that are non-leaves, views, unused, duplicated, integer, or do not
  require grad;
- ``backward`` with ``inputs=`` (leaves, non-leaves, a tensor or a list), on non-scalars with and
  without a gradient (wrong shape / dtype), twice with and without retain_graph;
- ``.grad``: accumulation across calls, assigned by hand (right, wrong shape / dtype, a
  non-tensor, on a non-leaf), ``set_to_none``-style resets, read on non-leaves and views (the
  warning), ``retain_grad`` on non-leaves and views and its accumulation;
- hooks: ``register_hook`` returning a replacement / None / a wrong shape or dtype, on leaves,
  non-leaves and views, removed; Node hooks (``grad_fn.register_hook`` /
  ``register_prehook``), ``register_post_accumulate_grad_hook``, their call counts;
- tensor state: requires_grad_ / detach / detach_ / ``.data`` / clone on leaves, non-leaves
  and views (the errors), in-place ops on leaves requiring grad, on views of them, on saved
  tensors (the version error) and after a view is taken;
- grad modes: no_grad / enable_grad / set_grad_enabled / inference_mode nested, as
  decorators and as functions, tensors made under each (requires_grad, is_leaf, grad_fn,
  is_inference) and used after (inference tensors in autograd: the errors);
- ``torch.autograd.Function``: needs_input_grad as seen, save_for_backward of inputs /
  outputs / intermediates, mark_non_differentiable, set_materialize_grads, None gradients, too
  few / too many gradients, wrong gradient shapes, non-tensor arguments.

The earlier families' statements stay in at a low weight. Run as a script::

    .venv/bin/python tests/parity/s27_SL15_autograd.py [--programs N] [--seed S] [--show I]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as base  # noqa: E402
import s27_SL14_operators as sl14  # noqa: E402
from s17_SL_known import own_first  # noqa: E402

torch = base.torch
dg = base.dg

WEIGHTED = ("(lambda t: (t * torch.arange(1, t.numel() + 1, dtype=t.dtype).reshape(t.shape))"
            ".sum())")
# The class of a value's grad_fn by name (None for a leaf).
FN = "(lambda t: None if t.grad_fn is None else type(t.grad_fn).__name__)"
# A line's outcome as data: the builtin exception class, or 'ok'.
W = "__import__('warnings')"


def _catch(body: str, out: str) -> str:
    """``body`` run with its exception class (builtin base) and its warnings' classes stored in
    ``out`` (so a line that raises still goes on and its class is compared as data)."""
    return (f"with {W}.catch_warnings(record=True) as _w:\n"
            f"    {W}.simplefilter('always')\n"
            f"    try:\n"
            f"        {body}\n"
            f"        {out} = ['ok']\n"
            f"    except Exception as e:\n"
            f"        {out} = [[k.__name__ for k in type(e).__mro__ if k.__module__ == "
            f"'builtins'][0]]\n"
            f"    {out} += sorted({{x.category.__name__ for x in _w}})")


FUNCTIONS = {
    # needs_input_grad as backward sees it, and the gradient count
    "needs": (
        "class F(torch.autograd.Function):\n"
        "    @staticmethod\n"
        "    def forward(ctx, x, y, k):\n"
        "        ctx.save_for_backward(x, y)\n"
        "        ctx.k = k\n"
        "        return x * y * k\n"
        "    @staticmethod\n"
        "    def backward(ctx, g):\n"
        "        x, y = ctx.saved_tensors\n"
        "        SEEN.append(list(ctx.needs_input_grad))\n"
        "        return (g * y * ctx.k if ctx.needs_input_grad[0] else None,\n"
        "                g * x * ctx.k if ctx.needs_input_grad[1] else None, None)\n"),
    # the output saved (and used in backward)
    "saveout": (
        "class F(torch.autograd.Function):\n"
        "    @staticmethod\n"
        "    def forward(ctx, x, y, k):\n"
        "        out = x.exp() * k\n"
        "        ctx.save_for_backward(out)\n"
        "        return out\n"
        "    @staticmethod\n"
        "    def backward(ctx, g):\n"
        "        (out,) = ctx.saved_tensors\n"
        "        SEEN.append(len(ctx.saved_tensors))\n"
        "        return g * out, None, None\n"),
    # an intermediate saved
    "savemid": (
        "class F(torch.autograd.Function):\n"
        "    @staticmethod\n"
        "    def forward(ctx, x, y, k):\n"
        "        mid = x.sin()\n"
        "        ctx.save_for_backward(mid, x)\n"
        "        return mid * y\n"
        "    @staticmethod\n"
        "    def backward(ctx, g):\n"
        "        mid, x = ctx.saved_tensors\n"
        "        return g * x.cos() * ctx.saved_tensors[0].detach() * 0 + g * x.cos(), "
        "g * mid, None\n"),
    # too few gradients
    "few": (
        "class F(torch.autograd.Function):\n"
        "    @staticmethod\n"
        "    def forward(ctx, x, y, k):\n"
        "        return x * 2\n"
        "    @staticmethod\n"
        "    def backward(ctx, g):\n"
        "        return g * 2\n"),
    # too many gradients (extra Nones are allowed, extra tensors are not)
    "many": (
        "class F(torch.autograd.Function):\n"
        "    @staticmethod\n"
        "    def forward(ctx, x, y, k):\n"
        "        return x * 2\n"
        "    @staticmethod\n"
        "    def backward(ctx, g):\n"
        "        return g * 2, None, None, EXTRA\n"),
    # a gradient of the wrong shape / dtype / a non-tensor
    "wrong": (
        "class F(torch.autograd.Function):\n"
        "    @staticmethod\n"
        "    def forward(ctx, x, y, k):\n"
        "        return x * 3\n"
        "    @staticmethod\n"
        "    def backward(ctx, g):\n"
        "        return WRONG, None, None\n"),
    # two outputs, one non-differentiable, materialize both ways
    "nondiff": (
        "class F(torch.autograd.Function):\n"
        "    @staticmethod\n"
        "    def forward(ctx, x, y, k):\n"
        "        ctx.set_materialize_grads(MAT)\n"
        "        a = x * 2\n"
        "        b = x * 3\n"
        "        ctx.mark_non_differentiable(b)\n"
        "        return a, b\n"
        "    @staticmethod\n"
        "    def backward(ctx, ga, gb):\n"
        "        SEEN.append([ga is None, gb is None])\n"
        "        return (None if ga is None else ga * 2), None, None\n"),
    # returning an input unchanged (a view / the same tensor)
    "identity": (
        "class F(torch.autograd.Function):\n"
        "    @staticmethod\n"
        "    def forward(ctx, x, y, k):\n"
        "        return x\n"
        "    @staticmethod\n"
        "    def backward(ctx, g):\n"
        "        return g * 5, None, None\n"),
}


class Gen15(sl14.Gen14):
    """Session 17's grammar (and sessions 18-27's families, at a low weight) plus the
    autograd-API families above."""

    def makers(self):
        old = [(maker, weight * 0.01) for maker, weight in super().makers()]
        return old + [(self.grad_api, 12), (self.backward_api, 9), (self.grad_attr, 8),
                      (self.hooks15, 9), (self.node_hooks, 7), (self.tensor_state, 7),
                      (self.inplace15, 8), (self.modes, 9), (self.function15, 9)]

    def _add(self, line) -> bool:
        """A maker's statements (a list) are separate lines, each compared on its own; one that
        raises in PyTorch is kept more often than session 17's one in four (the errors are
        half of what this family checks), and ends the list where it is dropped."""
        if isinstance(line, str):
            return super()._add(line)
        added = False
        for part in line:
            try:
                exec(part, self.ns)
            except Exception:  # noqa: BLE001 - a line that raises is kept now and then
                if not self.coin(0.6):
                    return added
            self.lines.append(part)
            added = True
        return added

    # -- helpers --------------------------------------------------------------------------------
    def fleaf(self, shape=None, dtype=None, grad=True):
        shape = shape if shape is not None else self.pick([(3,), (2, 3), (2, 2), (4,)])
        return self.mat(shape, dtype or self.pick(["float32", "float64"]), grad)

    def mid(self, x):
        """An expression of a non-leaf from ``x``."""
        return self.pick([f"{x} * 2", f"{x}.exp()", f"{x}.sin()", f"{x} + 1", f"{x}.tanh()",
                          f"{x}.pow(2)", f"{x}.sigmoid()", f"{x}.relu()", f"{x}.clone()"])

    def view_of(self, x):
        return self.pick([f"{x}[0]", f"{x}.view(-1)", f"{x}[..., :1]", f"{x}.unsqueeze(0)",
                          f"{x}.t()" if self.coin() else f"{x}[1:]", f"{x}.expand(2, *{x}.shape)",
                          f"{x}.detach()", f"{x}.narrow(0, 0, 1)"])

    def outcome(self, body):
        out = self.fresh()
        return out, _catch(body, out)

    # -- torch.autograd.grad --------------------------------------------------------------------
    def grad_api(self):
        x, lx = self.fleaf()
        parts = [lx]
        b, y, r = self.fresh(), self.fresh(), self.fresh()
        parts.append(f"{b} = {self.mid(x)}")
        scalar = self.coin(0.5)
        parts.append(f"{y} = {WEIGHTED}({b} * {b})" if scalar else f"{y} = {b} * {x}")
        # inputs
        extra = None
        if self.coin(0.25):
            extra, le = self.fleaf((2,), grad=self.coin(0.7))
            parts.append(le)
        choice = self.pick(["x", "x", "b", "xb", "view", "dup", "unused", "int", "nograd",
                            "tuple"])
        if choice == "x":
            inputs = x
        elif choice == "b":
            inputs = b
        elif choice == "xb":
            inputs = f"[{x}, {b}]"
        elif choice == "view":
            v = self.fresh()
            parts.append(f"{v} = {b}.view(-1)[:1]" if self.coin() else f"{v} = {x}[0]")
            inputs = f"[{x}, {v}]"
        elif choice == "dup":
            inputs = f"[{x}, {x}]"
        elif choice == "unused":
            u, lu = self.fleaf((2,))
            parts.append(lu)
            inputs = f"({x}, {u})"
        elif choice == "int":
            inputs = "torch.tensor([1, 2])"
        elif choice == "nograd":
            inputs = f"{x}.detach()"
        else:
            inputs = f"({x},)"
        if extra is not None:
            inputs = f"[{extra}, {inputs}]" if not inputs.startswith(("[", "(")) else \
                f"[{extra}, *{inputs}]"
        kws = []
        go = self.pick(["none", "none", "ones", "tensor", "list", "list_none", "wrong_shape",
                        "wrong_dtype", "two", "scalar_float", "batched"])
        outputs = y
        if go == "ones":
            kws.append(f"grad_outputs=torch.ones_like({y})")
        elif go == "tensor":
            kws.append(f"grad_outputs=torch.full_like({y}, 0.5)")
        elif go == "list":
            kws.append(f"grad_outputs=[torch.ones_like({y}) * 2]")
        elif go == "list_none":
            kws.append("grad_outputs=[None]")
        elif go == "wrong_shape":
            kws.append(f"grad_outputs=torch.ones(5, dtype={y}.dtype)")
        elif go == "wrong_dtype":
            dt = self.pick(['torch.float16', 'torch.int64', 'torch.float64', 'torch.bool'])
            kws.append(f"grad_outputs=torch.ones_like({y}, dtype={dt})")
        elif go == "two":
            outputs = f"[{y}, {b}.sum()]"
            kws.append(self.pick(["grad_outputs=[None, None]", "grad_outputs=[None]",
                                  f"grad_outputs=[torch.ones_like({y}), torch.tensor(2.0, "
                                  f"dtype={b}.dtype)]"]))
        elif go == "scalar_float":
            kws.append("grad_outputs=2.0")
        elif go == "batched":
            kws.append(f"grad_outputs=torch.stack([torch.ones_like({y}), "
                       f"torch.ones_like({y}) * 3])")
            kws.append("is_grads_batched=True")
        for kw, p in (("retain_graph", 0.3), ("create_graph", 0.3), ("allow_unused", 0.35),
                      ("materialize_grads", 0.2), ("only_inputs", 0.05)):
            if self.coin(p):
                kws.append(f"{kw}={self.pick(['True', 'False'])}")
        call = f"torch.autograd.grad({outputs}, {inputs}{', ' if kws else ''}{', '.join(kws)})"
        parts.append(f"{r} = {call}")
        if self.coin(0.5):
            parts.append(f"{self.fresh()} = [None if g is None else [g.requires_grad, {FN}(g)] "
                         f"for g in {r}]")
        if self.coin(0.4):
            parts.append(self.pick([
                f"{self.fresh()} = torch.autograd.grad({y}.sum(), {x})",
                f"{WEIGHTED}({y}).backward()",
                f"{self.fresh()} = torch.autograd.grad({r}[0].sum(), {x}, allow_unused=True)"]))
        parts.append(f"{self.fresh()} = [{x}.grad is None, {FN}({y}), {FN}({b})]")
        return parts

    # -- backward -------------------------------------------------------------------------------
    def backward_api(self):
        x, lx = self.fleaf()
        parts = [lx]
        b, y = self.fresh(), self.fresh()
        parts.append(f"{b} = {self.mid(x)}")
        if self.coin(0.3):
            parts.append(f"{b}.retain_grad()")
        nonscalar = self.coin(0.5)
        parts.append(f"{y} = {b} * {x}" if nonscalar else f"{y} = {WEIGHTED}({b})")
        kws = []
        if nonscalar:
            gr = self.pick(["none", "ones", "wrong_shape", "wrong_dtype", "scalar", "py"])
            kws.append({"none": "", "ones": f"gradient=torch.ones_like({y})",
                        "wrong_shape": f"gradient=torch.ones(7, dtype={y}.dtype)",
                        "wrong_dtype": f"gradient=torch.ones_like({y}, dtype=torch."
                                       f"{self.pick(['float16', 'int64', 'float64'])})",
                        "scalar": f"gradient=torch.tensor(2.0, dtype={y}.dtype)",
                        "py": "gradient=2.0"}[gr])
        elif self.coin(0.2):
            kws.append(self.pick([f"gradient=torch.tensor(3.0, dtype={y}.dtype)",
                                  f"gradient=torch.ones(1, dtype={y}.dtype)"]))
        if self.coin(0.4):
            kws.append("inputs=" + self.pick([x, f"[{x}]", b, f"[{b}]", f"[{x}, {b}]",
                                              f"({x},)", "[]", f"{x}.detach()"]))
        if self.coin(0.4):
            kws.append(f"retain_graph={self.pick(['True', 'False'])}")
        if self.coin(0.15):
            kws.append("create_graph=True")
        kw = ", ".join(k for k in kws if k)
        how = self.pick(["method", "method", "function"])
        if how == "method":
            parts.append(f"{y}.backward({kw})")
        else:
            kw = kw.replace("gradient=", "grad_tensors=")
            parts.append(f"torch.autograd.backward({y}{', ' if kw else ''}{kw})")
        if self.coin(0.5):
            parts.append(self.pick([f"{y}.sum().backward()", f"{y}.backward(torch.ones_like({y}))",
                                    f"({b} * 2).sum().backward()",
                                    f"{b}.sum().backward(inputs=[{x}])"]))
        parts.append(f"{self.fresh()} = [{x}.grad is None, {FN}({b}), {b}.retains_grad]")
        if self.coin(0.3):
            parts.append(f"{self.fresh()} = {x}.grad.requires_grad if {x}.grad is not None "
                         f"else None")
        return parts

    # -- .grad ----------------------------------------------------------------------------------
    def grad_attr(self):
        shape = self.pick([(3,), (2, 3)])
        x, lx = self.fleaf(shape)
        parts = [lx]
        kind = self.pick(["assign", "assign", "accumulate", "read", "reset", "view_retain"])
        if kind == "assign":
            val = self.pick([f"torch.ones_like({x})", f"torch.ones(5, dtype={x}.dtype)",
                             f"torch.ones_like({x}, dtype=torch.float16)",
                             f"torch.ones_like({x}, dtype=torch.int64)",
                             f"torch.ones_like({x}).t()" if len(shape) == 2 else
                             f"torch.ones(1, dtype={x}.dtype)",
                             "3.0", "None", f"{x}", f"{x}.detach() * 2",
                             f"torch.zeros({shape!r}, dtype={x}.dtype).requires_grad_()",
                             f"torch.ones_like({x}, dtype=torch.float64 if {x}.dtype == "
                             f"torch.float32 else torch.float32)"])
            target = self.pick([x, x, f"{x}.detach()", f"({x} * 2)"])
            out, line = self.outcome(f"{target}.grad = {val}")
            parts.append(line)
            parts.append(f"{WEIGHTED}({x}).backward()")
            parts.append(f"{self.fresh()} = [{x}.grad is None, None if {x}.grad is None else "
                         f"{x}.grad.dtype]")
        elif kind == "accumulate":
            n = self.pick([2, 3])
            for _ in range(n):
                parts.append(self.pick([f"{WEIGHTED}({x}).backward()",
                                        f"({x} * {x}).sum().backward()",
                                        f"({x}.exp() * 2).sum().backward(create_graph=True)"]))
            parts.append(f"{self.fresh()} = [{x}.grad.requires_grad, {FN}({x}.grad), "
                         f"{x}.grad.is_contiguous()]")
        elif kind == "read":
            b = self.fresh()
            parts.append(f"{b} = " + self.pick([self.mid(x), self.view_of(x)]))
            if self.coin(0.4):
                parts.append(f"{b}.retain_grad()")
            parts.append(f"{WEIGHTED}({b}).backward()")
            out, line = self.outcome(f"{self.fresh()} = {b}.grad")
            parts.append(line)
        elif kind == "reset":
            parts.append(f"{WEIGHTED}({x}).backward()")
            parts.append(self.pick([f"{x}.grad = None", f"{x}.grad.zero_()",
                                    f"{x}.grad.detach_(); {x}.grad.zero_()",
                                    f"{x}.grad.requires_grad_(False)",
                                    f"{x}.grad *= 0"]))
            parts.append(f"({x} * 3).sum().backward()")
        else:
            v = self.fresh()
            parts.append(f"{v} = {self.pick([f'{x}[0]', f'{x}.view(-1)', f'{x} * 1'])}")
            parts.append(f"{v}.retain_grad()")
            parts.append(f"{WEIGHTED}({v}).backward(retain_graph=True)")
            parts.append(f"{WEIGHTED}({v} * 2).backward()")
            parts.append(f"{self.fresh()} = [{v}.retains_grad, {v}.is_leaf, {FN}({v})]")
        return parts

    # -- tensor hooks ---------------------------------------------------------------------------
    def hooks15(self):
        x, lx = self.fleaf()
        seen, b, y = self.fresh(), self.fresh(), self.fresh()
        parts = [lx, f"{seen} = []", f"{b} = {self.mid(x)}"]
        target = self.pick([x, b, b, "view"])
        if target == "view":
            v = self.fresh()
            parts.append(f"{v} = {b}[0]")
            target = v
        body = self.pick([f"{seen}.append(1)", f"{seen}.append(g.clone())", "g * 2", "None",
                          "g.double()", "g.half()", "g[:1]", "g.sum()", "3.0",
                          "g.detach().requires_grad_()", "torch.zeros_like(g)",
                          "g.expand(2, *g.shape)", "g.t() if g.dim() == 2 else g.flip(0)"])
        h = self.fresh()
        parts.append(f"{h} = {target}.register_hook(lambda g: {body})")
        if self.coin(0.4):
            parts.append(f"{self.fresh()} = {target}.register_hook(lambda g: "
                         f"({seen}.append(g.dtype), g * 10)[1])")
        if self.coin(0.25):
            parts.append(f"{h}.remove()")
        if self.coin(0.2):
            parts.append(f"{h}.remove()")  # twice
        parts.append(f"{y} = {WEIGHTED}({b})")
        parts.append(self.pick([f"{y}.backward(retain_graph=True)",
                                f"{self.fresh()} = torch.autograd.grad({y}, {x}, "
                                f"retain_graph=True)"]))
        if self.coin(0.4):
            parts.append(f"{y}.backward()")
        parts.append(f"{self.fresh()} = [len({seen}), {x}.grad is None]")
        return parts

    # -- Node hooks and post-accumulate hooks ---------------------------------------------------
    def node_hooks(self):
        x, lx = self.fleaf()
        seen, b, y = self.fresh(), self.fresh(), self.fresh()
        parts = [lx, f"{seen} = []", f"{b} = {self.mid(x)}"]
        kind = self.pick(["node", "pre", "post", "leaf_node"])
        h = self.fresh()
        if kind == "node":
            body = self.pick([f"{seen}.append([len(gi), len(go)])",
                              "tuple(None if g is None else g * 2 for g in gi)",
                              f"{seen}.append(gi[0] is None)", "None"])
            parts.append(f"{h} = {b}.grad_fn.register_hook(lambda gi, go: {body})")
        elif kind == "pre":
            body = self.pick([f"{seen}.append(len(go))", "(go[0] * 3,)", "None",
                              f"({seen}.append(go[0].shape), None)[1]"])
            parts.append(f"{h} = {b}.grad_fn.register_prehook(lambda go: {body})")
        elif kind == "post":
            body = self.pick([f"{seen}.append(p.grad.clone())",
                              "p.grad.mul_(2)", f"{seen}.append(p is {x})"])
            parts.append(f"{h} = {x}.register_post_accumulate_grad_hook(lambda p: {body})")
        else:
            out, line = self.outcome(f"{h} = {b}.register_post_accumulate_grad_hook("
                                     f"lambda p: None)")
            parts.append(line)
        if self.coin(0.2):
            parts.append(f"{h}.remove()")
        parts.append(f"{y} = {WEIGHTED}({b})")
        parts.append(f"{y}.backward(retain_graph=True)")
        if self.coin(0.4):
            parts.append(f"{y}.backward()")
        parts.append(f"{self.fresh()} = [len({seen}), {FN}({b})]")
        return parts

    # -- requires_grad_ / detach / data / clone -------------------------------------------------
    def tensor_state(self):
        x, lx = self.fleaf(grad=self.coin(0.8))
        parts = [lx]
        b = self.fresh()
        parts.append(f"{b} = " + self.pick([x, self.mid(x), self.view_of(x)]))
        op = self.pick(["requires_grad_()", "requires_grad_(False)", "detach()", "detach_()",
                        "clone()", "data", "requires_grad_(True).clone()",
                        "detach().requires_grad_()", "clone().detach_()",
                        "data.requires_grad_()"])
        c = self.fresh()
        out, line = self.outcome(f"{c} = {b}.{op}")
        parts.append(line)
        if self.coin(0.5):
            parts.append(self.pick([f"{b}.requires_grad = False", f"{b}.requires_grad = True",
                                    f"{x}.requires_grad = False"]) if self.coin(0.5) else
                         f"{self.fresh()} = [{b}.is_leaf, {b}.requires_grad, {FN}({b})]")
        if self.coin(0.5):
            parts.append(f"{self.fresh()} = [{b}._version, {x}._version]")
        if self.coin(0.5):
            parts.append(f"{WEIGHTED}({b} * 2 + {x}).backward()")
        return parts

    # -- in-place ops and the version counter ---------------------------------------------------
    def inplace15(self):
        x, lx = self.fleaf()
        parts = [lx]
        kind = self.pick(["leaf", "leaf_view", "saved", "after_view", "nograd_leaf"])
        write = self.pick(["add_(1)", "mul_(2)", "zero_()", "fill_(0.5)", "exp_()",
                           "clamp_(min=0)", "copy_(torch.ones_like({t}))", "sigmoid_()"])
        if kind == "leaf":
            out, line = self.outcome(f"{x}.{write.format(t=x)}")
            parts.append(line)
        elif kind == "leaf_view":
            v = self.fresh()
            parts.append(f"{v} = {self.view_of(x)}")
            out, line = self.outcome(f"{v}.{write.format(t=v)}")
            parts.append(line)
            parts.append(f"{self.fresh()} = [{v}._version, {x}._version, {FN}({v})]")
        elif kind == "nograd_leaf":
            v = self.fresh()
            parts.append(f"{v} = {self.view_of(x)}")
            parts.append(f"with torch.no_grad(): {v}.{write.format(t=v)}")
            parts.append(f"{self.fresh()} = [{x}._version, {FN}({v}), {v}.requires_grad]")
        else:
            b, c = self.fresh(), self.fresh()
            parts.append(f"{b} = {self.mid(x)}")
            if kind == "after_view":
                v = self.fresh()
                last = f"{b}.t()" if self.coin() else f"{b}[1:]"
                parts.append(f"{v} = {self.pick([f'{b}[0]', f'{b}.view(-1)', last])}")
                out, line = self.outcome(f"{b}.{write.format(t=b)}")
                parts.append(line)
                parts.append(f"{self.fresh()} = [{FN}({v}), {FN}({b}), {v}._version]")
                parts.append(f"{WEIGHTED}({v}).backward()")
            else:
                op = self.pick(["exp()", "sigmoid()", "tanh()", "pow(2)", "sqrt()",
                                f"mul({x})", "sin()", "relu()", "add(1)", "reciprocal()"])
                parts.append(f"{c} = {b}.{op}")
                out, line = self.outcome(f"{b}.{write.format(t=b)}")
                parts.append(line)
                err = self.fresh()
                parts.append(f"try:\n    {WEIGHTED}({c}).backward()\n    {err} = 'ok'\n"
                             f"except RuntimeError as e:\n"
                             f"    {err} = [w for w in str(e).replace(';', ' ').replace(',', "
                             f"' ').split() if w.endswith('Backward0') or w.endswith('Backward1')"
                             f" or w == 'inplace']")
        return parts

    # -- grad modes -----------------------------------------------------------------------------
    def modes(self):
        x, lx = self.fleaf()
        parts = [lx]
        ctx = ["torch.no_grad()", "torch.enable_grad()", "torch.set_grad_enabled(False)",
               "torch.set_grad_enabled(True)", "torch.inference_mode()",
               "torch.inference_mode(False)", "torch.autograd.grad_mode.no_grad()"]
        kind = self.pick(["nest", "nest", "decorator", "function", "inference_use"])
        y, st = self.fresh(), self.fresh()
        make = self.pick([f"{x} * 2", f"{x}.exp()", "torch.ones(2)", f"{x}[0]",
                          f"{x}.view(-1)", "torch.zeros(2, requires_grad=True)",
                          f"{x}.detach()", f"{x}.clone()", "torch.tensor([1.0, 2.0])"])
        if kind == "nest":
            outer, inner = self.pick(ctx), self.pick(ctx)
            parts.append(f"with {outer}:\n    with {inner}:\n        {y} = {make}\n"
                         f"        {st} = [torch.is_grad_enabled(), "
                         f"torch.is_inference_mode_enabled()]\n"
                         f"    {st}.append(torch.is_grad_enabled())")
        elif kind == "decorator":
            dec = self.pick(["torch.no_grad()", "torch.enable_grad()", "torch.inference_mode()",
                             "torch.no_grad", "torch.inference_mode",
                             "torch.set_grad_enabled(False)"])
            f = self.fresh()
            parts.append(f"@{dec}\ndef f{f}(t):\n    return t * 3, torch.is_grad_enabled()")
            wrap = self.pick(["", "with torch.no_grad(): ", "with torch.enable_grad(): "])
            parts.append(f"{wrap}{y}, {st} = f{f}({x})")
        elif kind == "function":
            # (one statement that restores the mode: a mode left off would leak into the
            # next program)
            parts.append(f"try:\n    {st} = [type(torch.set_grad_enabled(False)).__name__, "
                         f"torch.is_grad_enabled()]\n    {y} = {make}\nfinally:\n"
                         f"    torch.set_grad_enabled(True)")
        else:
            with_ = self.pick(["torch.inference_mode()", "torch.no_grad()"])
            parts.append(f"with {with_}: {y} = {x} * 2")
            use = self.pick([f"{x} * {y}", f"{y}.add_(1)", f"{y}.requires_grad_()",
                             f"{y}.clone()", f"{y}.view(-1)", f"torch.cat([{x}, {y}])",
                             f"{y}[0]"])
            out, line = self.outcome(f"{self.fresh()} = {use}")
            parts.append(line)
            if self.coin(0.5):
                out, line = self.outcome(f"{WEIGHTED}({x} * {y}).backward()")
                parts.append(line)
        parts.append(f"{self.fresh()} = [{y}.is_inference() if hasattr({y}, 'is_inference') "
                     f"else None, {FN}({y}) if {y} is not None else None, "
                     f"torch.is_grad_enabled()] if not isinstance({y}, tuple) else None")
        return parts

    # -- torch.autograd.Function ----------------------------------------------------------------
    def function15(self):
        kind = self.pick(sorted(FUNCTIONS))
        shape = self.pick([(3,), (2, 3)])
        src = FUNCTIONS[kind]
        seen = self.fresh()
        src = src.replace("SEEN", seen).replace("MAT", self.pick(["True", "False"]))
        src = src.replace("EXTRA", self.pick(["None", "g", "None"]))
        src = src.replace("WRONG", self.pick(["g.sum()", "g[:1]", "g.double()", "g.half()",
                                              "g.int()", "3.0", "g.unsqueeze(0)",
                                              "g.expand(2, *g.shape)", "(g, g)"]))
        x, lx = self.fleaf(shape, grad=self.coin(0.85))
        yv, ly = self.fleaf(shape[-1:], grad=self.coin(0.5))
        ly = ly.replace("dtype=torch.float32", f"dtype={x}.dtype").replace(
            "dtype=torch.float64", f"dtype={x}.dtype")
        parts = [f"{seen} = []", src.rstrip("\n"), lx, ly]
        k = self.pick(["2.0", "3", "-1.5", "None"])
        out, r = self.fresh(), self.fresh()
        arg = x if self.coin(0.7) else f"{x} * 1"
        parts.append(f"{out} = F.apply({arg}, {yv}, {k})")
        if kind == "nondiff":
            a, b2 = self.fresh(), self.fresh()
            parts.append(f"{a}, {b2} = {out}")
            loss = self.pick([f"{WEIGHTED}({a})", f"{WEIGHTED}({a}) + {b2}.sum()",
                              f"{WEIGHTED}({a} * 1)"])
            parts.append(f"{self.fresh()} = [{b2}.requires_grad, {FN}({a}), {FN}({b2})]")
            parts.append(f"({loss}).backward()")
        else:
            parts.append(f"{self.fresh()} = [{FN}({out}), {out}.is_leaf, {out} is {x}]")
            parts.append(self.pick([f"{WEIGHTED}({out}).backward()",
                                    f"{r} = torch.autograd.grad({WEIGHTED}({out}), [{x}, {yv}], "
                                    f"allow_unused=True)",
                                    f"{WEIGHTED}({out} * {out}).backward()"]))
        parts.append(f"{self.fresh()} = list({seen})")
        return parts


# --------------------------------------------------------------------------------------------
# Reviewed differences this family reaches (on top of sessions 17 to 27's lists)
# --------------------------------------------------------------------------------------------

def _line(lines, failure):
    return lines[failure[0]] if failure[0] < len(lines) else ""


def _node_hook_replaces(lines, failure):
    # grad_fn.register_hook(fn) where fn returns new grad_inputs: deltagrad refuses it
    # (NotImplementedError naming the node) rather than ignore the returned gradients.
    return (failure[1] == "we-raise" and "a node post-hook" in failure[2]
            and "not supported" in failure[2])


def _view_replay_name(lines, failure):
    # A view whose base (or itself) was written in place: PyTorch regenerates its grad_fn as
    # AsStridedBackward0 (its view replay); deltagrad keeps the view's own node (SliceBackward0,
    # ViewBackward0, ...), whose gradient is the same.
    return failure[1] == "silent" and "torch's 'AsStridedBackward0'" in failure[2]


def _double_backward_names(lines, failure):
    # grad_fn names of gradients made with create_graph=True: PyTorch's are its derivative
    # formulas' nodes (SigmoidBackwardBackward0, ...), deltagrad's the ops its rules are written
    # in (MulBackward0, ...); the values and their gradients agree.
    text = failure[2]
    return (failure[1] == "silent" and "Backward" in text.split(" != ", 1)[-1]
            and any("create_graph=True" in line for line in lines[:failure[0] + 1]))


def _freed_unsaved(lines, failure):
    # A second backward through a node that saved nothing (clone, add, a view): PyTorch runs it
    # again; deltagrad frees every node's buffers and refuses (session 17's entry, here for the
    # lines this family draws).
    return failure[1] == "we-raise" and "backward through the graph a second time" in failure[2]


def _no_grad_view(lines, failure):
    # A view taken under no_grad / inference_mode / set_grad_enabled(False) of a tensor that
    # requires grad: PyTorch's reads requires_grad=True (its base's flag; grad_fn None, and a
    # gradient through it reaches nothing), deltagrad's False (a backward through it raises).
    text = failure[2]
    return (failure[1] == "silent" and text.endswith("requires_grad: False != torch's True")
            and any(m in " ".join(lines[:failure[0] + 1]) for m in (
                "no_grad", "inference_mode", "set_grad_enabled(False)")))


def _retained_before_raise(lines, failure):
    # A backward that raises part-way (a freed node): PyTorch has updated the retained .grad of
    # the non-leaves it passed before it raised; deltagrad raises before any of it.
    return (failure[1] == "silent" and ".grad" in failure[2].split(":", 1)[0]
            and any("retain_grad()" in line for line in lines[:failure[0]])
            and sl14._raises_in_torch(lines, failure[0]))


def _inference_inplace(lines, failure):
    # An in-place write into an inference tensor outside inference_mode: both refuse it, but
    # PyTorch's add_ / mul_ / ... have written the values when it raises (its check runs after
    # the kernel); deltagrad's refuses before writing.
    return (failure[1] == "silent" and "catch_warnings" in _line(lines, failure)
            and any(line.startswith("with torch.inference_mode(): ")
                    for line in lines[:failure[0]]))


def _hook_tensor_returned(lines, failure):
    # autograd.grad's result where a leaf's hook returned a tensor requiring grad: PyTorch
    # returns that tensor (requires_grad True); deltagrad a fresh one from its values.
    return (failure[1] == "silent" and failure[2].endswith("requires_grad: False != torch's "
                                                           "True")
            and any(".requires_grad_())" in line and "register_hook(" in line
                    for line in lines[:failure[0]]))


def _inputs_frees_past(lines, failure):
    # backward(inputs=[a non-leaf]): PyTorch frees the nodes behind the input too (a later
    # backward through them raises); deltagrad frees only the nodes it ran.
    return (failure[1] == "permissive" and "graph a second time" in failure[2]
            and any(".backward(" in line and "inputs=" in line for line in lines[:failure[0]]))


KNOWN = [
    (_inference_inplace, "in-place into an inference tensor outside inference_mode: PyTorch "
                         "has written when it raises"),
    (_hook_tensor_returned, "autograd.grad's result from a hook's tensor requiring grad: "
                            "PyTorch returns that tensor"),
    (_inputs_frees_past, "backward(inputs=[non-leaf]) frees the nodes behind it in PyTorch"),
    (_retained_before_raise, "a backward raising part-way: PyTorch's retained .grad already "
                             "updated"),
    (_freed_unsaved, "a second backward through nodes that saved nothing: deltagrad refuses"),
    (_no_grad_view, "a view made under no_grad of a tensor requiring grad: requires_grad "
                    "True in PyTorch (reaching nothing), False here"),
    (_node_hook_replaces, "grad_fn.register_hook returning new gradients: deltagrad raises "
                          "NotImplementedError"),
    (_view_replay_name, "a view's grad_fn after an in-place write: PyTorch's AsStridedBackward0"),
    (_double_backward_names, "grad_fn names of create_graph gradients: formula nodes in "
                             "PyTorch, primitive ops here"),
]

# Failures on the autograd API this family draws, which the earlier families' broad entries
# (another check order, views before requires_grad_, ...) must not cover: only this family's
# entries may.
_OURS = ("autograd.grad(", ".backward(", "register_hook", "register_prehook", "F.apply(",
         "register_post_accumulate_grad_hook", ".grad = ", "grad_mode", "inference_mode",
         "set_grad_enabled", "catch_warnings")


FAMILY = base.Family(Gen15, own_first(KNOWN, sl14.known, _OURS), sl14.wide)
known, compare, program, run = FAMILY.known, FAMILY.compare, FAMILY.program, FAMILY.run


if __name__ == "__main__":
    sys.exit(FAMILY.main())
