"""Short programs, each in a process of its own, for one interpreter start per library (TT1,
session 29).

Tests of process-wide state (a warning PyTorch gives once per process, a switch that stays on
for good) run each case in a fresh ``python -c CODE``: an interpreter start and the library's
import every time (``import torch`` 1.65 CPU s, ``import deltagrad`` 0.38 on this machine).
``run_fresh(prelude, programs)`` starts one interpreter, runs ``prelude`` (the imports each
program makes first), then forks one child per program. Each child starts from the state right
after the prelude, as the fresh process is after those imports: it runs its program as
``__main__`` in a new module (compiled as ``<string>``, ``sys.argv == ['-c']``, as ``python -c``
does), then its atexit functions, and reports its exit status (1 with the traceback on stderr
for an uncaught exception, a SystemExit's code), stdout and stderr. Only what the prelude
itself prints or warns goes to the parent's stderr rather than each program's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

_DRIVER = r'''
import atexit, json, os, sys, tempfile, types
job = json.loads(sys.stdin.read())
exec(compile(job["prelude"], "<string>", "exec"), {"__name__": "__prelude__"})
results = {}
folder = tempfile.mkdtemp(prefix="s29_TT1_forks_")
for name, code in job["programs"].items():
    out, err = os.path.join(folder, "out"), os.path.join(folder, "err")
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
        os.dup2(os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
        main = types.ModuleType("__main__")
        sys.modules["__main__"] = main
        sys.argv = ["-c"]
        status = 0
        try:
            exec(compile(code, "<string>", "exec"), main.__dict__)
        except SystemExit as stop:
            status = stop.code if isinstance(stop.code, int) else (stop.code is not None)
            if not isinstance(stop.code, (int, type(None))):
                print(stop.code, file=sys.stderr)
        except BaseException as error:  # (as the interpreter reports it: this frame left out)
            error = error.with_traceback(error.__traceback__.tb_next)
            sys.excepthook(type(error), error, error.__traceback__)
            status = 1
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(status))
    _, waited = os.waitpid(pid, 0)
    with open(out, errors="replace") as f_out, open(err, errors="replace") as f_err:
        results[name] = [os.waitstatus_to_exitcode(waited), f_out.read(), f_err.read()]
for name in ("out", "err"):
    if os.path.exists(os.path.join(folder, name)):
        os.remove(os.path.join(folder, name))
os.rmdir(folder)
sys.stdout.write("\n" + json.dumps(results) + "\n")
'''


def run_fresh(prelude: str, programs: dict, *, env: dict | None = None, cwd: str | None = None,
              timeout: float = 120) -> dict:
    """``{name: (exit status, stdout, stderr)}`` of each of ``programs`` (``{name: source}``),
    each run in a child forked from one interpreter that ran ``prelude`` first (module
    docstring). ``env`` / ``cwd``: the interpreter's environment and working folder."""
    done = subprocess.run([sys.executable, "-c", _DRIVER], input=json.dumps(
        {"prelude": prelude, "programs": programs}), capture_output=True, text=True, env=env,
        cwd=cwd, timeout=timeout)
    assert done.returncode == 0, f"the forking interpreter failed:\n{done.stderr[-3000:]}"
    return {name: tuple(result) for name, result in
            json.loads(done.stdout.rstrip("\n").rsplit("\n", 1)[-1]).items()}


_STEPS = """
import os
import warnings
import {lib} as t
{setup}
seen = []
for step in ({steps}):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(step)
    seen.append([(w.category.__name__, str(w.message).split(" (Triggered")[0],
                  os.path.basename(w.filename)) for w in caught])
print(repr(seen))
"""


def warning_runs(setup: str, cases: dict, root: str) -> dict:
    """``{library: {case: (exit status, stdout, stderr)}}`` for torch and deltagrad: each
    case's steps (``{case: [statement, ...]}``) run one after another, after ``import LIB as
    t`` and ``setup``, in a process of its own per library (``run_fresh``, forked after the
    import), printing for each step the warnings it gave (category, first sentence, file
    name): for warnings given once per process. ``root``: the repository (its src/ is put
    on PYTHONPATH). Read each run with ``last_line``. (Shared by test_s26_PR12_fixes and
    test_s29_PR21_fixes, session 31.)"""
    env = dict(os.environ, PYTHONPATH=os.path.join(root, "src"), PYTHONDONTWRITEBYTECODE="1",
               OMP_NUM_THREADS="1")
    return {lib: run_fresh(f"import os\nimport {lib}", {
        case: _STEPS.format(lib=lib, setup=setup, steps=", ".join(map(repr, steps)) + ",")
        for case, steps in cases.items()}, env=env, cwd=root) for lib in ("torch", "deltagrad")}


def last_line(run: tuple) -> str:
    """The last line a ``warning_runs`` run printed (its exit status 0, else its stderr)."""
    returncode, stdout, stderr = run
    assert returncode == 0, stderr[-2000:]
    return stdout.strip().splitlines()[-1]
