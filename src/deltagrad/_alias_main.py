"""The main module of a script that ``python -m deltagrad run`` runs, as multiprocessing's
spawn and forkserver children import it.

A child process started with the "spawn" (or "forkserver") method rebuilds its parent's
``__main__`` before it unpickles the work it was given. From a script run as ``python
script.py`` it would run the file as plain Python, where ``import torch`` is the real PyTorch
(or no module at all), and a deltagrad tensor or a function of the script sent to the child
fails to unpickle (``torch.multiprocessing.spawn``'s DDP examples, a DataLoader with a spawn
context, stable-baselines3's subprocess environments). ``cli._run_script`` therefore gives the
script's ``__main__`` a ``__spec__`` naming this module: the child imports it (as
``__mp_main__``), it puts the alias in place and runs the script's code as its own, without the
script's ``if __name__ == "__main__":`` part, as CPython's children do.
"""

import os
import runpy
import sys

from deltagrad.torch_alias import install, installed

if __name__ == "__mp_main__":  # (imported as a child's main module; else, e.g. by pytest's
    # doctest collection or a walk over the package's modules, it does nothing)
    if not installed():
        install()
    # The script's path, absolute (the parent's ``run`` set it; children inherit the
    # environment), else the argv the parent gave its children.
    _script = os.environ.get("DELTAGRAD_RUN_SCRIPT") or sys.argv[0]
    _namespace = runpy.run_path(_script, run_name=__name__)
    for _key in ("__spec__", "__loader__", "__package__", "__cached__"):  # (this module's
        _namespace.pop(_key, None)  # stay: a child's own spawned children find the alias so)
    globals().update(_namespace)
