"""The program fuzzer's nn.Module-API family (``s28_SL16_modules.py``: state_dict /
load_state_dict with strict, assign, prefixes, metadata versions and extra state; named_* with
prefix / recurse / remove_duplicate over tied weights and shared modules; register_* and
attribute assignment rules; train / eval / requires_grad_ / zero_grad / apply; dtype
conversions; get_submodule / set_submodule; container operations; forward, backward and
state-dict hooks; repr; copies and pickles; parametrize; parameters_to_vector) on a fixed
sample of programs, deltagrad against PyTorch after every line: both raise with compatible
classes, or neither does and everything agrees (names, identities, flags, hook logs, repr text
and outcomes recorded in variables). The soak run takes 2,000 more. Reviewed differences are
the earlier sessions' lists plus the family's own ``KNOWN``, each with an example below that
must still differ (a fixed one fails here: delete the entry)."""

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
import s28_SL16_modules as fuzz  # noqa: E402
import s30_DD1_family_tests as family_tests  # noqa: E402

SAMPLE = 20  # programs of seed 0: about 1.5 s of CPU (after the imports)
SOAK_SEEDS = range(1, 5)  # 500 programs each
# Texts that seed 7's first programs must contain between them: what the family draws.
NEEDLES = ("state_dict(prefix=", "keep_vars=", "load_state_dict(", "strict=",
           "assign=", "_metadata", "named_parameters(", "remove_duplicate=",
           "named_modules(", "register_buffer(", "register_parameter(", "add_module(",
           "del ", ".train(", ".requires_grad_(", ".zero_grad(", ".apply(",
           "get_submodule(", "set_submodule(", "torch.nn.ModuleList(",
           "torch.nn.ParameterDict(", "register_forward_hook(",
           "register_forward_pre_hook(", "with_kwargs=True", ".remove()",
           "register_state_dict_pre_hook(", "repr(", "deepcopy(",
           "register_parametrization(", "parameters_to_vector(", "functional_call(",
           "get_extra_state", "catch_warnings")


TIED = fuzz.MODULES["tied"][0].rstrip("\n")  # (a shared submodule too: self.c = self.a)
OUTCOME = ("with __import__('warnings').catch_warnings(record=True) as _w:\n"
           "    __import__('warnings').simplefilter('always')\n"
           "    try:\n"
           "        BODY\n"
           "        a9 = ['ok']\n"
           "    except Exception as e:\n"
           "        a9 = [type(e).__name__]\n"
           "    a9 += sorted({x.category.__name__ for x in _w})")

# One minimised program per reviewed difference of the family's KNOWN list: it must still
# differ, and the reason found must be that entry's.
EXAMPLES = {
    fuzz._functional_call_unties: [
        TIED,
        "torch.manual_seed(0); a0 = Tied()",
        "a1 = torch.func.functional_call(a0, {'a.weight': torch.zeros(3, 3)}, "
        "(torch.ones(1, 3),))",
        "a2 = [n for n, _ in a0.named_parameters()]"],
    fuzz._complex_to_real_warning: [
        "torch.manual_seed(0); a0 = torch.nn.Linear(2, 2)",
        OUTCOME.replace("BODY", "a0.to(torch.complex64); a0.to(torch.float64)")],
    fuzz._insert_non_module: [
        "a0 = torch.nn.ModuleList([torch.nn.ReLU()])",
        OUTCOME.replace("BODY", "a0.insert(0, 'x')")],
    fuzz._tuple_into_layer: [
        "torch.manual_seed(0); a0 = torch.nn.Sequential(torch.nn.Linear(3, 4), "
        "torch.nn.BatchNorm1d(4))",
        "a1 = a0[0].register_forward_hook(lambda mod, args, out: (out, out))",
        OUTCOME.replace("BODY", "a0(torch.ones(4, 3))")],
}


(test_fixed_sample_has_no_unreviewed_difference, test_soak, test_the_new_family_is_drawn,
 test_each_reviewed_difference_still_differs) = family_tests.standard(
    fuzz, sample=SAMPLE, soak_seeds=SOAK_SEEDS, needles=NEEDLES, drawn=60, examples=EXAMPLES)
