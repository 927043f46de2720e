"""Session 29's data-loading and serialization family for the program-level differential fuzzer
(``s17_SL_progfuzz.py``): the semantics of ``torch.utils.data`` and of ``torch.save`` /
``torch.load`` / pickling. Each line is compared as every other line is (raised or not and the
builtin class; every variable's snapshot), and the lines record more in variables through
``_n21`` (a structural reading: containers with their class names, namedtuples with their
fields, tensors themselves with whether they are Parameters, their storage offset and strides,
NumPy arrays by dtype / shape / values) and ``_catch`` outcomes (the builtin exception class
and the warnings' classes). What it draws:

- datasets: TensorDataset (mismatched sizes), Subset (list indices, negative ones),
  ConcatDataset (negative indices, past the end, cumulative_sizes, iterable members, ``+``),
  StackDataset (positional and keyword, mismatched lengths, ``__getitems__``), ChainDataset and
  IterableDataset (``len``, ``+``), random_split (lengths as ints and as fractions, with a
  seeded Generator, bad sums, empty splits);
- DataLoader over map-style and iterable datasets with batch_size / shuffle (a seeded
  Generator or the default stream after ``manual_seed``) / drop_last / sampler / batch_sampler /
  collate_fn, ``len(loader)``, two passes, invalid option combinations (where they raise: at
  construction or at iteration);
- samplers: Sequential, Random (replacement, num_samples, generator), SubsetRandom,
  WeightedRandom (replacement, bad weights), BatchSampler (drop_last, bad sizes);
- default_collate of nested dicts, tuples, namedtuples, lists, NumPy arrays and scalars,
  numbers, bools, strings (and what it refuses), default_convert;
- round trips through ``io.BytesIO``: tensors of every dtype, views sharing a storage (do the
  loaded views share? storage offsets and strides), Parameters (class and requires_grad kept),
  tensors with a ``.grad``, nested containers, OrderedDicts, modules' and optimizers' state
  dicts, whole modules, ``weights_only`` with allowed and refused objects (``safe_globals``),
  ``map_location`` forms; files written by PyTorch itself read by the library under test;
- ``pickle`` and ``copy.deepcopy`` of tensors, views, Parameters and modules.

Run as a script::

    .venv/bin/python tests/parity/s29_SL21_data_io.py [--programs N] [--seed S] [--show I]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as base  # noqa: E402
import s27_SL14_operators as sl14  # noqa: E402
import s28_SL19_optim as sl19  # noqa: E402
from s17_SL_known import own_first  # noqa: E402

torch = base.torch
dg = base.dg

# Helpers defined once per program (their globals are the program's namespace, so ``torch`` is
# the library under test): a structural reading, a round trip through a BytesIO, a file written
# by PyTorch itself and read back, a pickle round trip, and a write-through sharing probe.
HELPERS = (
    "def _n21(v):\n"
    "    if isinstance(v, dict):\n"
    "        return [type(v).__name__] + [[_n21(k), _n21(x)] for k, x in v.items()]\n"
    "    if isinstance(v, tuple) and hasattr(v, '_fields'):\n"
    "        return ['nt', type(v).__name__, list(v._fields)] + [_n21(x) for x in v]\n"
    "    if isinstance(v, (list, tuple)):\n"
    "        return [type(v).__name__] + [_n21(x) for x in v]\n"
    "    if isinstance(v, torch.Tensor):\n"
    "        return ['T', isinstance(v, torch.nn.Parameter), v.numel() and v.storage_offset(),\n"
    "                v.numel() and list(v.stride()), v]\n"
    "    if isinstance(v, __import__('numpy').ndarray):\n"
    "        return ['nd', str(v.dtype), list(v.shape), v.tolist()]\n"
    "    if isinstance(v, __import__('numpy').generic):\n"
    "        return ['np', type(v).__name__, v.item()]\n"
    "    if v is None or isinstance(v, (bool, int, float, str)):\n"
    "        return [type(v).__name__, v]\n"
    "    return type(v).__name__\n"
    "def _rt21(obj, save_kw={}, **kw):\n"
    "    b = __import__('io').BytesIO()\n"
    "    torch.save(obj, b, **save_kw)\n"
    "    b.seek(0)\n"
    "    return torch.load(b, **kw)\n"
    "def _x21(make, save_kw={}, **kw):\n"
    "    T = __import__('torch')\n"
    "    b = __import__('io').BytesIO()\n"
    "    T.save(make(T), b, **save_kw)\n"
    "    b.seek(0)\n"
    "    return torch.load(b, **kw)\n"
    "def _pk21(obj):\n"
    "    p = __import__('pickle')\n"
    "    return p.loads(p.dumps(obj))\n"
    "def _sh21(a, b):\n"
    "    old = b.detach().clone()\n"
    "    with torch.no_grad():\n"
    "        a.add_(1)\n"
    "        r = not torch.equal(b.detach(), old)\n"
    "        a.sub_(1)\n"
    "    return r\n"
    "class It21(torch.utils.data.IterableDataset):\n"
    "    def __init__(self, n, start=0):\n"
    "        self.n, self.start = n, start\n"
    "    def __iter__(self):\n"
    "        return iter(range(self.start, self.start + self.n))\n"
    "class Sized21(It21):\n"
    "    def __len__(self):\n"
    "        return self.n\n"
    "Obj21 = __import__('s29_SL21_data_io').Obj21\n"
    "P21 = __import__('collections').namedtuple('P21', 'a b')\n")



class Obj21:
    """A user's class that pickle finds by name (the programs' own classes live in an exec
    namespace, which pickle cannot import)."""

    def __init__(self, v=1):
        self.v = v

    def __eq__(self, other):
        return type(other).__name__ == "Obj21" and other.v == self.v


D = "torch.utils.data."
GEN = "torch.Generator().manual_seed"
VIEWS = ["[1:, ::2]", "[:, 1]", ".t()", "[2]", ".view(-1)[3:7]", ".narrow(1, 1, 2)",
         ".expand(2, 3, 4)", "[0, 0]", ".unsqueeze(0)", ".diagonal()", ".reshape(6, 2)[::3]",
         ".view(torch.int32)", "[1:].view(torch.uint8)"]
DTYPES = ["float32", "float64", "float16", "bfloat16", "int8", "uint8", "int16", "int32",
          "int64", "bool", "complex64", "complex128"]


W = "__import__('warnings')"


def _catch(body: str, out: str) -> str:
    """``body`` run with its outcome stored in ``out``: 'ok' or the first class of the
    exception's MRO that is a builtin or pickle's (PicklingError, UnpicklingError: what
    ``except pickle.PicklingError`` catches), and the warnings' classes."""
    return (f"with {W}.catch_warnings(record=True) as _w:\n"
            f"    {W}.simplefilter('always')\n"
            f"    try:\n"
            f"        {body}\n"
            f"        {out} = ['ok']\n"
            f"    except Exception as e:\n"
            f"        {out} = [[k.__name__ for k in type(e).__mro__ if k.__module__ in "
            f"('builtins', '_pickle')][0]]\n"
            f"    {out} += sorted({{x.category.__name__ for x in _w}})")


class Gen21(sl19.Gen19):
    """Session 17's grammar (and sessions 18-28's families, at a low weight) plus the data /
    serialization families above."""

    def makers(self):
        old = [(maker, weight * 0.01) for maker, weight in super().makers()]
        new = [(self.datasets21, 8), (self.split21, 6), (self.loader21, 14),
               (self.invalid21, 6), (self.samplers21, 8), (self.collate21, 8),
               (self.save21, 10), (self.views21, 8), (self.objects21, 8), (self.torchfile21, 8),
               (self.copies21, 6)]
        return old + [(sl19._guarded(maker), weight) for maker, weight in new]

    # -- helpers --------------------------------------------------------------------------------
    def helpers(self, parts):
        if "_n21" not in self.ns:
            exec(HELPERS, self.ns)
            parts.append(HELPERS.rstrip("\n"))

    def out(self, parts, expr, catch=False):
        """``expr``'s reading stored in a fresh variable (its outcome too with ``catch``)."""
        name = self.fresh()
        if catch:
            parts.append(_catch(f"{name} = _n21({expr})", self.fresh()))
        else:
            parts.append(f"{name} = _n21({expr})")
        return name

    def gen(self):
        return f"{GEN}({int(self.rng.integers(0, 20))})"

    def n(self):
        return int(self.rng.integers(1, 7))

    def tensor_ds(self, n):
        x = self.flt((n, 2))
        y = [int(v) for v in self.rng.integers(0, 5, n)]
        return f"{D}TensorDataset(torch.tensor({x}), torch.tensor({y}))"

    def map_ds(self, n):
        """A map-style dataset expression of ``n`` samples of one of several structures."""
        kind = self.pick(["tensor", "tensor", "range", "dicts", "tuples", "nt", "np", "strs",
                          "nested"])
        if kind == "tensor":
            return self.tensor_ds(n)
        if kind == "range":
            return f"list(range({n}))" if self.coin() else f"range({n})"
        if kind == "dicts":
            return (f"[{{'x': torch.tensor([i, i + 0.5]), 'y': i, 's': 'n%d' % i}} "
                    f"for i in range({n})]")
        if kind == "tuples":
            return f"[(torch.full((2,), float(i)), i * 0.5) for i in range({n})]"
        if kind == "nt":
            return f"[P21(torch.tensor([i]), float(i)) for i in range({n})]"
        if kind == "np":
            dt = self.pick(["float32", "float64", "int64", "int32", "uint8", "bool"])
            return (f"[__import__('numpy').arange(3, dtype='{dt}') + i for i in range({n})]"
                    if dt != "bool" else
                    f"[__import__('numpy').array([i % 2 == 0, True]) for i in range({n})]")
        if kind == "strs":
            return f"[('w%d' % i, [i, i + 1]) for i in range({n})]"
        return (f"[{{'a': (torch.tensor(i), [i, {{'b': float(i)}}]), 'c': True}} "
                f"for i in range({n})]")

    # -- datasets -------------------------------------------------------------------------------
    def datasets21(self):
        parts = []
        self.helpers(parts)
        kind = self.pick(["tensor", "subset", "concat", "stack", "chain", "add", "base"])
        d = self.fresh()
        if kind == "tensor":
            n = self.n()
            m = self.pick([n, n, n + 1, 0])
            third = self.pick(["", f", torch.zeros({n})"])
            parts.append(_catch(f"{d} = {D}TensorDataset(torch.arange({n}.), "
                                f"torch.ones({m}, 2){third})", self.fresh()))
            parts.append(_catch(f"{self.fresh()} = [len({d}), _n21({d}[{self.pick([0, -1, n])}]),"
                                f" _n21({d}[{self.pick(['[0, 1]', '1:', 'torch.tensor([0])'])}])]",
                                self.fresh()))
        elif kind == "subset":
            n = self.n()
            idx = [int(v) for v in self.rng.integers(-n, n + 1, int(self.rng.integers(0, 4)))]
            parts.append(f"{d} = {D}Subset({self.map_ds(n)}, {idx})")
            parts.append(_catch(f"{self.fresh()} = [len({d}), _n21({d}[{self.pick([0, -1, 2])}])]",
                                self.fresh()))
            if self.coin(0.4):
                parts.append(_catch(f"{self.fresh()} = _n21({d}[[0, 0]])", self.fresh()))
            if self.coin(0.3):
                parts.append(_catch(f"{self.fresh()} = _n21({d}.__getitems__([0]))",
                                    self.fresh()))
        elif kind == "concat":
            members = [self.pick([f"range({self.n()})", "[]", f"list(range(10, {10 + self.n()}))",
                                  self.tensor_ds(self.n()), "It21(2)"])
                       for _ in range(int(self.rng.integers(0, 4)))]
            parts.append(_catch(f"{d} = {D}ConcatDataset([{', '.join(members)}])", self.fresh()))
            i = self.pick(["0", "-1", "-2", "3", "5", "-7", "2"])
            parts.append(_catch(f"{self.fresh()} = [len({d}), {d}.cumulative_sizes, "
                                f"_n21({d}[{i}])]", self.fresh()))
        elif kind == "stack":
            n = self.n()
            m = self.pick([n, n, n + 1])
            if self.coin():
                args = f"{self.map_ds(n)}, {self.map_ds(m)}"
            else:
                args = f"a={self.map_ds(n)}, b={self.map_ds(m)}"
            if self.coin(0.1):
                args = f"{self.map_ds(n)}, b={self.map_ds(n)}"
            if self.coin(0.05):
                args = ""
            parts.append(_catch(f"{d} = {D}StackDataset({args})", self.fresh()))
            parts.append(_catch(f"{self.fresh()} = [len({d}), _n21({d}[{self.pick([0, -1, 1])}])]",
                                self.fresh()))
            if self.coin(0.4):
                parts.append(_catch(f"{self.fresh()} = _n21({d}.__getitems__([0, 0]))",
                                    self.fresh()))
        elif kind == "chain":
            members = [self.pick(["It21(2)", "It21(3, 5)", "Sized21(2)", "Sized21(0)"])
                       for _ in range(int(self.rng.integers(0, 3)))]
            parts.append(f"{d} = {D}ChainDataset([{', '.join(members)}])")
            parts.append(self.out_line(f"list({d})"))
            parts.append(_catch(f"{self.fresh()} = len({d})", self.fresh()))
        elif kind == "base":
            expr = self.pick([f"{D}Dataset()[0]", f"len({D}Dataset())",
                              f"list({D}IterableDataset())", "len(It21(2))",
                              f"{D}Dataset() + {D}Dataset()", f"len({D}TensorDataset())",
                              f"{D}get_worker_info()", "It21(2)[0]"])
            parts.append(_catch(f"{d} = _n21({expr})", self.fresh()))
        else:
            a = self.pick(["It21(2)", "Sized21(2)", self.tensor_ds(2), f"{D}Subset(range(4), [1])"])
            b = self.pick(["It21(3)", self.tensor_ds(1), "Sized21(1)"])
            parts.append(_catch(f"{d} = {a} + {b}", self.fresh()))
            parts.append(_catch(f"{self.fresh()} = [type({d}).__name__, _n21(list({d}))]",
                                self.fresh()))
        return parts

    def out_line(self, expr):
        return f"{self.fresh()} = _n21({expr})"

    def split21(self):
        parts = []
        self.helpers(parts)
        n = int(self.rng.integers(0, 12))
        lengths = self.pick([
            "[0.5, 0.5]", "[0.3, 0.7]", "[0.1, 0.2, 0.7]", "[1.0]", "[0.5, 0.6]", "[0.25, 0.25]",
            f"[{n // 2}, {n - n // 2}]", f"[{n}, 0]", f"[{n + 1}]", f"[1, {n - 1}]", "[0.0, 1.0]",
            "[0.33, 0.33, 0.34]", "(0.5, 0.5)", f"[{n // 3}, {n // 3}, {n - 2 * (n // 3)}]"])
        gen = self.pick([f", generator={self.gen()}", f", generator={self.gen()}", ""])
        seed = f"torch.manual_seed({int(self.rng.integers(0, 9))}); " if not gen else ""
        src = self.pick([f"range({n})", self.tensor_ds(n) if n else "range(0)"])
        s = self.fresh()
        parts.append(_catch(f"{seed}{s} = {D}random_split({src}, {lengths}{gen})",
                            self.fresh()))
        parts.append(_catch(f"{self.fresh()} = [[len(x), list(x.indices)] for x in {s}]",
                            self.fresh()))
        if seed:  # (the default stream after the split: the same draws consumed)
            parts.append(f"{self.fresh()} = torch.randint(0, 1000, (3,))")
        if self.coin(0.3):
            parts.append(_catch(f"{self.fresh()} = _n21([x[0] for x in {s} if len(x)])",
                                self.fresh()))
        return parts

    # -- loaders --------------------------------------------------------------------------------
    def loader21(self):
        parts = []
        self.helpers(parts)
        iterable = self.coin(0.2)
        n = self.n()
        ds = self.pick([f"It21({n})", f"Sized21({n})"]) if iterable else self.map_ds(n)
        kws = []
        bs = self.pick(["", "batch_size=1", "batch_size=2", "batch_size=3", "batch_size=None"])
        if bs:
            kws.append(bs)
        use_sampler = not iterable and self.coin(0.25)
        use_bsampler = not iterable and not use_sampler and self.coin(0.15)
        seed = ""
        if use_sampler:
            kws.append("sampler=" + self.pick([
                f"{D}SequentialSampler(range({n}))", f"{D}RandomSampler(range({n}), "
                f"generator={self.gen()})", f"list(range({n}))[::-1]",
                f"{D}SubsetRandomSampler(list(range(0, {n}, 2)), generator={self.gen()})",
                f"{D}WeightedRandomSampler([1.0] * {n}, {n}, generator={self.gen()})"]))
            kws = [k for k in kws if k != "batch_size=None"] if self.coin(0.7) else kws
        elif use_bsampler:
            kws = [k for k in kws if not k.startswith("batch_size")]
            kws.append("batch_sampler=" + self.pick([
                f"{D}BatchSampler(range({n}), {self.pick([1, 2, 4])}, "
                f"{self.pick(['False', 'True'])})",
                "[[0], [0, 0]]" if n >= 1 else "[]",
                f"{D}BatchSampler({D}RandomSampler(range({n}), generator={self.gen()}), 2, "
                f"False)"]))
        elif not iterable and self.coin(0.5):
            kws.append(f"shuffle={self.pick(['True', 'True', 'False', 'None'])}")
            if self.coin(0.6):
                kws.append(f"generator={self.gen()}")
            else:
                seed = f"torch.manual_seed({int(self.rng.integers(0, 9))}); "
        if not use_bsampler and self.coin(0.35):
            kws.append(f"drop_last={self.pick(['True', 'False'])}")
        if self.coin(0.2):
            kws.append("collate_fn=" + self.pick(["lambda b: b", "list",
                                                  f"{D}default_convert",
                                                  "lambda b: len(b)"]))
        if self.coin(0.05):
            kws.append("num_workers=0")
        if self.coin(0.05):
            kws.append("pin_memory=True")
        dl = self.fresh()
        parts.append(_catch(f"{seed}{dl} = {D}DataLoader({', '.join([ds] + kws)})", self.fresh()))
        parts.append(_catch(f"{self.fresh()} = len({dl})", self.fresh()))
        parts.append(_catch(f"{self.fresh()} = _n21(list({dl}))", self.fresh()))
        if self.coin(0.3):
            parts.append(_catch(f"{self.fresh()} = _n21(list({dl}))", self.fresh()))
        if seed and self.coin(0.5):  # (the default stream after the passes)
            parts.append(f"{self.fresh()} = torch.randint(0, 1000, (3,))")
        if self.coin(0.3):
            it = self.fresh()
            parts.append(_catch(f"{it} = iter({dl}); {self.fresh()} = [_n21(next({it})), "
                                f"len({it}), torch.utils.data.get_worker_info()]",
                                self.fresh()))
        if self.coin(0.15):
            parts.append(_catch(f"{self.fresh()} = [{dl}.batch_size, {dl}.drop_last, "
                                f"type({dl}.sampler).__name__, "
                                f"type({dl}.batch_sampler).__name__]", self.fresh()))
        return parts

    def invalid21(self):
        parts = []
        self.helpers(parts)
        n = self.n()
        ds = self.tensor_ds(n)
        sam = f"{D}SequentialSampler(range({n}))"
        bsam = f"{D}BatchSampler(range({n}), 2, False)"
        kws = self.pick([
            f"batch_sampler={bsam}, batch_size=2", f"batch_sampler={bsam}, shuffle=True",
            f"batch_sampler={bsam}, sampler={sam}", f"batch_sampler={bsam}, drop_last=True",
            f"batch_sampler={bsam}, batch_size=None", f"shuffle=True, sampler={sam}",
            "batch_size=None, drop_last=True", "num_workers=-1", "timeout=-1", "timeout=1",
            "batch_size=0", "batch_size=-1", "batch_size=2.0", "shuffle=1", "shuffle='yes'",
            "prefetch_factor=2", "persistent_workers=True", f"sampler={sam}, shuffle=False",
            f"batch_sampler={bsam}, batch_size=1", "drop_last=1", "collate_fn=None",
            "sampler=[0, 1, 9]", "batch_size=True", "batch_sampler=[[0, 99]]"])
        iterable = self.coin(0.25)
        if iterable:
            ds = self.pick([f"It21({n})", f"Sized21({n})"])
            kws = self.pick(["shuffle=True", f"sampler={sam}", f"batch_sampler={bsam}",
                             "shuffle=False", "batch_size=2, drop_last=True"])
        dl = self.fresh()
        parts.append(_catch(f"torch.manual_seed(0); {dl} = {D}DataLoader({ds}, {kws})",
                            self.fresh()))
        parts.append(_catch(f"{self.fresh()} = _n21(list({dl}))", self.fresh()))
        if self.coin(0.4):
            parts.append(_catch(f"{self.fresh()} = len({dl})", self.fresh()))
        if self.coin(0.2):
            what = self.pick(["batch_size = 3", "sampler = None", "drop_last = True",
                              "dataset = None", "shuffle = True", "collate_fn = list"])
            parts.append(_catch(f"{dl}.{what}", self.fresh()))
        return parts

    def samplers21(self):
        parts = []
        self.helpers(parts)
        n = self.n()
        kind = self.pick(["seq", "rand", "rand", "subset", "weighted", "weighted", "batch",
                          "dist"])
        s = self.fresh()
        g = f"generator={self.gen()}"
        if kind == "seq":
            expr = f"{D}SequentialSampler({self.pick([f'range({n})', '[]', self.tensor_ds(n)])})"
        elif kind == "rand":
            kws = [f"range({n})"]
            if self.coin(0.4):
                kws.append(f"replacement={self.pick(['True', 'False', '1'])}")
            if self.coin(0.4):
                kws.append(f"num_samples={self.pick(['1', '3', str(2 * n + 1), '0', '-1', '2.0'])}")
            if self.coin(0.8):
                kws.append(g)
            expr = f"{D}RandomSampler({', '.join(kws)})"
            if g not in kws:
                expr = f"torch.manual_seed({int(self.rng.integers(0, 9))}); {s} = {expr}"
                parts.append(_catch(expr, self.fresh()))
                parts.append(_catch(f"{self.fresh()} = [list({s}), list({s}), "
                                    f"torch.randint(0, 1000, (3,))]", self.fresh()))
                expr = None
        elif kind == "subset":
            idx = [int(v) for v in self.rng.integers(0, 10, int(self.rng.integers(0, 5)))]
            pool = self.pick([idx, f"range({n})", f"torch.tensor({idx}, dtype=torch.int64)"])
            expr = f"{D}SubsetRandomSampler({pool}, {g})"
        elif kind == "weighted":
            w = self.pick(["[0.1, 0.9, 0.0]", "[1.0, 1.0, 1.0, 1.0]", "[0.0, 0.0]", "[-1.0, 2.0]",
                           "torch.tensor([0.2, 0.3, 0.5])", "[[1.0, 2.0]]", "[3, 1]",
                           "torch.tensor([1.0, 2.0], dtype=torch.float64)", "[float('nan'), 1.0]"])
            num = self.pick(["1", "2", "5", "0", "3"])
            rep = self.pick(["", ", replacement=False", ", replacement=True", ", replacement=0"])
            expr = f"{D}WeightedRandomSampler({w}, {num}{rep}, {g})"
        elif kind == "dist":
            reps = self.pick([1, 2, 3, 0])
            rank = self.pick([0, 1, 2, -1])
            expr = (f"{D}distributed.DistributedSampler(range({n}), num_replicas={reps}, "
                    f"rank={rank}, shuffle={self.pick(['True', 'False'])}, "
                    f"seed={self.pick([0, 3])}, drop_last={self.pick(['True', 'False'])})")
            if self.coin(0.3):
                parts.append(_catch(f"{s} = {expr}; {s}.set_epoch({self.pick([1, 2])})",
                                    self.fresh()))
                expr = None
        else:
            inner = self.pick([f"range({n})", f"{D}SequentialSampler(range({n}))"])
            expr = (f"{D}BatchSampler({inner}, "
                    f"{self.pick(['1', '2', '3', '0', '2.0', 'None'])}, "
                    f"{self.pick(['False', 'True', '0'])})")
        if expr is not None:
            parts.append(_catch(f"{s} = {expr}", self.fresh()))
        parts.append(_catch(f"{self.fresh()} = [len({s}), list({s})]", self.fresh()))
        if self.coin(0.3):
            parts.append(_catch(f"{self.fresh()} = list({s})", self.fresh()))
        return parts

    def collate21(self):
        parts = []
        self.helpers(parts)
        np_ = "__import__('numpy')"
        batch = self.pick([
            "[{'x': torch.tensor([1.0, 2.0]), 'y': 1}, {'x': torch.tensor([3.0, 4.0]), 'y': 2}]",
            "[(1, 2.5, 'a'), (3, 4.5, 'b')]",
            "[P21(torch.tensor(1), 2.0), P21(torch.tensor(3), 4.0)]",
            f"[{np_}.arange(3), {np_}.arange(3) + 1]",
            f"[{np_}.float32(1.5), {np_}.float32(2.5)]",
            f"[{np_}.int16(1), {np_}.int16(2)]",
            "[True, False]", "[1, 2]", "[1.5, 2]", "['a', 'b']", "[b'a', b'b']",
            "[[1, 2], [3, 4]]", "[[1, 2], [3]]", "[(1, [2.0, {'k': 3}]), (4, [5.0, {'k': 6}])]",
            "[torch.ones(2), torch.ones(3)]", "[torch.ones(2, dtype=torch.int32), torch.zeros(2, "
            "dtype=torch.int32)]", "[None, None]", "[{'a': 1}, {'b': 2}]",
            f"[{np_}.array(['a', 'b']), {np_}.array(['c', 'd'])]",
            "[torch.tensor(1.5), torch.tensor(2.5)]", "[]", "[{'a': [1, 2]}, {'a': [3, 4]}]",
            f"[{np_}.array(1.5), {np_}.array(2.5)]", "[1 + 2j, 3j]",
            "[(torch.ones(1, requires_grad=True),), (torch.zeros(1),)]",
            "[__import__('collections').OrderedDict(z=1, a=2), __import__('collections')"
            ".OrderedDict(z=3, a=4)]", "[range(2), range(2)]", "[Obj21(), Obj21()]",
            "[torch.tensor(1), torch.tensor(2.0)]", "[torch.tensor([1]), [1]]",
            "[torch.ones(2, dtype=torch.float16), torch.ones(2, dtype=torch.bool)]",
            f"[{np_}.arange(2, dtype='int8'), {np_}.ones(2, dtype='float32')]",
            "[(torch.tensor(1), 2), (torch.tensor(2.5), 3)]"])
        fn = self.pick(["default_collate", "default_collate", "default_collate",
                        "default_convert"])
        if fn == "default_convert" and self.coin(0.3):
            batch = f"{batch}[0] if {batch} else 0"
        parts.append(_catch(f"{self.fresh()} = _n21({D}{fn}({batch}))", self.fresh()))
        return parts

    # -- serialization --------------------------------------------------------------------------
    def tensor_lit(self, dtype=None, grad=False):
        dtype = dtype or self.pick(DTYPES)
        shape = self.pick([(), (3,), (2, 3), (0,), (2, 0)])
        if dtype == "bool":
            vals = (self.rng.random(shape) < 0.5).tolist()
            return f"torch.tensor({vals}, dtype=torch.bool)"
        if dtype.startswith(("int", "uint")):
            lo = 0 if dtype == "uint8" else -5
            vals = self.rng.integers(lo, 6, size=shape).tolist()
            return f"torch.tensor({vals}, dtype=torch.{dtype})"
        if dtype.startswith("complex"):
            return (f"torch.complex(torch.tensor({self.flt(shape)}), torch.tensor("
                    f"{self.flt(shape)})).to(torch.{dtype})")
        rg = ", requires_grad=True" if grad else ""
        return f"torch.tensor({self.flt(shape)}, dtype=torch.{dtype}{rg})"

    def load_kw(self):
        kws = []
        if self.coin(0.4):
            kws.append(f"weights_only={self.pick(['True', 'False', 'None'])}")
        if self.coin(0.3):
            kws.append("map_location=" + self.pick([
                "'cpu'", "torch.device('cpu')", "{'cpu': 'cpu'}", "lambda s, loc: s",
                "{'cuda:0': 'cpu'}", "None", "'cpu'", "torch.device('cpu')", "lambda s, loc: s",
                self.pick(["'cuda'", "'cuda:0'", "torch.device('cpu', 0)", "'bogus'"])]))
        if self.coin(0.05):
            kws.append(self.pick(["mmap=True", "pickle_module=__import__('pickle')",
                                  "mmap=False"]))
        return kws

    def save_kw(self):
        # (not pickle_protocol=4: PyTorch's weights-only unpickler refuses its own protocol-4
        # files, UnpicklingError 'Unsupported operand 149'; deltagrad reads them)
        return self.pick(["", "", "",
                          ", _use_new_zipfile_serialization=False",
                          ", pickle_protocol=2"])

    def save21(self):
        parts = []
        self.helpers(parts)
        x = self.fresh()
        kind = self.pick(["tensor", "tensor", "param", "grad", "nonleaf", "container", "ordered",
                          "module_sd", "opt_sd", "scalars", "attrs", "param_grad", "same"])
        if kind == "tensor":
            parts.append(f"{x} = {self.tensor_lit()}")
        elif kind == "param":
            parts.append(f"{x} = torch.nn.Parameter({self.tensor_lit('float32')}, "
                         f"requires_grad={self.pick(['True', 'False'])})")
        elif kind == "grad":
            parts.append(f"{x} = {self.tensor_lit(self.pick(['float32', 'float64']), True)}")
            parts.append(f"({x} * 2).sum().backward()")
        elif kind == "nonleaf":
            y = self.fresh()
            parts.append(f"{y} = {self.tensor_lit('float64', True)}")
            parts.append(f"{x} = {y} * 2")
        elif kind == "container":
            t = self.tensor_lit()
            parts.append(f"{x} = " + self.pick([
                f"[{t}, 1, 2.5, None, True]", f"({t}, )", f"{{1: {t}, (2, 3): [4, 5], 3.5: {{}}}}",
                f"{{0: [{t}], 1: ()}}", f"[[], [{t}, ('s', b'b')]]", "{frozenset([1]): 2}",
                "{1, 2, 3}", "[1 + 2j, complex(0.5, -1)]", "[float('nan'), float('inf')]",
                "[torch.float32, torch.int64]", "[torch.Size([2, 3])]",
                "[torch.device('cpu')]"]))
        elif kind == "ordered":
            parts.append(f"{x} = __import__('collections').OrderedDict([('b', "
                         f"{self.tensor_lit()}), ('a', 2)])")
            if self.coin(0.4):
                parts.append(f"{x}._meta = {{'v': 1}}")
        elif kind == "module_sd":
            mod = self.pick(["torch.nn.Linear(3, 2)", "torch.nn.BatchNorm1d(2)",
                             "torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU())"])
            parts.append(f"torch.manual_seed({int(self.rng.integers(0, 9))}); "
                         f"{x} = {mod}.state_dict({self.pick(['', 'keep_vars=True'])})")
        elif kind == "opt_sd":
            m = self.fresh()
            o = self.fresh()
            parts.append(f"torch.manual_seed(1); {m} = torch.nn.Linear(2, 1).double()")
            parts.append(f"{o} = torch.optim.{self.pick(['SGD', 'Adam'])}({m}.parameters(), "
                         f"lr=0.1{self.pick(['', ', momentum=0.9'])})"
                         .replace("Adam(" + m + ".parameters(), lr=0.1, momentum=0.9",
                                  "Adam(" + m + ".parameters(), lr=0.1"))
            parts.append(f"{m}(torch.ones(3, 2, dtype=torch.float64)).sum().backward(); "
                         f"{o}.step()")
            parts.append(f"{x} = {o}.state_dict()")
        elif kind == "attrs":
            parts.append(f"{x} = {self.tensor_lit('float32')}; {x}.tag = "
                         f"{self.pick(['1', repr('s'), '[1, 2]', 'torch.ones(1)'])}")
        elif kind == "param_grad":
            parts.append(f"{x} = torch.nn.Parameter(torch.ones(2)); ({x} * 3).sum().backward()")
        elif kind == "same":
            t = self.fresh()
            parts.append(f"{t} = {self.tensor_lit('float32')}")
            parts.append(f"{x} = {self.pick([f'[{t}, {t}]', f'{{1: {t}, 2: ({t}, {t})}}'])}")
        else:
            parts.append(f"{x} = " + self.pick(["3", "2.5", "None", "'text'", "b'raw'", "True"]))
        y = self.fresh()
        kws = self.load_kw()
        save = self.save_kw()
        if save:
            # (mmap with a legacy file: PyTorch's RuntimeError 'mmap can only be used with files
            # saved with ...'; deltagrad's format is one: ValueError for any file object)
            kws = [k for k in kws if not k.startswith("mmap")]
            kws.insert(0, f"save_kw=dict({save[2:]})")
        parts.append(_catch(f"{y} = _rt21({', '.join([x] + kws)})", self.fresh()))
        parts.append(_catch(f"{self.fresh()} = _n21({y})", self.fresh()))
        if kind in ("tensor", "param", "grad", "nonleaf", "attrs", "param_grad"):
            parts.append(_catch(f"{self.fresh()} = [type({y}).__name__ == type({x}).__name__, "
                                f"{y}.requires_grad, {y}.is_leaf, {y}.grad is None, "
                                f"{y} is {x}, _n21(getattr({y}, 'tag', None))]", self.fresh()))
        if kind == "same":
            parts.append(_catch(f"{self.fresh()} = [{y}[1] is ({y}[2][0] if isinstance({y}, "
                                f"dict) else {y}[0]), _sh21({y}[1], {y}[-1] if isinstance({y}, "
                                f"list) else {y}[2][1])]", self.fresh()))
        if self.coin(0.05):
            parts.append(_catch(f"{self.fresh()} = torch.load(__import__('io').BytesIO(b''))",
                                self.fresh()))
        if kind == "ordered":
            parts.append(_catch(f"{self.fresh()} = [type({y}).__name__, "
                                f"getattr({y}, '_meta', None)]", self.fresh()))
        if kind == "module_sd":
            parts.append(_catch(f"{self.fresh()} = _n21(getattr({y}, '_metadata', None))",
                                self.fresh()))
        return parts

    def views21(self):
        parts = []
        self.helpers(parts)
        x = self.fresh()
        dt = self.pick(["float32", "float64", "float32"])
        parts.append(f"{x} = torch.arange(12, dtype=torch.{dt}).reshape(3, 4)")
        vs, exprs = [], []
        for _ in range(int(self.rng.integers(1, 3))):
            v = self.fresh()
            exprs.append(x + self.pick(VIEWS))
            parts.append(f"{v} = {exprs[-1]}")
            vs.append(v)
        what = self.pick(["list", "list", "dict", "view_only", "tuple_no_base"])
        obj = {"list": f"[{x}, {', '.join(vs)}]",
               "dict": f"{{'v': {vs[0]}, 'x': {x}}}",
               "view_only": vs[0],
               "tuple_no_base": f"({', '.join(vs)},)"}[what]
        inner = {"list": f"[{x}, {', '.join(exprs)}]",  # (the same, built inside a lambda)
                 "dict": f"{{'v': {exprs[0]}, 'x': {x}}}",
                 "view_only": exprs[0],
                 "tuple_no_base": f"({', '.join(exprs)},)"}[what]
        y = self.fresh()
        how = self.pick(["rt", "rt", "pickle", "deepcopy", "xfile"])
        if how == "rt":
            parts.append(_catch(f"{y} = _rt21({', '.join([obj] + self.load_kw())})",
                                self.fresh()))
        elif how == "pickle":
            parts.append(_catch(f"{y} = _pk21({obj})", self.fresh()))
        elif how == "deepcopy":
            parts.append(_catch(f"{y} = __import__('copy').deepcopy({obj})", self.fresh()))
        else:
            src = inner.replace("torch.", "T.")
            parts.append(_catch(f"{y} = _x21(lambda T: (lambda {x}: {src})(T.arange(12, "
                                f"dtype=T.{dt}).reshape(3, 4)))", self.fresh()))
        parts.append(_catch(f"{self.fresh()} = _n21({y})", self.fresh()))
        if what == "view_only":
            parts.append(_catch(f"{self.fresh()} = [{y}.storage_offset(), list({y}.stride()), "
                                f"{y}.untyped_storage().nbytes(), {y}.is_contiguous()]",
                                self.fresh()))
        elif what in ("list", "tuple_no_base"):
            parts.append(_catch(f"{self.fresh()} = _sh21({y}[0], {y}[-1])", self.fresh()))
            parts.append(_catch(f"{self.fresh()} = [t.untyped_storage().nbytes() for t in {y}]",
                                self.fresh()))
        else:
            parts.append(_catch(f"{self.fresh()} = _sh21({y}['x'], {y}['v'])", self.fresh()))
        return parts

    def objects21(self):
        parts = []
        self.helpers(parts)
        x = self.fresh()
        kind = self.pick(["obj", "module", "np", "npscalar", "slice", "lambda", "param_dict",
                          "dtype", "nested_obj"])
        obj = {"obj": "Obj21(3)",
               "module": "torch.nn.Linear(2, 2)",
               "np": "__import__('numpy').arange(3)",
               "npscalar": "__import__('numpy').float64(1.5)",
               "slice": "[slice(1, 2), Ellipsis]",
               "lambda": "[lambda: 1]",
               "param_dict": "{'p': torch.nn.Parameter(torch.ones(2))}",
               "dtype": "{'d': torch.float16, 'dev': torch.device('cpu')}",
               "nested_obj": "{'o': [Obj21(2)], 't': torch.ones(1)}"}[kind]
        parts.append(f"torch.manual_seed(0); {x} = {obj}")
        y = self.fresh()
        wo = self.pick(["", "weights_only=True", "weights_only=False", "weights_only=True"])
        if kind in ("np", "npscalar") and self.coin(0.7):  # (KNOWN: loaded where refused)
            wo = "weights_only=False"
        body = f"{y} = _rt21({', '.join([x] + ([wo] if wo else []))})"
        if kind in ("obj", "nested_obj") and self.coin(0.5):
            body = (f"with torch.serialization.safe_globals([Obj21]):\n            {body}")
        parts.append(_catch(body, self.fresh()))
        parts.append(_catch(f"{self.fresh()} = _n21({y})", self.fresh()))
        if kind == "module":
            parts.append(_catch(f"{self.fresh()} = [type({y}).__name__, _n21({y}.state_dict())]",
                                self.fresh()))
        if kind in ("obj", "nested_obj"):
            parts.append(_catch(f"{self.fresh()} = {y} == {x}", self.fresh()))
        return parts

    def torchfile21(self):
        """A file written by PyTorch itself, read by the library under test."""
        parts = []
        self.helpers(parts)
        make = self.pick([
            "T.arange(6.).reshape(2, 3)",
            "[T.arange(6.), T.arange(6.)[2:]]",
            "(lambda b: [b, b[1:, ::2], b.t()])(T.arange(12.).reshape(3, 4))",
            "(lambda b: {'v': b[1]})(T.arange(12.).reshape(3, 4))",
            "T.nn.Parameter(T.ones(2))",
            "T.nn.Parameter(T.ones(2), requires_grad=False)",
            "(T.manual_seed(0), T.nn.Linear(3, 2).state_dict())[1]",
            "(T.manual_seed(0), T.nn.BatchNorm1d(2).state_dict())[1]",
            "__import__('collections').OrderedDict(b=T.ones(1, dtype=T.int8), a=3)",
            "[T.ones(2, dtype=T.bfloat16), T.ones(2, dtype=T.float16), T.zeros(1, dtype=T.bool)]",
            "[T.ones(2, dtype=T.complex64), T.ones(2, dtype=T.uint8), T.tensor(3)]",
            "{'a': (1, 2.5, None, 'x', b'y'), 'b': [True, {1, 2}], 'c': T.Size([2])}",
            "[T.float16, T.device('cpu'), slice(1, 2), 1 + 2j]",
            "T.ones(2, 3).t()",
            "T.ones(3, requires_grad=True)",
            "(lambda p: (p.sum().backward(), p)[1])(T.ones(2, requires_grad=True))",
            "T.zeros(0, 3)",
            "T.ones(1).expand(3)",
            "T.ones(4).as_strided((2, 2), (1, 1))",
            "(T.manual_seed(0), T.nn.Linear(2, 1))[1]",
            "(lambda m: (T.optim.SGD(m.parameters(), lr=0.1, momentum=0.9), m)[0].state_dict())"
            "(T.nn.Linear(2, 1))",
        ])
        y = self.fresh()
        kws = [k for k in self.load_kw() if not k.startswith("mmap")]
        if self.coin(0.3):  # (PyTorch's legacy format: one pickle stream, not a zip)
            kws.insert(0, "save_kw=dict(_use_new_zipfile_serialization=False)")
        kws = "".join(", " + k for k in kws)
        parts.append(_catch(f"{y} = _x21(lambda T: {make}{kws})", self.fresh()))
        parts.append(_catch(f"{self.fresh()} = _n21({y})", self.fresh()))
        if self.coin(0.5):
            parts.append(_catch(f"{self.fresh()} = [type(t).__name__ if not isinstance(t, "
                                f"torch.Tensor) else [t.requires_grad, t.grad is None, "
                                f"isinstance(t, torch.nn.Parameter), t.storage_offset(), "
                                f"t.untyped_storage().nbytes()] for t in ({y}.values() if "
                                f"isinstance({y}, dict) else {y} if isinstance({y}, "
                                f"(list, tuple)) else [{y}])]", self.fresh()))
        if self.coin(0.3):
            parts.append(_catch(f"{self.fresh()} = _sh21({y}[0], {y}[-1])", self.fresh()))
        if "state_dict()" in make:
            parts.append(_catch(f"{self.fresh()} = _n21(getattr({y}, '_metadata', None))",
                                self.fresh()))
        return parts

    def copies21(self):
        parts = []
        self.helpers(parts)
        x = self.fresh()
        kind = self.pick(["tensor", "param", "grad", "module", "views", "nonleaf"])
        if kind == "tensor":
            parts.append(f"{x} = {self.tensor_lit()}")
        elif kind == "param":
            parts.append(f"{x} = torch.nn.Parameter(torch.ones(2), requires_grad="
                         f"{self.pick(['True', 'False'])})")
        elif kind == "grad":
            parts.append(f"{x} = torch.ones(2, requires_grad=True); ({x} * 3).sum().backward()")
        elif kind == "module":
            parts.append(f"torch.manual_seed(0); {x} = torch.nn.Linear(2, 2)")
            if self.coin():
                parts.append(f"{x}(torch.ones(1, 2)).sum().backward()")
        elif kind == "nonleaf":
            parts.append(f"{x} = torch.ones(2, requires_grad=True) * 2")
        else:
            parts.append(f"{x} = (lambda b: {{'b': b, 'v': b[1:]}})(torch.arange(4.))")
        y = self.fresh()
        how = self.pick(["pickle", "deepcopy", "copy"])
        fn = {"pickle": "_pk21", "deepcopy": "__import__('copy').deepcopy",
              "copy": "__import__('copy').copy"}[how]
        parts.append(_catch(f"{y} = {fn}({x})", self.fresh()))
        parts.append(_catch(f"{self.fresh()} = _n21({y})", self.fresh()))
        if kind in ("tensor", "param", "grad", "nonleaf"):
            parts.append(_catch(f"{self.fresh()} = [type({y}).__name__ == type({x}).__name__, "
                                f"{y}.requires_grad, {y}.is_leaf, None if {y}.grad is None "
                                f"else {y}.grad.tolist(), {y} is {x}]", self.fresh()))
        elif kind == "module":
            parts.append(_catch(f"{self.fresh()} = [[p.grad is None, p is q] for p, q in "
                                f"zip({y}.parameters(), {x}.parameters())]", self.fresh()))
        else:
            parts.append(_catch(f"{self.fresh()} = _sh21({y}['b'], {y}['v'])", self.fresh()))
        return parts


# --------------------------------------------------------------------------------------------
# Reviewed differences this family reaches (on top of sessions 17 to 28's lists)
# --------------------------------------------------------------------------------------------

def _line(lines, failure):
    return lines[failure[0]] if failure[0] < len(lines) else ""


def _numpy_weights_only(lines, failure):
    # README (serialization): NumPy arrays and scalars load with weights_only=True in
    # deltagrad (they are data in its format); PyTorch's weights-only unpickler refuses them
    # (UnpicklingError). A deliberate difference: deltagrad loads more, never something else.
    line = _line(lines, failure)
    return (failure[1] == "silent" and "bound on one side only" in failure[2]
            and "_rt21(" in line and "weights_only=False" not in line
            and any("__import__('numpy')" in x and "_rt21" not in x for x in lines))


_MAP_DEVICE = ("map_location='cuda", "map_location=torch.device('cpu', 0)",
               "map_location='bogus'")


def _map_location_device(lines, failure):
    # map_location naming an unavailable or unknown device ('cuda', 'bogus') is refused by
    # deltagrad up front (RuntimeError);
    # PyTorch raises only when a storage is restored (an optimizer state dict before any
    # step has none, so it loads). map_location=torch.device('cpu', 0) ('cpu:0'): PyTorch's
    # restore-location table knows only the exact string 'cpu' and raises RuntimeError;
    # deltagrad loads onto the CPU. Neither returns a different value.
    line = _line(lines, failure)
    text = failure[2]
    return (any(m in line for m in _MAP_DEVICE)
            and (failure[1] in ("we-raise", "permissive")
                 or failure[1] == "silent" and ("bound on one side only" in text
                                                or "'RuntimeError' != torch's" in text
                                                or "!= torch's 'RuntimeError'" in text)))


def _expanded_element_write(lines, failure):
    # An element (or row) of an expanded tensor (or of an as_strided one whose elements
    # overlap) is read-only in deltagrad, its mark of memory that elements share
    # (write_checks.refused_write: a difference of its own); PyTorch writes a 0-d element of
    # ``x.expand(3)``, a row of ``x.as_strided((2, 2), (1, 1))``. Here the probe writes into
    # ``t[0]`` of a loaded / copied expanded tensor: deltagrad raises the overlap error.
    line = _line(lines, failure)
    return ("_sh21(" in line and any(".expand(" in x or ".as_strided(" in x for x in lines)
            and (failure[1] == "we-raise" or failure[1] == "silent"
                 and "bound on one side only" in failure[2]))


_OFFSET = re.compile(r"\]\[2\]: \d+ != torch's \d+$")


def _flat_optimizer_state(lines, failure):
    # deltagrad's optimizers keep a group's state (exp_avg, momentum_buffer, ...) in one flat
    # buffer per kind, each parameter's entry a view of it (the fused update's speed): a state
    # tensor's storage_offset (and storage size) differ from PyTorch's separate tensors, before
    # and after a save / load round trip. Values, dtypes, shapes and strides are the same.
    return (failure[1] == "silent" and _OFFSET.search(failure[2]) is not None
            and any("torch.optim." in x for x in lines)
            and any(".state_dict()" in x or ".state[" in x for x in lines))


def _torch_file_object(lines, failure):
    # README / serialization.load: a PyTorch file holding a pickled object that its unpickler
    # would import and call (a whole nn.Module) is refused by deltagrad even with
    # weights_only=False (UnpicklingError): it never runs code from a PyTorch file.
    line = _line(lines, failure)
    return ("_x21(" in line and "T.nn.Linear(2, 1))[1]" in line
            and (failure[1] == "silent" and "bound on one side only" in failure[2]
                 or failure[1] == "we-raise"))


def _dtype_view_layout(lines, failure):
    # A view that reinterprets its memory as another dtype (``x[1:].view(torch.uint8)``),
    # saved or pickled without a tensor of its storage's dtype: deltagrad writes it as a
    # contiguous copy of its own (storage offset 0, its own bytes); PyTorch writes the storage
    # typed as the view and keeps the offset; two such views of one storage do not share
    # once loaded. Values, dtype and shape are the same. (With a
    # tensor of the storage's dtype beside it, both raise PyTorch's "view the same data as
    # different types" error.)
    text = failure[2]
    return (failure[1] == "silent" and ".values" not in text and "!= torch's" in text
            and "bound on one side" not in text
            and any(".view(torch." in x for x in lines[:failure[0]]))


KNOWN = [
    (_dtype_view_layout, "a dtype-reinterpreting view is saved / pickled as its own copy"),
    (_expanded_element_write, "an element of an expanded tensor is read-only"),
    (_torch_file_object, "a pickled Module in a PyTorch file is refused (no code is run)"),
    (_numpy_weights_only, "NumPy arrays load with weights_only=True (README: deliberate)"),
    (_map_location_device, "map_location devices: refused up front / 'cpu:0' accepted"),
    (_flat_optimizer_state, "optimizer state in flat per-group buffers: storage offsets"),
]

_OURS = ("torch.utils.data", "_n21", "_rt21", "_x21", "_pk21", "_sh21", "deepcopy")


FAMILY = base.Family(Gen21, own_first(KNOWN, sl19.known, _OURS), sl14.wide)
known, compare, program, run = FAMILY.known, FAMILY.compare, FAMILY.program, FAMILY.run


if __name__ == "__main__":
    sys.exit(FAMILY.main())
