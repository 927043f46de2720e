"""Session 15 merge findings (lead): what the whole suite found after the helpers' changes."""

import subprocess
import sys
import textwrap

import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _einsum_node_args(lib):
    def f(a, b):
        return lib.einsum("ij,jk->ik", (a, b))  # (opt_einsum's torch backend: one tuple)

    graph = lib.fx.symbolic_trace(f).graph
    (node,) = [n for n in graph.nodes if n.op == "call_function"]
    return [str(a) for a in node.args]


def test_einsum_of_one_tuple_traces_flat_as_pytorch_once_dispatch_is_armed():
    # e3nn's fx-built tensor products failed (opt_einsum_fx's shape pass read (a, b) as one
    # operand) once a class that is no Tensor but defines __torch_function__ had armed the
    # wrappers: run in a fresh process so that the arming is this test's own.
    code = textwrap.dedent("""
        import deltagrad as dg
        import deltagrad.fx  # noqa: F401
        class Foreign:
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                return NotImplemented
        def f(a, b):
            return dg.einsum("ij,jk->ik", (a, b))
        graph = dg.fx.symbolic_trace(f).graph
        (node,) = [n for n in graph.nodes if n.op == "call_function"]
        print([str(a) for a in node.args])
        print(dg.einsum("ij,jk->ik", (dg.ones(2, 3), dg.ones(3, 2))).tolist())
        print(dg.einsum(dg.ones(2, 3), [0, 1], [1]).tolist())  # (the sublist form: untouched)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    args_line, value_line, sublist_line = out.stdout.strip().splitlines()
    assert args_line == str(_einsum_node_args(torch)) == "['ij,jk->ik', 'a', 'b']"
    assert value_line == "[[3.0, 3.0], [3.0, 3.0]]"
    assert sublist_line == str(torch.einsum(torch.ones(2, 3), [0, 1], [1]).tolist())


def test_as_subclass_calls_no_override_after_dispatch_is_armed():
    # (once armed, Tensor.view_as is the look for dispatching arguments: as_subclass used it)
    code = textwrap.dedent("""
        import deltagrad as dg
        class Foreign:
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                return NotImplemented
        seen = []
        class Counted(dg.Tensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                seen.append(getattr(func, "__name__", str(func)))
                return super().__torch_function__(func, types, args, kwargs or {})
        x = dg.ones(2).as_subclass(Counted)
        seen.clear()
        y = x.as_subclass(dg.Tensor)
        print(seen, type(y) is dg.Tensor)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[] True"
    assert dg.ones(2).as_subclass(dg.Tensor).tolist() == [1.0, 1.0]
