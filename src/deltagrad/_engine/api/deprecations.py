"""PyTorch's once-per-process deprecation warnings for old functions and argument forms (its C++
``TORCH_WARN_ONCE``), their texts kept here so the ops' modules (near their size limit) carry
one call each."""

from __future__ import annotations

import sys

from ..errors import warn_once

MESSAGES = {
    "triangular_solve": (
        "torch.triangular_solve is deprecated in favor of torch.linalg.solve_triangularand will "
        "be removed in a future PyTorch release.\ntorch.linalg.solve_triangular has its "
        "arguments reversed and does not return a copy of one of the inputs.\nX = "
        "torch.triangular_solve(B, A).solution\nshould be replaced with\nX = "
        "torch.linalg.solve_triangular(A, B)."),
    "qr": (
        "torch.qr is deprecated in favor of torch.linalg.qr and will be removed in a future "
        "PyTorch release.\nThe boolean parameter 'some' has been replaced with a string "
        "parameter 'mode'.\nQ, R = torch.qr(A, some)\nshould be replaced with\nQ, R = "
        "torch.linalg.qr(A, 'reduced' if some else 'complete')"),
    "cholesky": (
        "torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be removed in a "
        "future PyTorch release.\nL = torch.cholesky(A)\nshould be replaced with\nL = "
        "torch.linalg.cholesky(A)\nand\nU = torch.cholesky(A, upper=True)\nshould be replaced "
        "with\nU = torch.linalg.cholesky(A).mH\nThis transform will produce equivalent results "
        "for all valid (symmetric positive definite) inputs."),
    "chain_matmul": (
        "torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use "
        "torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather than "
        "multiple parameters."),
    "where uint8": (
        "where received a uint8 condition tensor. This behavior is deprecated and will be "
        "removed in a future version of PyTorch. Use a boolean condition instead."),
}


def deprecated(key: str) -> None:
    """PyTorch's deprecation warning ``MESSAGES[key]`` at the user's line, once per process
    (a training loop calling ``torch.qr`` warns once, as PyTorch's)."""
    warn_once(key, MESSAGES[key])


def uint8_condition(condition):
    """``where``'s deprecated uint8 condition (an ndarray) as the bool mask it means, with
    PyTorch's warning."""
    deprecated("where uint8")
    return condition.astype(bool)


# (PyTorch's argument parser warns once per process for all its deprecated overloads together:
# the key _pointwise.scalar_first uses too)
OVERLOAD_KEY = "deprecated scalar-first overload"
_OUT_DTYPE_FORMS = ("addmm", "baddbmm")  # (their functions list an out_dtype signature too)


def inplace_name(name: str, frame) -> str:
    """``name_`` where the deprecated overload came through the in-place method ``x.name_(...)``
    (inplace.py's lambda calling ``x.name(...)`` above ``frame``): PyTorch's warning names the
    method called. Only the deprecated path looks at the stack."""
    for _ in range(3):
        frame = frame.f_back
        if frame is None:
            break
        code = frame.f_code
        if (code.co_name == "<lambda>" and code.co_filename.endswith("inplace.py")
                and frame.f_locals.get("name") == name):
            return name + "_"
    return name


def old_form(function, args: tuple, out, write, beta, alpha):
    """``addmv`` / ``addr`` / ``addbmm``'s ``out=`` (``write``: linalg's write_cast) or their
    deprecated beta-first overloads (``args`` longer than three), so that linalg.py, at its size
    limit, carries one branch for both."""
    if len(args) > 3:
        return beta_alpha_first(function, args, out, depth=2)
    return write(function.__name__, out, function(*args, beta=beta, alpha=alpha))


def beta_alpha_first(function, args: tuple, out, depth: int = 1):
    """PyTorch's deprecated overloads of ``addmm`` / ``addmv`` / ``addr`` / ``addbmm`` /
    ``baddbmm`` with the scalars first: the functions' ``addmm(beta, input, [alpha,] mat1,
    mat2)``, the methods' ``x.addmm(beta, [alpha,] mat1, mat2)``; ``function`` called the
    current way, with PyTorch's warning (once per process). ``args`` are all the positional
    arguments; any other form is PyTorch's TypeError."""
    import numbers

    from ..tensor import Tensor

    name = function.__name__
    first, second = function.__code__.co_varnames[1:3]  # (mat1, mat2 / mat, vec / ...)
    # (the method form's out is renamed, method_forms.py: torch.addmm(M, 0.5, m1, m2) is no form)
    caller = sys._getframe(depth)
    method = "out" not in caller.f_code.co_varnames
    beta, input, rest = (args[1], args[0], args[2:]) if method else (args[0], args[1], args[2:])
    alpha = rest[0] if rest and isinstance(rest[0], numbers.Number) else None
    rest = rest[1:] if alpha is not None else rest
    if (not isinstance(beta, numbers.Number) or isinstance(beta, Tensor) or len(rest) != 2
            or not all(isinstance(t, Tensor) for t in (input, *rest))):
        raise TypeError(f"{name}() received an invalid combination of arguments: got "
                        f"{len(args)} positional arguments (the deprecated {name}(Number beta, "
                        "...) forms take numbers then tensors)")
    tensors = f"Tensor {first}, Tensor {second}"
    name = inplace_name(name, caller) if method else name
    given = "Number beta, " + ("Number alpha, " if alpha is not None else "")
    if method:
        old, new = f"{given}{tensors}", f"{tensors}, *, Number beta = 1, Number alpha = 1"
    else:
        given = given.replace("beta, ", "beta, Tensor input, ")
        old = f"{given}{tensors}, *, Tensor out = None"
        new = f"Tensor input, {tensors}, *, Number beta = 1, Number alpha = 1, Tensor out = None"
        if name in _OUT_DTYPE_FORMS:
            new += (f")\n\t{name}(Tensor input, {tensors}, torch.dtype out_dtype, *, Number "
                    "beta = 1, Number alpha = 1, Tensor out = None")
    warn_once(OVERLOAD_KEY, f"This overload of {name} is deprecated:\n\t{name}({old})\n"
              f"Consider using one of the following signatures instead:\n\t{name}({new})")
    return function(input, *rest, beta=beta, alpha=1 if alpha is None else alpha, out=out)
