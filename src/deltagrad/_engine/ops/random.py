"""Random draws recorded in the graph: the draw is an input, the distribution's parameters get
zero gradients (PyTorch does not reparameterise ``normal``, ``bernoulli``, ``poisson``)."""

from __future__ import annotations

import numpy as np

from .registry import ARRAY, Sample, register


def _random_sample_vjp(F, g, out, draws, *params):
    # The result is the draws themselves (a constant leaf in practice). NOTE: zeros, not None,
    # for the parameters: PyTorch's result requires grad and its parameters get zeros.
    if F is ARRAY:  # (np.zeros, not np.zeros_like's Python wrapper: the rule 3.7 -> 1.3 us, timeit)
        # (p.shape / p.dtype of the arrays: np.shape + np.result_type cost 0.3 us each)
        return (g, *[np.zeros(p.shape, p.dtype) for p in params])
    return (g, *(F.zeros_like(p) for p in params))


register("random_sample", forward=lambda draws, *params: draws.copy(), vjp=_random_sample_vjp,
         samples=lambda rng: [Sample((rng.standard_normal((3,)), rng.standard_normal(3),
                                      rng.uniform(0.5, 1.0, (3,))))])
