"""A/B of two deltagrad revisions: the working tree against ``--base``, in one process.

A speed change is measured best against the code before it, side by side: both run in one
process, in alternation with each other and with the workload's NumPy floor (``common.alternate``),
and the result is the median of the per-round ratios, which cancels most of this shared
machine's drift. The base revision's ``src/deltagrad`` is taken with ``git archive`` into a
temporary folder and imported under another name, ``deltagrad_base`` (its ``ner`` package, which
imports deltagrad by name, is left out; the engine, ``nn`` and ``optim`` import relatively).

    python benchmarks/ab.py --base 7a27ec7 --workload w1-sparse [--threads 1] [--rounds 20] [--cpu]
    python benchmarks/ab.py --base HEAD~3 --workload w2
    python benchmarks/ab.py --base /tmp/snapshot/src --workload w2
    python benchmarks/ab.py --base HEAD --workload ops --ops layer_norm,softmax --cpu

``--base`` may also be a folder holding a ``deltagrad`` package (a copy of ``src``): with several
people editing the tree at once, a snapshot of the tree with only one's own files put back is
the base that isolates one's own change. ``--self-check`` times the working tree against a copy
of itself: new/base should read 1.00 within its min-max (session 18: it read 1.09-1.11 on W2
while the base's import armed the working tree's ``__torch_function__`` dispatch; ``load_base``).

Workloads: ``w1-sparse`` / ``w1-dense`` (the W1 step, 25 steps a block by default), ``w2`` (the
W2 chain, 20 repeats a block) and ``w3`` (the W3 step, 2 a block), each beside its NumPy floor;
``w2-model`` (10 a block), ``w4`` (3), ``w5`` (2), ``w6`` (5: the small CNN step) and
``w7`` (5: DataLoader epochs), ``w8-gpt``, ``w8-dcgan``, ``w8-vae``, ``w8-gcn``,
``w8-seq2seq``, ``w8-cnn`` (5: one W8 model's step each), each beside PyTorch (the new workloads of
issue 18 have no NumPy floor), and ``ops`` (one sweep over every mapped op of op_overhead.py,
forward + backward, beside the sweep of the ops' own forward + VJP on arrays; a case that fails
on the base is left out of every variant). Before timing, base and new must give the same first
losses (to 1e-5): an A/B of two different computations means nothing.
"""

from __future__ import annotations

import argparse
import atexit
import builtins
import importlib
import io
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import types
import warnings
from pathlib import Path

import common
import numpy as np
import op_overhead
import w1_ner_epoch as w1
import w2_model as w2m
import w2_overhead as w2
import w3_mlp as w3
import w4_transformer as w4
import w5_lstm as w5
import w6_cnn as w6
import w7_dataloader as w7
import w8_programs as w8

BASE_NAME = "deltagrad_base"
WORKLOADS = ("w1-sparse", "w1-dense", "w2", "w3")  # beside the NumPy floor
# Beside PyTorch (ops: the arrays' sweep).
W8_WORKLOADS = tuple(f"w8-{model}" for model in w8.BUILDERS)  # one W8 model each
MODEL_WORKLOADS = ("w2-model", "w4", "w5", "w6", "w7", *W8_WORKLOADS, "ops")
DEFAULT_STEPS = {"w1-sparse": 25, "w1-dense": 25, "w2": 20, "w3": 2, "w2-model": 10, "w4": 3,
                 "w5": 2, "w6": 5, "w7": 5, "ops": 1,
                 **{name: 5 for name in W8_WORKLOADS}}


def load_base(revision: str):
    """Import ``revision``'s deltagrad package (or the one in the folder ``revision``) as
    ``deltagrad_base``."""
    folder = Path(tempfile.mkdtemp(prefix="deltagrad-ab-"))
    atexit.register(shutil.rmtree, folder, True)
    if (Path(revision) / "deltagrad" / "__init__.py").is_file():
        shutil.copytree(Path(revision) / "deltagrad", folder / "src" / "deltagrad",
                        ignore=shutil.ignore_patterns("__pycache__"))
    else:
        done = subprocess.run(["git", "archive", revision, "src/deltagrad"], cwd=common.REPO,
                              capture_output=True)
        if done.returncode != 0:
            raise SystemExit(f"ab.py: git archive {revision} failed: "
                             f"{done.stderr.decode(errors='replace').strip()}")
        with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
            try:
                archive.extractall(folder, filter="data")
            except TypeError:  # Python before 3.11.4: no filters (the archive is ours)
                archive.extractall(folder)
    package = folder / "src" / "deltagrad"
    shutil.rmtree(package / "ner", ignore_errors=True)
    _rename_module_lookups(package)
    package.rename(folder / BASE_NAME)
    sys.path.insert(0, str(folder))
    for name in [name for name in sys.modules if name.split(".")[0] == BASE_NAME]:
        del sys.modules[name]  # an earlier base, loaded from another folder
    # deltagrad's overrides.py hooks class creation (builtins.__build_class__): a class that
    # defines __torch_function__ and is not its own package's arms its dispatch for good. A copy
    # imported under the hook of another (the working tree's, imported first) armed that one
    # with its Tensor class, and every call of the armed side then looked for
    # __torch_function__ arguments: self against self read 1.09-1.11 on W2 (the side imported
    # first ~10% slower, whichever it was). The copy is imported under Python's own hook.
    hook = builtins.__build_class__
    builtins.__build_class__ = _plain_build_class()
    try:
        return importlib.import_module(BASE_NAME)
    finally:
        builtins.__build_class__ = hook


def _plain_build_class():
    """Python's own ``__build_class__``, under the deltagrad copies' hooks (each keeps the one
    it replaced as ``_BUILD_CLASS``)."""
    build = builtins.__build_class__
    while not isinstance(build, types.BuiltinFunctionType):
        inner = getattr(build, "__globals__", {}).get("_BUILD_CLASS")
        if inner is None:  # another library's hook: not deltagrad's to take away
            break
        build = inner
    return build


def armed(lib) -> bool:
    """Whether ``lib``'s ``__torch_function__`` dispatch is armed for good (False for a
    revision without overrides.py's arming): an A/B of an armed side against an unarmed one
    times the dispatch, not the change."""
    overrides = sys.modules.get(f"{lib.__name__}.overrides")
    state = getattr(overrides, "_ARMED", None)
    return bool(state and state.get("for_good"))


def _rename_module_lookups(package: Path) -> None:
    """Point the base's lookups of its own modules by name (``sys.modules["deltagrad"]``,
    ``sys.modules["deltagrad.nn.functional"]``, ``sys.modules.get(...)``: the layers call
    functionals found at call time) at ``deltagrad_base``: unchanged, they found the working
    tree's modules, and a base layer then called the new engine with its own tensors
    (NotATensorError)."""
    for path in package.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        renamed = text
        for lookup in ('sys.modules["deltagrad', 'sys.modules.get("deltagrad',
                       # (tests of a class's module, which tell the package's own classes from
                       # a user's subclasses: unchanged, a base tensor was a user's subclass
                       # to the base, and each call dispatched through __torch_function__
                       # without end)
                       'startswith("deltagrad', '"__module__", "deltagrad"'):
            # (followed by '"' or '.': the package or one of its modules)
            renamed = renamed.replace(lookup, lookup.replace("deltagrad", BASE_NAME))
        # The namespaces overrides.py finds by name and wraps (unchanged: the working tree's).
        renamed = re.sub(r"_NAMESPACES = \([^)]*\)",
                         lambda found: found[0].replace('"deltagrad', f'"{BASE_NAME}'), renamed)
        if renamed != text:
            path.write_text(renamed, encoding="utf-8")


def make_steps(workload: str, libraries: dict, w1_config=None, w3_config=None,
               **options) -> dict:
    """{name: step function} for each library in ``libraries`` ({name: package}) and the floor.

    Each step function takes the step number (W1 walks its batches with it). ``options`` of the
    model workloads: ``torch`` (the module, or None) and ``config`` (W4's / W5's Config; for
    ``ops`` a list of op names).
    """
    if workload in MODEL_WORKLOADS:
        return _model_steps(workload, libraries, options.get("torch"), options.get("config"))
    if workload.startswith("w1"):
        config = w1_config or w1.Config()
        data, init = w1.make_data(config, 100), w1.make_init(config)
        sparse = workload == "w1-sparse"
        runners = {name: w1.make_deltagrad(config, init, data, sparse=sparse, dg=lib)
                   for name, lib in libraries.items()}
        runners["numpy"] = w1.NumpyTagger(config, init, data, lazy=sparse)
        if not sparse:  # the fastest dense floor too (issue 18: reconcile W1 dense)
            runners["numpy-rows"] = w1.NumpyTagger(config, init, data, lazy=False, rows=True)
        return {name: runner.step for name, runner in runners.items()}
    if workload == "w2":
        values = w2.make_values()
        steps = {name: w2._make_framework(lib.from_numpy, values)
                 for name, lib in libraries.items()}
        steps["numpy"] = w2.make_numpy(np, values)
        return {name: (lambda i, step=step: step()[0]) for name, step in steps.items()}
    config = w3_config or w3.Config()
    init = w3.make_init(config)
    runners = {name: w3.FrameworkMLP(lib, config, init) for name, lib in libraries.items()}
    runners["numpy"] = w3.NumpyMLP(config, init)
    return {name: (lambda i, runner=runner: runner.step()) for name, runner in runners.items()}


def _model_steps(workload: str, libraries: dict, torch, config) -> dict:
    if workload == "ops":
        return _ops_steps(libraries, config)
    if torch is None:
        raise SystemExit(f"ab.py: {workload} is compared with PyTorch, which is not installed")
    libraries = {**libraries, "torch": torch}
    if workload == "w2-model":
        values = w2m.make_values()
        models = {name: w2m.Model(lib, values) for name, lib in libraries.items()}
        return {name: (lambda i, model=model: model.step()) for name, model in models.items()}
    if workload in W8_WORKLOADS:
        model = workload[len("w8-"):]
        reference = w8.Runner(model, torch, None)
        runners = {name: w8.Runner(model, lib, reference.init)
                   for name, lib in libraries.items() if name != "torch"}
        runners["torch"] = reference
        return {name: (lambda i, runner=runner: runner.step()) for name, runner in runners.items()}
    module = {"w4": w4, "w5": w5, "w6": w6, "w7": w7}[workload]
    config = config or module.Config()
    torch.manual_seed(0)
    init = (None if module is w7  # a DataLoader: no model
            else common.parameter_arrays(module.build_model(torch, config)))
    batches = module.make_batches(config)
    runners = {name: module.Runner(name, lib, config, init, batches)
               for name, lib in libraries.items()}
    return {name: (lambda i, runner=runner: runner.step()) for name, runner in runners.items()}


def _ops_steps(libraries: dict, ops=None) -> dict:
    """One step = every case of the mapped ops once, forward + backward, in each library."""
    import deltagrad

    cases = op_overhead.make_cases(ops, max_samples=2)
    sweeps: dict[str, list] = {name: [] for name in [*libraries, "numpy"]}
    with np.errstate(all="ignore"):
        for case in cases:
            spec = op_overhead.MAPPING[case.op]
            steps = op_overhead.build(case, None)  # new deltagrad, checked, and the floors
            if steps is None or "numpy-fwd+vjp" not in steps:
                continue
            probe = op_overhead.library_step(deltagrad, spec, case)[0]()
            value = common.to_numpy(probe)
            gradient = np.random.default_rng(0).standard_normal(value.shape).astype(value.dtype)
            built = {}
            for name, lib in libraries.items():
                step = op_overhead.library_step(lib, spec, case, gradient)[0]
                try:
                    step()
                except Exception:  # an op or call the base does not have yet
                    break
                built[name] = step
            else:
                built["numpy"] = steps["numpy-fwd+vjp"]
                for name, step in built.items():
                    sweeps[name].append((case, step))

    def sweep(steps):
        def run_all(i):
            outs = [step() for _, step in steps]
            if i:
                return 0.0
            # step 0 checks base against new: a checksum of every random-free output's finite
            # entries (samples probe poles on purpose)
            total = 0.0
            for (case, _), out in zip(steps, outs):
                if op_overhead.MAPPING[case.op].check:
                    value = np.asarray(common.to_numpy(out), dtype=np.float64)
                    total += float(value[np.isfinite(value)].sum())
            return total
        return run_all

    steps = {name: sweep(steps) for name, steps in sweeps.items()}
    steps["numpy"] = lambda i, run_all=steps["numpy"]: run_all(1)  # its outputs are not tensors
    return steps


def run(workload: str, base: str, rounds: int = 20, steps: int | None = None,
        threads: int = 1, w1_config=None, w3_config=None, config=None,
        cpu: bool = False) -> dict:
    """Time base, new and the floor (or PyTorch) in alternation; medians and paired ratios.

    ``config`` sets the model workloads' size (W4's / W5's Config; the op names for ``ops``).
    ``cpu`` times the process's CPU time instead of wall time (one thread only).
    """
    if cpu and threads != 1:
        raise ValueError("ab.py: --cpu needs --threads 1 (CPU time would count the worker "
                         "threads' spinning as work)")
    if workload not in WORKLOADS + MODEL_WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}; choose from "
                         f"{', '.join(WORKLOADS + MODEL_WORKLOADS)}")
    common.set_threads(threads)
    import deltagrad

    libraries = {"base": load_base(base), "new": deltagrad}
    options = {}
    if workload in MODEL_WORKLOADS:
        options = {"config": config, "torch": common.import_torch(threads)}
    step_functions = make_steps(workload, libraries, w1_config, w3_config, **options)
    armed_sides = {name: armed(lib) for name, lib in libraries.items()}
    if armed_sides["new"] != armed_sides["base"]:  # (a test process whose classes armed one)
        warnings.warn(f"ab.py: __torch_function__ dispatch armed {armed_sides}: the A/B times "
                      "the dispatch, not the change", RuntimeWarning, stacklevel=2)
    first = {name: float(common.to_numpy(step(0))) for name, step in step_functions.items()}
    common.assert_close("A/B: first loss of new against base", first["new"], first["base"],
                        1e-5, 1e-6)
    steps = steps or DEFAULT_STEPS[workload]
    counter = iter(range(1, 1 << 62))

    def block(step):
        return lambda: [step(next(counter)) for _ in range(steps)]

    # CPU time on a loaded machine: W1 sparse at a load of 8 on 2 cores had an IQR of about
    # 60% in wall time, 5% in CPU time (session 10).
    clock = time.process_time if cpu else time.perf_counter
    times = common.alternate({name: block(step) for name, step in step_functions.items()},
                             rounds, settle=common.settle_seconds(threads), clock=clock)
    reference = "numpy" if "numpy" in times else "torch"
    extra = ({"new/numpy-rows": _paired_ratio(times["new"], times["numpy-rows"])}
             if "numpy-rows" in times else {})
    return {
        "workload": workload, "base": base, "threads": threads, "rounds": rounds,
        "steps": steps, "reference": reference, "clock": "cpu" if cpu else "wall",
        "armed": armed_sides,
        "seconds_per_step": {name: common.summarize([t / steps for t in samples])
                             for name, samples in times.items()},
        "new/base": _paired_ratio(times["new"], times["base"]),
        f"base/{reference}": _paired_ratio(times["base"], times[reference]),
        f"new/{reference}": _paired_ratio(times["new"], times[reference]),
        **extra,
    }


def _paired_ratio(numerator, denominator) -> dict:
    """``common.paired_ratio`` and the per-round ratios' quartiles: the interval a self-check
    should read 1.00 within (min-max on this shared machine spans +-40%)."""
    ratio = common.paired_ratio(numerator, denominator)
    ratios = [a / b for a, b in zip(numerator, denominator, strict=True)]
    if len(ratios) >= 4:
        ratio["q1"], _, ratio["q3"] = statistics.quantiles(ratios, n=4, method="inclusive")
    return ratio


def report(result: dict) -> None:
    print(f"A/B {result['workload']}: working tree (new) against {result['base']} (base), "
          f"{result['threads']} thread(s), {result['rounds']} rounds of {result['steps']} steps"
          f"{', CPU time' if result.get('clock') == 'cpu' else ''}")
    for name, stats in result["seconds_per_step"].items():
        print(f"  {name:10s} {stats['median'] * 1e6:10.1f} us/step  (IQR {stats['iqr_pct']:.0f}%)")
    reference = result.get("reference", "numpy")
    for key in ("new/base", f"base/{reference}", f"new/{reference}", "new/numpy-rows"):
        if key not in result:
            continue
        ratio = result[key]
        quartiles = (f", quartiles {ratio['q1']:.3f}-{ratio['q3']:.3f}" if "q1" in ratio else "")
        print(f"  {key:10s} {ratio['median']:.3f} ({ratio['min']:.3f}-{ratio['max']:.3f}"
              f"{quartiles})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default=None,
                        help="the git revision to compare against, or a folder holding a "
                        "deltagrad package")
    parser.add_argument("--self-check", action="store_true",
                        help="the working tree against a copy of itself: new/base should read "
                        "1.00 within its min-max (the tool's own bias)")
    parser.add_argument("--workload", choices=WORKLOADS + MODEL_WORKLOADS, default="w1-sparse")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--steps", type=int, default=None, help="steps per timed block")
    parser.add_argument("--cpu", action="store_true",
                        help="time CPU, not wall, time (one thread; for a loaded machine)")
    parser.add_argument("--ops", default=None,
                        help="--workload ops: a comma-separated subset of the mapped ops")
    args = parser.parse_args(argv)
    if (args.base is None) == (not args.self_check):
        parser.error("give one of --base and --self-check")
    if args.self_check:
        args.base = str(common.REPO / "src")
    if args.ops and args.workload != "ops":
        parser.error("--ops goes with --workload ops")
    config = args.ops.split(",") if args.ops else None
    report(run(args.workload, args.base, args.rounds, args.steps, args.threads, config=config,
               cpu=args.cpu))
    return 0


if __name__ == "__main__":
    sys.exit(main())
