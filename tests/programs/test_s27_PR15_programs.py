"""Library-internals programs, session 27 (PR15): torch used the way libraries and framework
glue use it inside, run unchanged under ``import deltagrad as torch``.

Subclasses (prog_s27_PR15_subclass.py): a TorchFunctionMode that counts and one that changes
results, ``as_subclass`` and which results keep the subclass, a logging and a
metadata-carrying ``__torch_function__``, duck types dispatched through
``has_torch_function`` / ``handle_torch_function``, isinstance checks. Introspection
(prog_s27_PR15_introspect.py): the promotion table, Size and device behaviour, dtype
properties, finfo / iinfo, strides / storage offsets / data_ptr of views, the default dtype's
effect on factories and promotion, defaults and thread counts, TorchVersion comparisons.
Copying (prog_s27_PR15_copying.py): pickling a module with its own ``__getstate__``,
copy / deepcopy / pickle / torch.save of tensors, Parameters, modules with hooks, buffers and
tied weights, optimizers and schedulers; weak references. Registries
(prog_s27_PR15_registry.py): named_modules with memo / prefix / remove_duplicate,
get / set_submodule, add_module and its errors, ``__setattr__`` / ``__delattr__`` rules,
state-dict hooks and a ``_load_from_state_dict`` upgrade with strict and assign loading. Glue
(prog_s27_PR15_glue.py): assert_close's messages, deterministic switches, compile / jit as
no-ops (with jit's DeprecationWarnings), grad-mode helpers, RemovableHandle, default_collate /
default_convert internals, warnings filters.

``prog_s27_PR15_*.py`` are written afresh (tiny sizes, seeded) and run unchanged on the real
PyTorch and under ``python -m deltagrad run``, one process per side for all sections. Each
section's whole stdout must agree character for character, its warnings by category and first
sentence, its recorded numbers to float tolerance.
"""

from __future__ import annotations

import os

import alias_runs
import pytest
from alias_runs import run_both

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s27_PR15_all.py")
RTOL, ATOL = 1e-5, 1e-6

# section -> its key prefix and how many keys it must record at least (stdout, warnings, puts)
SECTIONS = {
    # prog_s27_PR15_subclass.py
    "function_mode": ("fmd", 4), "as_subclass": ("sub", 4), "torch_function_log": ("tfl", 4),
    "metadata_tensor": ("meta", 4), "overrides": ("ovr", 2), "isinstance": ("isa", 2),
    # prog_s27_PR15_introspect.py
    "promotion_table": ("prm", 2), "size_device": ("szd", 2), "dtype_props": ("dtp", 2),
    "finfo_iinfo": ("fin", 4), "memory_layout": ("mem", 2), "default_dtype": ("ddt", 2),
    "defaults_misc": ("dmi", 2), "version": ("ver", 2),
    # prog_s27_PR15_copying.py
    "module_pickle": ("mpk", 2), "copy_tensors": ("cpt", 4), "copy_parameters": ("cpp", 2),
    "copy_modules": ("cpm", 4), "copy_optim": ("cpo", 4), "weakrefs": ("wkr", 2),
    # prog_s27_PR15_registry.py
    "named_modules": ("nmd", 2), "submodules": ("smd", 2), "setattr": ("sat", 2),
    "state_dict_hooks": ("sdh", 4),
    # prog_s27_PR15_glue.py
    "assert_close": ("acl", 2), "deterministic": ("det", 2), "compile_noops": ("cmp", 4),
    "grad_mode": ("gmd", 2), "removable_handle": ("rmh", 2), "collate": ("col", 4),
    "warning_filters": ("wfl", 2),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers) of every section, from one run per side."""
    folder = tmp_path_factory.mktemp("s27_PR15")
    return run_both(PROGRAM, folder, ",".join(SECTIONS))


@pytest.mark.parametrize("section", list(SECTIONS))
def test_program_section(results, section):
    prefix, at_least = SECTIONS[section]
    alias_runs.compare_section(results, section, (prefix,), at_least=at_least, rtol=RTOL,
                               atol=ATOL)


def test_programs_do_their_job(results):
    # The comparisons above would pass if both sides printed nothing; these would not.
    _, ours = results

    def text(key):
        return str(ours[f"{key}.log.stdout"])

    for key, lines in (("fmd", 5), ("sub", 12), ("ovr", 9), ("isa", 12), ("prm", 15),
                       ("szd", 12), ("dtp", 14), ("fin", 14), ("mem", 16), ("ddt", 9),
                       ("cpt", 9), ("cpo", 7), ("nmd", 10), ("smd", 15), ("sat", 18),
                       ("sdh", 10), ("acl", 30), ("gmd", 12), ("col", 15)):
        assert text(key).count("\n") >= lines, key
    assert "dispatched norm 8.0" in text("ovr") and "overridable True" in text("ovr")
    assert "half default torch.float16" in text("ddt")
    assert "pickle requires_grad True None" in text("cpt")
    assert "tensor hook [10.0, 10.0] RemovableHandle" in text("rmh")
    assert "get_submodule AttributeError 0.0.weight `weight` is not an nn.Module" in text("smd")
    assert "float size TypeError" in text("szd")
    assert "upgraded <All keys matched successfully> [('0.', None)]" in text("sdh")
    assert "`torch.jit.trace` is deprecated" in str(ours["cmp.log.warnings"])


def _under_default(name, fn):
    """``fn``'s outcome with the default dtype set to ``name``'s dtype of its library."""
    def run(lib):
        lib.set_default_dtype(getattr(lib, name))
        try:
            return fn(lib)
        finally:
            lib.set_default_dtype(lib.float32)
    return run


# Known differences, kept out of the programs (each one line to reproduce):
# - hash(tensor) is object.__hash__ here (id(t) // 16), PyTorch's is id(t) itself; a Python
#   __hash__ would cost ~2% of a small training step: ``hash(t) == id(t)``
# - a Python complex under the default dtype float16 makes a complex32 tensor in PyTorch (with
#   an "experimental" warning); NumPy has no complex32, so deltagrad raises NotImplementedError:
#   ``torch.set_default_dtype(torch.float16); torch.tensor(1j)`` (also tensor([1, 2]) + 1j)
# - a Tensor subclass's __torch_function__ is not called for property reads (shape, dtype,
#   requires_grad), len / repr / tolist / numpy / size / dim here (PyTorch calls it for each), and
#   float() shows it the engine's "_one" where PyTorch shows "__float__":
#   ``class L(torch.Tensor): __torch_function__ = logging one; torch.ones(2).as_subclass(L).dim()``
# - copy.deepcopy of a plain Tensor subclass works here; PyTorch refuses one whose new_empty()
#   does not return the subclass (RuntimeError): ``copy.deepcopy(torch.ones(1).as_subclass(T))``
KNOWN = {
    "hash_is_id": lambda t: (lambda x: hash(x) == id(x))(t.ones(1)),
    "complex32_default": _under_default("float16", lambda t: str(t.tensor(1j).dtype)),
    "torch_function_on_dim": lambda t: _dispatched_names(t, lambda x: (x.dim(), x.shape)),
    "subclass_deepcopy": lambda t: type(__import__("copy").deepcopy(
        t.ones(1).as_subclass(type("Plain", (t.Tensor,), {})))).__name__,
}


def _dispatched_names(lib, use):
    """The functions a logging subclass's __torch_function__ sees while ``use`` runs."""
    seen = []

    class Logged(lib.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            seen.append(getattr(func, "__name__", "?"))
            return super().__torch_function__(func, types, args, kwargs or {})
    use(lib.ones(2).as_subclass(Logged))
    return seen


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_differences(name):
    import warnings

    import deltagrad

    def outcome(lib):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return KNOWN[name](lib)
        except Exception as error:  # noqa: BLE001 - the class is the outcome
            return type(error).__name__
    # still different; when one is fixed, move it into a program and drop it here
    assert outcome(deltagrad) != outcome(torch)
