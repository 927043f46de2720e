"""Speed on programs we did not write (issue 18): every section of the public-program families
(tests/programs/prog_s*_all.py: tutorials, pytorch/examples-style programs, model-library
blocks, public idioms; ~940 sections) timed under the real PyTorch and under deltagrad's torch
alias, deltagrad / torch per section, worst first.

How it is measured. One server process per library (one thread: the thread variables are set
before either library loads, and ``torch.set_num_threads(1)``) imports its library (deltagrad
through ``deltagrad.torch_alias.install``, so the programs' ``import torch`` is deltagrad) and
every family's section table, then freezes what it imported out of the garbage collector, as
tests/programs/alias_runs.py's servers do. For each section the driver asks one server, then
the other (the order alternates by round), to fork a child that runs the section ``--runs``
times (``torch.manual_seed(0)`` before each, as the families' harness does; standard output
and warnings discarded) and reports each run's CPU time (``time.process_time``). The first run
("cold") pays for what the section loads or caches the first time (lazy imports, kernels'
first calls); the later runs ("warm") are the program's own cost; a section's warm time is its
fastest later run, so a section that cannot run twice (it raises the second time) has no warm
time and is ranked by its cold one. Per section the ratio is the median over rounds of
deltagrad's time over PyTorch's (paired within a round); sections that raise under either
library are listed apart. Per family, the ratio of the summed times. (Every family is imported
in one process, unlike the program tests: under the alias, one family's ``from
torch.autograd.gradcheck import ...`` leaves ``torch.autograd.gradcheck`` the module for the
others, so their custom-Function sections raise here: session 30's SP52 report.)

One round of everything takes ~8 minutes of this 2-core machine (both servers at once).

    python benchmarks/programs_speed.py [--rounds 2] [--runs 3] [--families PR20,PR21]
        [--sections t20_stn,...] [--markdown PROGRAMS_SPEED.md] [--json out.json]
        [--profile SECTION] [--top 40]

``--profile SECTION`` runs one section under deltagrad (after one untimed run) with cProfile
and prints the top functions by total and cumulative time instead.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone

import common

PROGRAMS = common.REPO / "tests" / "programs"
MARKDOWN = common.BENCHMARKS / "PROGRAMS_SPEED.md"
TIMEOUT = 120  # seconds of one section's runs in one child


def families() -> list[str]:
    """The families' module names (prog_s17_PG_all ... prog_s29_PR21_all)."""
    return sorted(os.path.basename(path)[:-3]
                  for path in glob.glob(str(PROGRAMS / "prog_s*_all.py")))


def family_label(module: str) -> str:
    return module[len("prog_"):-len("_all")]


# ------------------------------------------------------------------------------------ server


def _load_tables(wanted: list[str]) -> dict:
    """{family module: its TABLE} for the families that import here (others are skipped: a
    library missing from this environment)."""
    import importlib
    import warnings

    sys.argv = ["programs_speed", os.devnull]
    tables = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for module in wanted:
            try:
                tables[module] = importlib.import_module(module).TABLE
            except Exception:  # noqa: BLE001 - a family needing a library not installed
                continue
    return tables


def _child(tables: dict, request: dict, write_fd: int) -> None:
    """Runs one section ``runs`` times in this forked child; writes the CPU times (None for a
    run that raised) as one JSON line to ``write_fd``."""
    import contextlib
    import io
    import signal
    import warnings

    import torch

    signal.alarm(TIMEOUT)
    section = tables[request["family"]][request["section"]]
    times, error = [], None
    sink = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(sink), \
            contextlib.redirect_stderr(sink):
        warnings.simplefilter("ignore")
        for _ in range(request["runs"]):
            torch.manual_seed(0)
            sink.seek(0)
            sink.truncate()
            start = time.process_time()
            try:
                section()
            except BaseException as exc:  # noqa: BLE001 - reported, not fatal
                if error is None:
                    error = f"{type(exc).__name__}: {str(exc)[:200]}"
                times.append(None)
                continue
            times.append(time.process_time() - start)
    os.write(write_fd, (json.dumps({"times": times, "error": error}) + "\n").encode())


def serve(side: str, wanted: list[str]) -> None:
    """A server's loop: one request line (family, section, runs) in, one result line out."""
    import gc

    os.chdir(os.environ.get("PROGRAMS_SPEED_CWD", os.getcwd()))
    sys.path.insert(0, str(PROGRAMS))
    if side != "torch":
        from deltagrad.torch_alias import install

        install()
    else:
        import torch._dynamo  # noqa: F401 - what alias_runs' torch server imports too
    import torch

    torch.set_num_threads(1)
    tables = _load_tables(wanted)
    gc.collect()
    gc.freeze()
    out = sys.stdout
    out.write(json.dumps({"families": {m: list(t) for m, t in tables.items()}}) + "\n")
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            try:
                _child(tables, request, write_fd)
            finally:
                os._exit(0)
        os.close(write_fd)
        with os.fdopen(read_fd) as reader:
            reply = reader.readline()
        _, status = os.waitpid(pid, 0)
        if not reply:
            reply = json.dumps({"times": [], "error": f"child died (status {status})"}) + "\n"
        out.write(reply)
        out.flush()


# ------------------------------------------------------------------------------------ driver


class Server:
    def __init__(self, side: str, wanted: list[str], cwd: str, src: str | None = None):
        env = common.thread_env(1)
        env["PYTHONPATH"] = os.pathsep.join(
            [src or str(common.REPO / "src"), str(PROGRAMS), env.get("PYTHONPATH", "")])
        env["PROGRAMS_SPEED_CWD"] = cwd
        self.proc = subprocess.Popen(
            [sys.executable, "-W", "ignore", __file__, "--serve", side,
             "--families", ",".join(wanted)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=cwd)
        self.families = json.loads(self.proc.stdout.readline())["families"]

    def run(self, family: str, section: str, runs: int) -> dict:
        self.proc.stdin.write(json.dumps({"family": family, "section": section,
                                          "runs": runs}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def _warm(times: list) -> float | None:
    later = [t for t in times[1:] if t is not None]
    return min(later) if later and None not in times else None


def measure(cases: list[tuple[str, str]], servers: dict, rounds: int, runs: int,
            progress=None) -> list[dict]:
    """Per (family, section): cold and warm CPU seconds per side per round, errors."""
    sides = list(servers)
    results = {case: {"family": case[0], "section": case[1], "error": None,
                      "cold": {side: [] for side in sides},
                      "warm": {side: [] for side in sides}} for case in cases}
    for round_ in range(rounds):
        shift = round_ % len(sides)  # (the order rotates by round)
        order = sides[shift:] + sides[:shift]
        for index, case in enumerate(cases):
            row = results[case]
            if row["error"]:
                continue
            for side in order:
                got = servers[side].run(*case, runs)
                if got["error"] or not got["times"] or got["times"][0] is None:
                    row["error"] = f"{side}: {got['error']}"
                    break
                row["cold"][side].append(got["times"][0])
                row["warm"][side].append(_warm(got["times"]))
            if progress and index % 50 == 0:
                progress(f"round {round_ + 1}/{rounds}: {index}/{len(cases)}")
    return [summarize(row) for row in results.values()]


def _paired(first: list, second: list) -> float | None:
    pairs = [(a, b) for a, b in zip(first, second, strict=False)
             if a is not None and b is not None and b > 0]
    return statistics.median(a / b for a, b in pairs) if pairs else None


def summarize(row: dict) -> dict:
    out = {"family": row["family"], "section": row["section"], "error": row["error"]}
    for kind in ("cold", "warm"):
        for side in row[kind]:
            values = [v for v in row[kind][side] if v is not None]
            out[f"{kind}_{side}"] = statistics.median(values) if values else None
        out[f"{kind}_ratio"] = _paired(row[kind]["deltagrad"], row[kind]["torch"])
        if "base" in row[kind]:
            out[f"{kind}_vs_base"] = _paired(row[kind]["deltagrad"], row[kind]["base"])
    # (a section that cannot run twice is ranked by its cold runs)
    out["ratio"] = out["warm_ratio"] if out["warm_ratio"] is not None else out["cold_ratio"]
    return out


def family_summary(rows: list[dict]) -> list[dict]:
    by_family: dict = {}
    for row in rows:
        if row["error"] or row["ratio"] is None:
            continue
        kind = "warm" if row["warm_ratio"] is not None else "cold"
        entry = by_family.setdefault(row["family"], {"torch": 0.0, "deltagrad": 0.0, "n": 0})
        entry["torch"] += row[f"{kind}_torch"]
        entry["deltagrad"] += row[f"{kind}_deltagrad"]
        entry["n"] += 1
    return [{"family": family, "sections": e["n"], "torch_s": e["torch"],
             "deltagrad_s": e["deltagrad"], "ratio": e["deltagrad"] / e["torch"]}
            for family, e in sorted(by_family.items(), key=lambda kv: -kv[1]["deltagrad"]
                                    / max(kv[1]["torch"], 1e-12))]


def _ms(value) -> str:
    return "-" if value is None else f"{value * 1e3:.1f}"


def _x(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def _against_base(timed: list[dict], kinds: list[str]) -> list[str]:
    """The summary line of this tree against ``--base``'s, when it was timed."""
    if not timed or timed[0].get(f"{kinds[0]}_base") is None:
        return []
    ours = sum(r[f"{k}_deltagrad"] for r, k in zip(timed, kinds, strict=True))
    base = sum(r[f"{k}_base"] for r, k in zip(timed, kinds, strict=True))
    cold_ours = sum(r["cold_deltagrad"] for r in timed)
    cold_base = sum(r["cold_base"] for r in timed)
    ratios = [r["warm_vs_base"] or r["cold_vs_base"] for r in timed]
    return [f"- against `--base` (the same sections, deltagrad / base): summed {ours / base:.3f} "
            f"({ours:.2f} s / {base:.2f} s), cold runs summed {cold_ours / cold_base:.3f}, "
            f"median section {statistics.median(r for r in ratios if r):.3f}."]


def markdown(rows: list[dict], config: dict, info: dict, top: int) -> str:
    timed = [r for r in rows if not r["error"] and r["ratio"] is not None]
    timed.sort(key=lambda r: -r["ratio"])
    failed = [r for r in rows if r["error"]]
    kinds = [("warm" if r["warm_ratio"] is not None else "cold") for r in timed]
    torch_total = sum(r[f"{k}_torch"] for r, k in zip(timed, kinds, strict=True))
    ours_total = sum(r[f"{k}_deltagrad"] for r, k in zip(timed, kinds, strict=True))
    big = [r for r, k in zip(timed, kinds, strict=True) if r[f"{k}_torch"] >= 0.005]
    ratios = [r["ratio"] for r in timed]
    based = bool(timed) and timed[0].get("cold_base") is not None
    lines = [
        "# Programs we did not write: deltagrad vs PyTorch per section", "",
        f"Written by `{info['command']}` on {info['date']}; machine: {info['cpu']}, "
        f"{info['cpus']} CPUs, load average {info['load']}; PyTorch {info.get('torch')}, "
        f"NumPy {info.get('numpy')}.", "",
        f"1 thread; {config['rounds']} alternated rounds, {config['runs']} runs of each section "
        "per round in a forked child (the first is `cold`, the fastest later one `warm`); CPU "
        "time. How it is measured: the docstring of `benchmarks/programs_speed.py`.", "",
        f"- sections timed: {len(timed)} of {len(rows)} ({len(failed)} raise under a library "
        "or cannot run in a fork, listed at the end).",
        f"- summed time, deltagrad / PyTorch: {ours_total / torch_total:.3f} "
        f"({ours_total:.2f} s / {torch_total:.2f} s).",
        f"- median section ratio: {statistics.median(ratios):.3f}; sections over 1.0x: "
        f"{sum(r > 1.0 for r in ratios)}, over 1.5x: {sum(r > 1.5 for r in ratios)}, over 2x: "
        f"{sum(r > 2.0 for r in ratios)}.",
        f"- sections of 5 ms or more under PyTorch: {len(big)}, median ratio "
        f"{statistics.median(r['ratio'] for r in big) if big else float('nan'):.3f}.",
        *_against_base(timed, kinds), "",
        "## Per family (summed times)", "",
        common.markdown_table(
            ["family", "sections", "deltagrad s", "torch s", "x torch"],
            [[family_label(f["family"]), f["sections"], f"{f['deltagrad_s']:.2f}",
              f"{f['torch_s']:.2f}", _x(f["ratio"])] for f in family_summary(rows)]), "",
        f"## Worst {min(top, len(timed))} sections (ratio = warm, else cold)", "",
        common.markdown_table(
            ["family", "section", "x torch", "warm deltagrad ms", "warm torch ms",
             "cold x torch", "cold deltagrad ms", "cold torch ms"] + (["x base"] if based else []),
            [[family_label(r["family"]), r["section"], _x(r["ratio"]), _ms(r["warm_deltagrad"]),
              _ms(r["warm_torch"]), _x(r["cold_ratio"]), _ms(r["cold_deltagrad"]),
              _ms(r["cold_torch"])] + ([_x(r.get("warm_vs_base") or r.get("cold_vs_base"))]
                                       if based else [])
             for r in timed[:top]]), "",
        f"## Slowest {min(top, len(timed))} sections by deltagrad time lost (deltagrad - "
        "torch)", "",
    ]
    lost = sorted(zip(timed, kinds, strict=True),
                  key=lambda rk: -(rk[0][f"{rk[1]}_deltagrad"] - rk[0][f"{rk[1]}_torch"]))
    lines += [common.markdown_table(
        ["family", "section", "x torch", "deltagrad ms", "torch ms"],
        [[family_label(r["family"]), r["section"], _x(r["ratio"]), _ms(r[f"{k}_deltagrad"]),
          _ms(r[f"{k}_torch"])] for r, k in lost[:top]]), ""]
    if failed:
        lines += ["## Not timed", "",
                  common.markdown_table(["family", "section", "why"],
                                        [[family_label(r["family"]), r["section"],
                                          (r["error"] or "")[:100].replace("|", "/")
                                          .replace("\n", " ")] for r in failed]), ""]
    return "\n".join(lines)


def profile(section: str, wanted: list[str], top: int) -> None:
    """cProfile of one section under deltagrad, after one untimed run (in this process)."""
    import cProfile
    import pstats

    common.set_threads(1)
    sys.path.insert(0, str(PROGRAMS))
    from deltagrad.torch_alias import install

    install()
    import contextlib
    import io
    import warnings

    import torch

    tables = _load_tables(wanted)
    table = next(t for t in tables.values() if section in t)
    warnings.simplefilter("ignore")
    with contextlib.redirect_stdout(io.StringIO()):
        torch.manual_seed(0)
        table[section]()
        torch.manual_seed(0)
        profiler = cProfile.Profile()
        profiler.enable()
        table[section]()
        profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--families", default="", help="labels (PR20) or module names")
    parser.add_argument("--sections", default="")
    parser.add_argument("--markdown", default=None, help=f"write the table (e.g. {MARKDOWN})")
    parser.add_argument("--json", default=None)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--render", default=None,
                        help="write the table of an earlier --json file instead of timing")
    parser.add_argument("--base", default=None,
                        help="another deltagrad src folder (git archive REV src) timed too")
    parser.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    everything = families()
    wanted = everything
    if args.families:
        labels = set(args.families.split(","))
        wanted = [m for m in everything if m in labels or family_label(m) in labels
                  or family_label(m).split("_", 1)[1] in labels]
    if args.serve:
        serve(args.serve, wanted)
        return
    if args.profile:
        profile(args.profile, wanted, args.top)
        return
    if args.render:
        with open(args.render) as saved:
            earlier = json.load(saved)
        text = markdown(earlier["rows"], earlier["config"], earlier["meta"], args.top)
        print(text)
        if args.markdown:
            with open(args.markdown, "w") as out:
                out.write(text + "\n")
        return
    import tempfile

    info = common.machine_info()
    load = os.getloadavg()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="programs_speed_") as cwd:
        servers = {side: Server(side, wanted, cwd) for side in ("torch", "deltagrad")}
        if args.base:
            servers["base"] = Server("base", wanted, cwd, src=args.base)
        try:
            both = servers["torch"].families
            sections = set(args.sections.split(",")) if args.sections else None
            cases = [(m, s) for m in wanted if m in both and m in servers["deltagrad"].families
                     for s in both[m] if sections is None or s in sections]
            rows = measure(cases, servers, args.rounds, args.runs,
                           progress=lambda text: print(text, file=sys.stderr, flush=True))
        finally:
            for server in servers.values():
                server.close()
    config = {"rounds": args.rounds, "runs": args.runs}
    command = "python benchmarks/programs_speed.py " + " ".join(argv or sys.argv[1:])
    meta = {"command": command.strip(), "cpu": info["cpu"], "cpus": info["cpus"],
            "torch": info.get("torch"), "numpy": info.get("numpy"),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "load": ", ".join(f"{v:.2f}" for v in load)}
    text = markdown(rows, config, meta, args.top)
    print(text)
    print(f"({time.time() - started:.0f} s wall)", file=sys.stderr)
    if args.markdown:
        with open(args.markdown, "w") as out:
            out.write(text + "\n")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"config": config, "meta": meta, "rows": rows}, out, indent=1)


if __name__ == "__main__":
    main()
