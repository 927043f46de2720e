"""Ready-made parametrizations (PyTorch's ``torch.nn.utils.parametrizations``): weight
normalization, spectral normalization and orthogonal matrices.

Each registers a parametrization module with ``parametrize.register_parametrization``, so the
state dict has PyTorch's layout: ``parametrizations.weight.original0`` / ``original1`` (g and v)
for ``weight_norm``, ``parametrizations.weight.original`` and ``parametrizations.weight.0._u``
/ ``._v`` for ``spectral_norm``, ``parametrizations.weight.original`` and
``parametrizations.weight.0.base`` for ``orthogonal``. Random starts (spectral norm's u and v,
the extra columns of a non-square orthogonal base) come from deltagrad's generator, so they
differ from PyTorch's draws; the rest is the same computation.
"""

from __future__ import annotations

import numpy as np

from .. import _engine as dg
from .._engine import no_grad
from .._engine.api.decompositions import householder_product, linalg_qr
from .._engine.api.linalg_solve import solve
from .._engine.tensor import Tensor
from . import functional as F
from . import utils_parametrize as parametrize
from .module import Module

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


# ----------------------------------------------------------------------------------------------
# Weight normalization.


def norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:  # noqa: A002
    """The ``pow``-norm of ``v`` over every dimension except ``dim``, keeping ``v``'s rank
    (PyTorch's ``torch.norm_except_dim``); ``dim=-1`` means the norm of the whole tensor (0-d).
    """
    if dim == -1:
        return v.norm(pow)
    dim %= v.ndim
    return v.norm(pow, dim=tuple(d for d in range(v.ndim) if d != dim), keepdim=True)


def weight_norm_value(v: Tensor, g: Tensor, dim: int) -> Tensor:
    """``v * (g / ||v||)``, the norm taken over every dimension but ``dim`` (PyTorch's
    ``torch._weight_norm``)."""
    return v * (g / norm_except_dim(v, 2, dim))


class _WeightNorm(Module):
    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_norm_value(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor):
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrize ``module.<name>`` as ``g * v / ||v||`` (weight normalization, Salimans &
    Kingma), with ``g`` and ``v`` trained separately.

    ``g`` (``parametrizations.<name>.original0``) holds the norms, one per slice along ``dim``
    (shaped like the weight with size 1 elsewhere; 0-d for ``dim=None``); ``v`` (``original1``)
    starts as the weight. A state dict from the old ``nn.utils.weight_norm`` (``<name>_g``,
    ``<name>_v``) still loads.

    Args:
        module: the module holding the weight.
        name: the parameter's name.
        dim: the dimension that keeps its own norm; None for one norm of the whole tensor.

    Returns:
        ``module``.

    >>> import deltagrad as dg
    >>> layer = weight_norm(dg.nn.Linear(4, 3))
    >>> [(k, tuple(v.shape)) for k, v in layer.state_dict().items()]
    [('bias', (3,)), ('parametrizations.weight.original0', (3, 1)), ('parametrizations.weight.original1', (3, 4))]
    """  # noqa: E501
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def load_old_layout(state_dict, prefix, local_metadata, strict, missing_keys,
                        unexpected_keys, error_msgs) -> None:
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)

    module._register_load_state_dict_pre_hook(load_old_layout)
    return module


# ----------------------------------------------------------------------------------------------
# Spectral normalization.


def _as_matrix(weight: Tensor, dim: int) -> Tensor:
    """``weight`` with ``dim`` first and the other dimensions flattened: ``[h, w]``."""
    if dim != 0:
        weight = weight.permute(dim, *(d for d in range(weight.ndim) if d != dim))
    return weight.flatten(1)


def _normalized(x: Tensor, eps: float) -> Tensor:
    return F.normalize(x, dim=0, eps=eps)


def _write(target: Tensor, value: Tensor) -> None:
    target.detach().numpy()[...] = value.detach().numpy()  # buffers are updated in place


class _SpectralNorm(Module):
    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, "
                             f"{ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            matrix = _as_matrix(weight.detach(), self.dim)
            h, w = matrix.shape
            self.register_buffer("_u", _normalized(dg.randn(h, dtype=weight.dtype), eps))
            self.register_buffer("_v", _normalized(dg.randn(w, dtype=weight.dtype), eps))
            self._power_method(matrix, 15)

    def _power_method(self, matrix: Tensor, n_power_iterations: int) -> None:
        # u and v approach the leading singular vectors of the matrix; sigma = u' W v.
        with no_grad():
            for _ in range(n_power_iterations):
                _write(self._u, _normalized(dg.mv(matrix, self._v), self.eps))
                _write(self._v, _normalized(dg.mv(matrix.T, self._u), self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return _normalized(weight, self.eps)
        matrix = _as_matrix(weight, self.dim)
        if self.training:
            self._power_method(matrix, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        sigma = dg.vdot(u, dg.mv(matrix, v))
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def _default_spectral_dim(module: Module) -> int:
    from .conv2d import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d

    return 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Reparametrize ``module.<name>`` as ``W / sigma(W)``, ``sigma`` its largest singular
    value estimated by power iteration (spectral normalization, Miyato et al.).

    In training mode every access runs ``n_power_iterations`` steps, updating the buffers
    ``parametrizations.<name>.0._u`` and ``._v`` in place; in evaluation mode they are used as
    they are. They start from random unit vectors (deltagrad's generator) refined by 15
    iterations, as PyTorch's.

    Args:
        module: the module holding the weight.
        name: the parameter's name.
        n_power_iterations: power-iteration steps per access in training mode.
        eps: keeps the normalizations away from dividing by zero.
        dim: the dimension of the output features (1 for transposed convolutions, else 0).

    Returns:
        ``module``.

    Raises:
        ValueError: no tensor named ``name``, or ``n_power_iterations`` is not positive.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = _default_spectral_dim(module)
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


# ----------------------------------------------------------------------------------------------
# Orthogonal matrices.

_MAPS = ("matrix_exp", "cayley", "householder")


def _make_orthogonal(a: Tensor) -> Tensor:
    """The Q of a's QR decomposition with R's diagonal made positive (unique for full rank)."""
    q, r = linalg_qr(a)
    return q * r.diagonal(dim1=-2, dim2=-1).sgn().unsqueeze(-2)


def _is_orthogonal(q: Tensor) -> bool:
    n, k = q.shape[-2], q.shape[-1]
    identity = dg.eye(k, dtype=q.dtype)
    return bool(dg.allclose(q.mH @ q, identity, atol=10.0 * n * dg.finfo(q.dtype).eps))


class _Orthogonal(Module):
    def __init__(self, weight: Tensor, orthogonal_map: str, *,
                 use_trivialization: bool = True) -> None:
        super().__init__()
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:  # noqa: N803 - PyTorch's names (X, Q)
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            X = X.tril()
            if n != k:  # a square skew-symmetric matrix from the n x k lower triangle
                X = dg.cat([X, dg.zeros(*X.shape[:-2], n, n - k, dtype=X.dtype)], dim=-1)
            A = X - X.mH
            if self.orthogonal_map == "matrix_exp":
                Q = dg.matrix_exp(A)
            else:  # Cayley: (I - A/2)^-1 (I + A/2)
                identity = dg.eye(n, dtype=A.dtype)
                Q = solve(identity - 0.5 * A, identity + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(diagonal=-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = householder_product(A, tau)
            # NOTE: the signs of the columns come from the diagonal truncated to integers
            # (PyTorch's rule): -1 or 1 after right_inverse, 0 (a zero column) in between.
            Q = Q * X.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        if "base" in self._buffers:
            Q = self.base @ Q
        if transposed:
            Q = Q.mT
        return Q

    def right_inverse(self, Q: Tensor) -> Tensor:  # noqa: N803
        with no_grad():
            if Q.shape != self.shape:
                raise ValueError(f"Expected a matrix or batch of matrices of shape "
                                 f"{self.shape}. Got a tensor of shape {Q.shape}.")
            Q_init = Q  # noqa: N806
            n, k = Q.shape[-2], Q.shape[-1]
            transposed = n < k
            if transposed:
                Q = Q.mT
                n, k = k, n
            if "base" not in self._buffers:
                if self.orthogonal_map in ("matrix_exp", "cayley"):
                    raise NotImplementedError(
                        "It is not possible to assign to the matrix exponential or the Cayley "
                        "parametrizations when use_trivialization=False.")
                A, tau = dg.geqrf(Q)
                # The diagonal's signs, flipped where tau is 0 (no reflection there): the
                # householder map's column signs.
                array, index = A.numpy(), np.arange(k)
                signs = np.sign(array[..., index, index])
                signs[tau.numpy() == 0.0] *= -1
                array[..., index, index] = signs
                return A.mT if transposed else A
            if n == k:
                Q = Q.clone() if _is_orthogonal(Q) else _make_orthogonal(Q)
            else:  # complete to a square matrix with random columns
                extra = dg.randn(*Q.shape[:-2], n, n - k, dtype=Q.dtype)
                Q = _make_orthogonal(dg.cat([Q, extra], dim=-1))
            self.base = Q
            rows, columns = Q_init.shape[-2], Q_init.shape[-1]
            return -dg.eye(rows, columns, dtype=Q_init.dtype).expand(Q_init.shape).clone()


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """Reparametrize the matrix (or batch of matrices) ``module.<name>`` to stay orthogonal:
    ``Q^T Q = I`` (or ``Q Q^T = I`` for a wide matrix).

    Args:
        module: the module holding the weight.
        name: the tensor's name.
        orthogonal_map: ``"matrix_exp"`` (default for square matrices), ``"cayley"`` or
            ``"householder"`` (default otherwise).
        use_trivialization: keep a ``base`` buffer the map is applied relative to (assigning
            to the weight then works for every map).

    Returns:
        ``module``.

    Raises:
        ValueError: no such tensor, fewer than 2 dimensions, or an unknown map.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of "
                         f"{weight.ndim} dimensions.")
    if orthogonal_map is None:
        square = weight.shape[-2] == weight.shape[-1]
        orthogonal_map = "matrix_exp" if square else "householder"
    if orthogonal_map not in _MAPS:
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", '
                         f'"householder". Got: {orthogonal_map}')
    parametrization = _Orthogonal(weight, orthogonal_map,
                                  use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, parametrization, unsafe=True)
    return module
