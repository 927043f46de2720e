"""Run one program under real PyTorch and under deltagrad's torch alias, side by side.

The third-party library tests (test_s8_*.py) each have a program that imports ``torch`` and a
library built on it, computes seeded numbers and writes them to an .npz file. The same program
runs twice, concurrently: ``python PROGRAM OUT.npz ...`` with the real torch and
``python -m deltagrad run PROGRAM OUT.npz ...`` with deltagrad in its place; the tests compare
the two files.

Each side's run is forked from a server process that has already imported its library (the
real ``torch``, or deltagrad with the alias installed): one server per side and ``PYTHONPATH``
in each pytest process, so a test pays for its program's own work and library imports, not
for a fresh interpreter and ``import torch`` every time. The forked child then does what the
fresh command did: the same argv, working folder, environment, ``sys.path`` and exit status
(an uncaught exception exits 1 with its traceback; normal interpreter shutdown, atexit
included). ``DELTAGRAD_TEST_FRESH=1`` runs fresh processes instead;
``DELTAGRAD_TEST_RUN_LOG=PATH`` makes the servers append one JSON line per run to PATH (side,
argv, CPU and wall seconds of the child): where the program tests' time goes. ``run_each``
runs other programs (their own output files, any argv) the same way, and le_harness.py's
library suites fork from the same servers.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIDES = {"torch": [], "deltagrad": ["-m", "deltagrad", "run"]}


def run_both(program: str, folder, *args: str, env: dict | None = None,
             side_args: Callable[[str], list] | None = None, timeout: float = 300) -> tuple:
    """``(torch's arrays, deltagrad's arrays)`` from ``program`` run under each library.

    Each run gets ``folder/<side>.npz`` as its first argument, then ``side_args(side)`` (paths
    of its own), then ``args``; one BLAS thread; extra environment ``env``. A run that fails
    fails the calling test with the end of its stderr.
    """
    commands = {side: [program, str(folder / f"{side}.npz"),
                       *(side_args(side) if side_args is not None else []), *args]
                for side in SIDES}
    stderrs = run_each(commands, folder, env=env, timeout=timeout)
    loaded = {}
    for side, (returncode, stderr) in stderrs.items():
        assert returncode == 0, f"{side} run failed:\n{stderr[-3000:]}"
        with np.load(folder / f"{side}.npz") as data:
            loaded[side] = {key: data[key] for key in data.files}
    return loaded["torch"], loaded["deltagrad"]


def run_each(commands: dict, folder, *, env: dict | None = None, timeout: float = 300) -> dict:
    """``{side: (exit status, its stdout and stderr)}`` of ``commands`` (``{side: [program,
    *args]}``, sides of ``SIDES``) run at once in ``folder``, each under its library as
    ``run_both`` runs them (one BLAS thread, ``src`` first on ``PYTHONPATH``, extra
    environment ``env``; forked from the servers unless ``DELTAGRAD_TEST_FRESH=1``)."""
    environment = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                       MKL_NUM_THREADS="1", **(env or {}))
    environment["PYTHONPATH"] = (os.path.join(ROOT, "src") + os.pathsep
                                 + environment.get("PYTHONPATH", ""))
    if os.environ.get("DELTAGRAD_TEST_FRESH") == "1":
        return _run_fresh(commands, folder, environment, timeout)
    return _run_forked(commands, folder, environment, timeout)


def _run_fresh(commands: dict, folder, environment: dict, timeout: float) -> dict:
    """Both sides as fresh processes at once: {side: (exit status, stdout and stderr)}, the
    output as a forked run's log holds it."""
    procs = {side: subprocess.Popen([sys.executable, "-W", "ignore", *SIDES[side], *command],
                                    cwd=folder, env=environment, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
             for side, command in commands.items()}
    done = {}
    for side, proc in procs.items():
        output, _ = proc.communicate(timeout=timeout)
        done[side] = (proc.returncode, output)
    return done


# The servers of this pytest process: (side, PYTHONPATH) -> Popen. Forking saves a fresh
# interpreter and the library import per run: `import torch` 1.8 s of CPU, `python -m deltagrad
# run` of an empty script 1.0 s, for each of the ~70 runs of the suite. Six run_both calls of a
# trivial program: 17.1 CPU s fresh, 7.6-8.7 forked (servers' start included; alternated twice,
# session 14, this 2-core machine): about 2 CPU s less a run after the first.
_SERVERS: dict = {}


def _server(side: str, environment: dict) -> subprocess.Popen:
    key = (side, environment["PYTHONPATH"])
    server = _SERVERS.get(key)
    if server is None or server.poll() is not None:
        # (started with the first run's environment: what the interpreter and the library
        # read at start-up, the thread counts and PYTHONPATH, is the same for every run it
        # serves; each run's own environment is set in its child before the program starts)
        server = subprocess.Popen([sys.executable, "-W", "ignore", os.path.abspath(__file__),
                                   "--serve", side], cwd=ROOT, env=environment,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        _SERVERS[key] = server
    return server


def _read_line(server: subprocess.Popen, deadline: float) -> str | None:
    """The server's next reply line, or None if none came before ``deadline``."""
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([server.stdout], [], [], left)[0]:
            return None
        byte = os.read(server.stdout.fileno(), 1)  # (one byte at a time: no read-ahead)
        if not byte:
            raise RuntimeError(f"the {server.args[-1]} run server exited")
        line += byte
    return line.decode()


def _run_forked(commands: dict, folder, environment: dict, timeout: float,
                cwds: dict | None = None) -> dict:
    """Both sides forked from their servers at once: {side: (exit status, output)}. Each runs
    in ``folder`` (or ``cwds[side]``); its stdout and stderr go to ``folder/<side>.stderr``."""
    servers = {}
    for side, command in commands.items():
        server = servers[side] = _server(side, environment)
        request = {"argv": command, "cwd": str((cwds or {}).get(side, folder)),
                   "env": environment, "log": str(folder / f"{side}.stderr")}
        server.stdin.write((json.dumps(request) + "\n").encode())
        server.stdin.flush()
    deadline = time.monotonic() + timeout
    pids = {side: int(_read_line(server, deadline + 60)) for side, server in servers.items()}
    done = {}
    for side, server in servers.items():
        status = _read_line(server, deadline)
        if status is None:  # as Popen.communicate's timeout: the run is stopped, the test fails
            for other, pid in pids.items():
                if other not in done:
                    os.kill(pid, 9)
            for other, server_left in servers.items():
                if other not in done:
                    _read_line(server_left, time.monotonic() + 60)
            raise subprocess.TimeoutExpired(commands[side], timeout)
        with open(folder / f"{side}.stderr", errors="replace") as log:
            done[side] = (int(status), log.read())
    return done


@atexit.register
def _stop_servers() -> None:
    for server in _SERVERS.values():
        server.stdin.close()  # (a server ends at the end of its input)
        server.wait()


def _serve(side: str) -> None:
    """A server's loop: each request line (argv, cwd, env, log) is run in a forked child; the
    reply is the child's pid, then its exit status."""
    if side == "deltagrad":
        from deltagrad import cli
        from deltagrad.torch_alias import install

        install()
    else:
        import torch  # noqa: F401 - imported once, here, for every child

        # PyTorch's optimizers import its compiler stack on their first step (torch._dynamo:
        # ~830 modules), and most programs train: imported here, once. A run of
        # prog_s12_LC_torchaudio.py on the torch side: 2.94-3.20 -> 1.67-1.73 CPU s (alternated,
        # session 17, this 2-core machine at load ~20); the import starts no thread.
        import torch._dynamo  # noqa: F401
    # What the server imported is kept out of the children's garbage collections (each full
    # collection of a child otherwise walks, and copies on write, every object of torch or
    # deltagrad): prog_s12_NF_flops.py 1.35-1.55 -> 0.36-0.49 CPU s on the torch side, 0.42-0.57
    # -> 0.28-0.45 on deltagrad's (alternated, session 17, this machine at load ~20).
    gc.collect()
    gc.freeze()
    base = sys.path[1:]  # (this script's folder is first)
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            program, *rest = request["argv"]
            if side == "deltagrad":  # `python -m deltagrad run ...`: the working folder first
                sys.path[:] = [os.getcwd(), *base]
                sys.argv = [cli.__file__, "run", program, *rest]
                sys.exit(cli.main(["run", program, *rest]))
            sys.path[:] = [os.path.dirname(os.path.realpath(program)), *base]
            sys.argv = [program, *rest]
            import runpy

            runpy.run_path(program, run_name="__main__")
            sys.exit(0)  # (an exception propagates: traceback on the log, exit status 1)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()
        started = time.monotonic()
        _, status, usage = os.wait4(pid, 0)
        sys.stdout.write(f"{os.waitstatus_to_exitcode(status)}\n")
        sys.stdout.flush()
        if request["env"].get("DELTAGRAD_TEST_RUN_LOG"):  # where the program tests' time goes
            with open(request["env"]["DELTAGRAD_TEST_RUN_LOG"], "a") as log:
                log.write(json.dumps({"side": side, "argv": request["argv"],
                                      "cpu": round(usage.ru_utime + usage.ru_stime, 2),
                                      "wall": round(time.monotonic() - started, 2)}) + "\n")


def _dtype_name(value: np.ndarray) -> str:
    return str(value).rsplit(".", 1)[-1]  # 'torch.float32' / 'deltagrad.float32' -> 'float32'


def compare(real: dict, ours: dict, prefix: str, *, rtol: float, atol: float,
            skip: tuple = (), atol_for: dict | None = None) -> int:
    """Assert that every entry under ``prefix`` agrees between the two runs; return how many
    were compared. An ``ERR.<prefix>...`` entry (an exception a program recorded) fails; keys
    ending in ``.dtype`` compare dtype names; integers and strings exactly; floats to
    ``rtol`` / ``atol`` (``atol_for[key]`` where given), NaN equal to NaN."""
    errors = {k: str(v)[-2000:] for k, v in {**real, **ours}.items()
              if k.startswith(f"ERR.{prefix}") and not k.startswith(skip)}
    assert not errors, errors
    keys = sorted(k for k in set(real) | set(ours)
                  if k.startswith(prefix + ".") and not k.startswith(skip))
    problems = []
    both = []
    for key in keys:
        if key not in real or key not in ours:
            problems.append(f"{key}: only on {'torch' if key in real else 'deltagrad'}")
        elif key.endswith(".dtype"):
            if _dtype_name(real[key]) != _dtype_name(ours[key]):
                problems.append(f"{key}: {real[key]} vs {ours[key]}")
        else:
            both.append(key)
    problems += mismatches(real, ours, both, rtol=rtol, atol=atol, atol_for=atol_for)
    assert not problems, "\n".join(problems)
    return len(keys)


def compare_section(results: tuple, section: str, prefixes=None, at_least: int = 1, *,
                    rtol: float, atol: float, atol_for: dict | None = None) -> None:
    """The program tests' check of one section of a run_both result: no exception recorded
    for it on either side, every key under ``prefixes`` (default: the section's own) agreeing
    (``atol_for[key]`` where given), and at least ``at_least`` of them (a section that stopped
    recording fails)."""
    real, ours = results
    error = {k: str(v)[-2000:] for k, v in {**real, **ours}.items() if k == f"ERR.{section}"}
    assert not error, error
    compared = sum(compare(real, ours, prefix, rtol=rtol, atol=atol, atol_for=atol_for)
                   for prefix in (prefixes or (section,)))
    assert compared >= at_least, f"{section}: {compared} values compared, {at_least} expected"


def mismatches(real: dict, ours: dict, keys, *, rtol: float, atol: float,
               atol_for: dict | None = None) -> list[str]:
    """What differs for ``keys`` (present in both runs): shape or dtype; floats beyond
    ``rtol`` / ``atol`` (``atol_for[key]`` where given; NaN equals NaN); anything else (integers,
    booleans, strings) not exactly equal."""
    problems = []
    for key in sorted(keys):
        a, b = real[key], ours[key]
        if a.shape != b.shape or a.dtype != b.dtype:
            problems.append(f"{key}: {b.shape} {b.dtype}, torch {a.shape} {a.dtype}")
        elif a.dtype.kind not in "fc":  # (integers, booleans, strings: exactly)
            if not np.array_equal(a, b):
                problems.append(f"{key}: {b.ravel()[:6]}, torch {a.ravel()[:6]}")
        elif not np.allclose(a, b, rtol=rtol, atol=(atol_for or {}).get(key, atol),
                             equal_nan=True):
            problems.append(f"{key}: max |diff| {np.abs(a - b).max():.3g}")
    return problems


if __name__ == "__main__" and sys.argv[1:2] == ["--serve"]:
    _serve(sys.argv[2])
