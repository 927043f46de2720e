"""Fetch the source distributions whose own tests test_s27_LE16_suites.py runs under the alias
(vit-pytorch 1.26.14 and local-attention 1.11.2: the versions ``.ci/run`` pins; their wheels
leave the tests out) and unpack them into ``.venv/suites/``. scikit-learn's and SciPy's
array-API tests, which that file runs with torch too, ship inside their wheels: nothing to fetch.

``python tests/programs/prog_s27_LE16_fetch.py`` (``.ci/run`` calls it; it needs PyPI). An sdist
already unpacked is kept. The archives come from the index's simple page directly
(``prog_s21_LE5_fetch.fetch_direct``: sha256 checked), which builds no metadata.

Of LE16's list (s27), zuko, xitorch, torchquad, tensorly-torch, roma, torch-struct, ptwt,
entmax, torchkbnufft, e3nn, nflows, pytorch-optimizer, torch-optimizer, schedulefree, einx,
tntorch, pytorch-minimize, curvlinops, backpack and torch-pruning have their suites run already
(test_s14 ... test_s25_LE13_suites.py); earlier sessions found no runnable tests in torchdiffeq,
geomloss, opt-einsum-fx, TorchCRF, pytorch-crf and vector-quantize-pytorch (their fetch
programs say so). Looked at in s27, the sdists of the other libraries ``.ci/run`` pins that no
session had looked at: CoLT5-attention 0.11.2, axial-positional-embedding 0.3.12,
bottleneck-transformer-pytorch 0.1.4, conformer 0.3.2, denoising-diffusion-pytorch 2.3.4,
g-mlp-pytorch 0.1.5, halonet-pytorch 0.0.5, lambda-networks 0.4.0, linear-attention-transformer
0.19.1, linformer 0.2.3, lpips 0.1.4, mixture-of-experts 0.2.3, mlp-mixer-pytorch 0.3.1,
nystrom-attention 0.0.14, palm-pytorch 0.2.2, perceiver-pytorch 0.11.0, performer-pytorch 1.1.4,
product-key-memory 0.3.0, reformer-pytorch 1.4.4, rotary-embedding-torch 0.9.1, siren-pytorch
0.1.7, slot-attention 1.5.2 and tab-transformer-pytorch 0.4.2 hold no tests; deepdiff 7.0.1,
sensai-utils 1.6.0, plum-dispatch 2.9.0, lightning-utilities 0.15.3 and typeguard 2.13.3 none
that import torch; pyro-api 0.1.2's wheel holds ``pyroapi/tests``, which pyro's own
``tests/test_generic.py`` runs (pyro's suite, test_s14_LE_suites.py).
"""

import sys

from prog_s21_LE5_fetch import fetch_all_direct

# (name, version) -> the folder the sdist unpacks to. (The name as its archive spells it.)
DIRECT = {
    ("vit_pytorch", "1.26.14"): "vit_pytorch-1.26.14",
    ("local_attention", "1.11.2"): "local_attention-1.11.2",
}


if __name__ == "__main__":
    status = fetch_all_direct(DIRECT)
    sys.exit(status)
