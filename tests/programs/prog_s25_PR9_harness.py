"""PR9's recorder (session 25), on top of PR6's (prog_s23_PR6_harness.py): public programs'
results are what they print, so a section's whole standard output is captured and recorded as
one string (``<prefix>.stdout``), compared as text; the warnings it raised are recorded too
(category and message: ``<prefix>.warnings``).
"""

import contextlib
import io
import re
import warnings

from prog_s23_PR6_harness import OUT, put, put_state, run  # noqa: F401 - the programs' API


@contextlib.contextmanager
def printed(prefix: str, warnings_too: bool = True):
    """Captures what the block prints and (unless ``warnings_too`` is false) the warnings it
    raises (each one, every time)."""
    buffer = io.StringIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with contextlib.redirect_stdout(buffer):
                yield
        finally:
            put(f"{prefix}.stdout", buffer.getvalue())
            if warnings_too:
                put(f"{prefix}.warnings", "\n".join(sorted(_said(w) for w in caught)) or "-")


def _said(warning) -> str:
    """A warning's category and first sentence: PyTorch's C++ warnings end with the build's
    source path, and deltagrad words some advice after the first sentence its own way (the
    scheduler-order warning's), so only what the warning is about is compared."""
    message = re.sub(r" \(Triggered internally at .*\)$", "", str(warning.message), flags=re.S)
    return f"{warning.category.__name__}: {message.split('. ')[0]}"
