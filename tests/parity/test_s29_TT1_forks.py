"""s29_TT1_forks.run_fresh: each program starts from the state right after the prelude, as a
fresh ``python -c`` would (what one program changes, the next does not see), with ``-c``'s
names, its exit status, stdout and stderr apart (TT1, session 29)."""

import subprocess
import sys

from s29_TT1_forks import run_fresh

PRELUDE = "import warnings\nSTATE = []\n"


def test_each_program_starts_fresh_and_reports_as_python_dash_c():
    programs = {
        "first": "import sys, warnings\nwarnings.warn('once', UserWarning)\n"
                 "print(__name__, sys.argv, __file__ if '__file__' in dir() else None)",
        "second": "import warnings\nwarnings.warn('once', UserWarning)\nprint('second')",
        "raises": "raise ValueError('boom')",
        "exits": "import sys\nprint('bye')\nsys.exit(3)",
        "atexit": "import atexit\natexit.register(lambda: print('at exit'))",
    }
    runs = run_fresh(PRELUDE, programs)
    fresh = {name: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
             for name, code in programs.items()}
    for name, done in fresh.items():
        assert runs[name] == (done.returncode, done.stdout, done.stderr), name
    assert runs["first"][1] == "__main__ ['-c'] None\n"
    assert "UserWarning: once" in runs["second"][2]  # (the first program's warning is not seen)
    assert runs["raises"][0] == 1 and "ValueError: boom" in runs["raises"][2]
    assert runs["exits"] == (3, "bye\n", "")
    assert runs["atexit"] == (0, "at exit\n", "")
