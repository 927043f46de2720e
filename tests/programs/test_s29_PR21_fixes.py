"""Session 29 (PR21) fixes found by the pytorch/examples-style programs
(tests/programs/prog_s29_PR21_*.py).

1. PyTorch 2.13 warns once per process, at the first public sparse constructor
(sparse_coo_tensor, sparse_csr / csc / bsr / bsc / compressed_tensor) called without
``check_invariants=`` while the program never set torch.sparse.check_sparse_tensor_invariants
itself, that "Sparse invariant checks are implicitly disabled"; conversions (to_sparse), ops
and the legacy torch.sparse.FloatTensor do not. deltagrad said nothing (the gcn example builds
its adjacency with sparse_coo_tensor). deltagrad checks the index range either way.
2. The legacy torch.sparse.FloatTensor(indices, values[, shape]) constructor warns its
deprecation once per process for each form; deltagrad said nothing.
3. An LSTM with projections (proj_size > 0) on an unpacked float32 / bfloat16 input: PyTorch
warns once per process "LSTM with projections is not supported with oneDNN. Using default
implementation."; deltagrad said nothing.

These warnings are once per process, so each case runs in a process of its own on each library
(forked from one interpreter per library: tests/parity/s29_TT1_forks.py).
"""

from __future__ import annotations

import ast
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "parity"))
import s29_TT1_forks as forks  # noqa: E402 - its folder is put on the path above

torch = pytest.importorskip("torch")

_SETUP = """
ei = t.tensor([[0, 1], [1, 0]])
v = t.ones(2)
crow, col = t.tensor([0, 1, 2]), t.tensor([0, 1])
"""

CASES = {
    "coo-twice": ["t.sparse_coo_tensor(ei, v, (3, 3))", "t.sparse_coo_tensor(ei, v)"],
    "coo-checked-then-not": ["t.sparse_coo_tensor(ei, v, (3, 3), check_invariants=False)",
                             "t.sparse_coo_tensor(ei, v, (3, 3), check_invariants=True)",
                             "t.sparse_coo_tensor(ei, v, (3, 3))"],
    "switch-disabled": ["t.sparse.check_sparse_tensor_invariants.disable()",
                        "t.sparse_coo_tensor(ei, v, (3, 3))"],
    "switch-enabled": ["t.sparse.check_sparse_tensor_invariants.enable()",
                       "t.sparse_csr_tensor(crow, col, v, (2, 2))"],
    "switch-context": ["with t.sparse.check_sparse_tensor_invariants():\n    pass",
                       "t.sparse_coo_tensor(ei, v, (3, 3))"],
    "conversions-and-ops": ["t.eye(2).to_sparse()", "t.eye(2).to_sparse().clone()",
                            "t.hspmm(t.eye(2).to_sparse(), t.ones(2, 2))",
                            "t.sparse.spdiags(t.ones(1, 3), t.tensor([0]), (3, 3))",
                            "t.sparse_coo_tensor(ei, v, (3, 3))"],
    "csr": ["t.sparse_csr_tensor(crow, col, v, (2, 2))"],
    "csc-compressed": ["t.sparse_compressed_tensor(crow, col, v, (2, 2), "
                       "layout=t.sparse_csc)"],
    "bsr": ["t.sparse_bsr_tensor(t.tensor([0, 1]), t.tensor([0]), t.ones(1, 2, 2), (2, 2))"],
    "csr-checked": ["t.sparse_csr_tensor(crow, col, v, (2, 2), check_invariants=False)",
                    "t.sparse_csr_tensor(crow, col, v, (2, 2))"],
    "legacy-constructor": ["t.sparse.FloatTensor(ei, v, t.Size([3, 3]))",
                           "t.sparse.FloatTensor(ei, v, t.Size([3, 3]))",
                           "t.sparse.DoubleTensor(ei, v.double(), (3, 3))",
                           "t.sparse.FloatTensor(ei, v)", "t.sparse_coo_tensor(ei, v)"],
    # (3: LSTM with projections; PyTorch's warning names its own rnn.py: files not compared)
    "lstm-proj-twice": ["l = t.nn.LSTM(3, 4, proj_size=2)", "l(t.ones(2, 1, 3))",
                        "l(t.ones(2, 3))"],
    "lstm-proj-float64-packed": ["l = t.nn.LSTM(3, 4, proj_size=2)",
                                 "l.double()(t.ones(2, 1, 3, dtype=t.float64))",
                                 "l.float()(t.nn.utils.rnn.pack_sequence([t.ones(2, 3)]))",
                                 "t.nn.LSTM(3, 4)(t.ones(2, 1, 3))", "l(t.ones(1, 1, 3))"],
}


@pytest.fixture(scope="module")
def warning_runs() -> dict:
    """{library: {case: (exit status, stdout, stderr)}}, each case in a process of its own."""
    return forks.warning_runs(_SETUP, CASES, ROOT)


@pytest.mark.parametrize("case", sorted(CASES))
def test_warnings_once_per_process(warning_runs, case):
    theirs = forks.last_line(warning_runs["torch"][case])
    ours = forks.last_line(warning_runs["deltagrad"][case])
    if case.startswith("lstm"):
        theirs, ours = ([[w[:2] for w in step] for step in ast.literal_eval(seen)]
                        for seen in (theirs, ours))
        assert sum(map(len, theirs)) == 1  # (once, at the first float32 unpacked call)
    assert ours == theirs
    if case in ("coo-twice", "csr", "legacy-constructor"):
        assert "implicitly disabled" in ours or "deprecated" in ours  # (something to match)


# ------------------------------------------------------------ torch.jit.trace's warnings
# PyTorch traces a module, or a module's bound method, through trace_module: its deprecation
# warnings name ``trace`` once, then ``trace_method`` twice; a plain function's name ``trace``
# twice. deltagrad said ``trace`` twice for all (the examples trace their models).

_TRACED = {
    "function": lambda t: (lambda x: x * 2, t.ones(2)),
    "module": lambda t: (t.nn.Linear(2, 2), t.ones(1, 2)),
    "module-method": lambda t: (t.nn.Linear(2, 2).forward, t.ones(1, 2)),
}


def _trace_warnings(lib, case: str) -> list:
    import warnings

    func, example = _TRACED[case](lib)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lib.jit.trace(func, example)
    return [str(w.message) for w in caught if w.category is DeprecationWarning]


@pytest.mark.parametrize("case", list(_TRACED))
def test_jit_trace_warnings(case):
    import deltagrad

    theirs = _trace_warnings(torch, case)
    assert _trace_warnings(deltagrad, case) == theirs
    assert len(theirs) == 3 if case != "function" else len(theirs) == 2


# ------------------------------------------------------------ inference-mode messages
# An in-place update of an inference tensor outside inference_mode: PyTorch's message (which
# the examples' users see) ran on without spaces and ended with its RFC link; deltagrad's was
# reworded. Both refusals are compared whole.

_INFERENCE = {
    "inplace": "y.add_(1)",
    "saved-for-backward": "(y * lib.ones(2, requires_grad=True)).sum().backward()",
}


def _inference_error(lib, case: str) -> str:
    with lib.inference_mode():
        y = lib.ones(2)
    try:
        exec(_INFERENCE[case], {"lib": lib, "y": y})  # noqa: S102 - the cases above
    except RuntimeError as error:
        return str(error)
    return "no error"


@pytest.mark.parametrize("case", list(_INFERENCE))
def test_inference_tensor_messages(case):
    import deltagrad

    theirs = _inference_error(torch, case)
    assert _inference_error(deltagrad, case) == theirs
    assert theirs != "no error"


# ------------------------------------------------------------ words PyTorch prints
# A GradScaler made for CUDA on a machine without it (the examples' ``--amp`` path): PyTorch
# warns "torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.";
# deltagrad worded it its own way. binary_cross_entropy's range check: deltagrad's message began
# with "binary_cross_entropy: " where PyTorch's begins "all elements of".

_SCALERS = {
    "amp-default": lambda t: t.amp.GradScaler(),
    "amp-cuda": lambda t: t.amp.GradScaler("cuda"),
    "cuda-amp": lambda t: t.cuda.amp.GradScaler(),
    "amp-cpu": lambda t: t.amp.GradScaler("cpu"),
}


def _scaler_warnings(lib, case: str) -> list:
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _SCALERS[case](lib)
    return [(w.category.__name__, str(w.message)) for w in caught]


@pytest.mark.parametrize("case", list(_SCALERS))
def test_grad_scaler_warnings(case):
    import deltagrad

    assert _scaler_warnings(deltagrad, case) == _scaler_warnings(torch, case)


@pytest.mark.parametrize("bad", ["input", "target"])
def test_bce_range_message_starts_as_pytorch(bad):
    import deltagrad

    def message(lib):
        x, y = lib.tensor([0.5]), lib.tensor([1.0])
        x, y = (x + 1, y) if bad == "input" else (x, y + 1)
        with pytest.raises(RuntimeError) as caught:
            lib.nn.functional.binary_cross_entropy(x, y)
        return str(caught.value)

    theirs = message(torch)
    assert message(deltagrad).startswith(theirs)

