"""The differences between deltagrad and PyTorch that the program fuzzer
(``s17_SL_progfuzz.py``) finds and that were reviewed and left as they are: each entry is a
test on a minimised failing program (its lines and ``(line, kind, text)`` failure) and the
reason. ``test_s17_SL_progfuzz.py`` keeps one example per entry that must still differ."""

from __future__ import annotations

import ast
import warnings

import numpy as np
import torch


def _multi_output_view_grad_fn(lines, failure):
    return failure[1] == "silent" and ("is_leaf: False != torch's ('raises'" in failure[2]
                                       or "grad_fn is None: " in failure[2]
                                       and "('raises'" in failure[2])


def _late_requires_grad(lines, failure):
    # requires_grad_(True / False) or detach_() on a tensor that has views already.
    if not any(".requires_grad_(" in line or ".detach_()" in line
               for line in lines[:failure[0] + 1]):
        return False
    return (failure[1] == "silent" and ("requires_grad: False != torch's True" in failure[2]
                                        or ".grad: a tensor vs torch's None" in failure[2])
            or failure[1] == "we-raise" and "A view was created in no_grad mode" in failure[2]
            or failure[1] == "permissive" and "a view of a leaf Variable" in failure[2])


def _writes_as_strided(lines, failure):
    return (failure[1] == "we-raise" and "single memory location" in failure[2]
            and any(".as_strided(" in line for line in lines))


def _second_backward_unsaved(lines, failure):
    return failure[1] == "we-raise" and "backward through the graph a second time" in failure[2]


def _input_overlap(lines, failure):
    return failure[1] == "permissive" and "some elements of the input tensor and the " \
        "written-to tensor refer to a single memory location" in failure[2]


def _empty_view_offset(lines, failure):
    # An empty view (a slice past the end, narrow to length 0, an off-edge diagonal)
    # re-strided: PyTorch's as_strided reads its storage offset.
    if "setStorage" in failure[2] and any(".as_strided(" in line for line in lines):
        return True
    if failure[1] != "silent" or ".values" not in failure[2]:
        return False
    ns = {"torch": torch}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for line in lines[:failure[0] + 1]:
            if ".as_strided(" in line and " = " in line:
                source = line.split(" = ", 1)[1].split(".as_strided(", 1)[0]
                try:
                    if eval(source, ns).numel() == 0:
                        return True
                except Exception:  # noqa: BLE001 - not the case looked for
                    pass
            try:
                exec(line, ns)
            except Exception:  # noqa: BLE001 - as in the run
                pass
    return False


def _elementwise_layout(lines, failure):
    # A result computed from an expanded or permuted input (not a leaf's .grad).
    return (failure[1] == "silent" and (".contiguous: " in failure[2]
                                        or ".stride: " in failure[2])
            and ".grad" not in failure[2])


def _view_before_join(lines, failure):
    if failure[1] == "silent" and "is_leaf: False != torch's ('raises'" in failure[2]:
        # (a no_grad view of a tensor that joined: a node whose backward raises, s20 BR)
        return any(line.startswith("with torch.no_grad(): ") and " = " in line
                   for line in lines)
    return (failure[1] == "silent" and "requires_grad: False != torch's True" in failure[2]
            and not any(".requires_grad_(" in line for line in lines))


def _data_swapped_view(lines, failure):
    return failure[1] == "permissive" and any(".data = " in line for line in lines)


def _rounded_div_saved(lines, failure):
    return (failure[1] == "permissive" and ("modified by an inplace operation" in failure[2]
                                            or "graph a second time" in failure[2])
            and any("rounding_mode='" in line for line in lines))


def _hook_before_capture(lines, failure):
    name = failure[2].split("[", 1)[0].split(".", 1)[0]
    return (failure[1] == "silent" and any(".register_hook(" in line for line in lines)
            and any(line.startswith(f"{name} = torch.autograd.grad(") for line in lines))


def _bool_matmul(lines, failure):
    return failure[1] == "raise-mismatch" and "not implemented for 'Bool'" in failure[2]


def _write_into_expanded(lines, failure):
    return (failure[1] == "we-raise" and "single memory location" in failure[2]
            and any(".expand(" in line for line in lines))


def _regenerated_view(lines, failure):
    if not any(line.startswith("with torch.no_grad():") for line in lines):
        return False
    return (failure[1] == "permissive" and "appears to not have been used in the graph"
            in failure[2] or failure[1] == "silent" and "kind tensor != torch's None"
            in failure[2] and "torch.autograd.grad(" in lines[failure[0]])


def _partial_backward(lines, failure):
    # A backward that raises at a freed node; PyTorch has run the nodes above it by then.
    # (A second backward: one alone, over a view whose base changed, fills .grad as
    # PyTorch's since session 18.)
    backwards = sum("backward(" in line or "autograd.grad(" in line
                    for line in lines[:failure[0] + 1])
    return (failure[1] == "silent" and ".grad: None vs torch's a tensor" in failure[2]
            and any(".retain_grad()" in line for line in lines) and backwards >= 2)


def _saved_then_detached(lines, failure):
    return failure[1] == "permissive" and "has been detached in-place" in failure[2]


def _torch_internal_assert(lines, failure):
    return failure[1] == "permissive" and "INTERNAL ASSERT FAILED" in failure[2]


def _grad_through_freed(lines, failure):
    return (failure[1] == "permissive" and "graph a second time" in failure[2]
            and "torch.autograd.grad(" in lines[failure[0]]
            and not any("rounding_mode='" in line for line in lines))


def _kept_setitem_graph(lines, failure):
    return (failure[1] == "permissive" and "graph a second time" in failure[2]
            and ".backward(" in lines[failure[0]] and any("] = " in line for line in lines))


def _torch_clamp_broadcast(lines, failure):
    return (failure[1] == "permissive" and "doesn't match the broadcast shape" in failure[2]
            and any("clamp(" in line for line in lines))


def _loss_saves_derived(lines, failure):
    return (failure[1] == "permissive" and "modified by an inplace operation" in failure[2]
            and any(loss in line for line in lines
                    for loss in ("l1_loss(", "mse_loss(",
                                 "masked_select(")))


def _all_ignored_smoothed(lines, failure):
    return (failure[1] == "we-raise" and "modified by an inplace operation" in failure[2]
            and any("label_smoothing=" in line and "ignore_index=" in line for line in lines))


def _out_grows_storage(lines, failure):
    # out= of a larger size than its storage holds, with a view or base of it kept.
    return failure[1] == "silent" and ".values" in failure[2] and any(
        "out=" in line for line in lines[:failure[0] + 1]) and _grows(lines[:failure[0] + 1])


def _grows(lines):
    ns = {"torch": torch}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for line in lines:
            if "out=" in line:
                target = line.split("out=", 1)[1].split(")", 1)[0]
                try:
                    t = eval(target, ns)
                    before = (t.untyped_storage().nbytes(), t.untyped_storage().data_ptr())
                except Exception:  # noqa: BLE001 - not the case looked for
                    before = None
            try:
                exec(line, ns)
            except Exception:  # noqa: BLE001 - as in the run
                pass
            if "out=" in line and before is not None:
                after = eval(target, ns).untyped_storage()
                if after.nbytes() > before[0]:
                    return True
    return False


def _ill_conditioned_norm(lines, failure):
    # Float32 layer_norm of rows of near-equal values (a softmax over two classes): a last
    # bit of difference in the input becomes ~1e-3 relative in the output and gradient.
    if failure[1] != "silent" or ".values: " not in failure[2] or not any(
            "layer_norm(" in line or "LayerNorm(" in line for line in lines):
        return False
    got, ref = failure[2].split(".values: ", 1)[1].split(" != torch's ", 1)
    try:
        got, ref = np.array(ast.literal_eval(got)), np.array(ast.literal_eval(ref))
    except (ValueError, SyntaxError):
        return False
    return got.shape == ref.shape and bool(np.allclose(got, ref, rtol=2e-3, atol=1e-5,
                                                       equal_nan=True))


def _complex_zero_pow(lines, failure):
    return (failure[1] == "silent" and ".values" in failure[2] and "j" in failure[2]
            and any("complex" in line and "**" in line for line in lines))


def _adam_of_rounding_noise(lines, failure):
    # Adam normalises a gradient that is zero up to rounding (a softmax's or a norm's summed
    # output: PyTorch ~1e-8, deltagrad 0) into steps of lr: values apart by at most lr a step.
    if failure[1] != "silent" or ".values: " not in failure[2]:
        return False
    steps = sum(line.count(".step()") for line in lines[:failure[0] + 1])
    if not steps or not any("optim.Adam" in line for line in lines) or not any(
            f in line for line in lines for f in ("softmax(", "layer_norm(", "LayerNorm(")):
        return False
    got, ref = failure[2].split(".values: ", 1)[1].split(" != torch's ", 1)
    try:
        got, ref = np.array(ast.literal_eval(got)), np.array(ast.literal_eval(ref))
    except (ValueError, SyntaxError):
        return False
    return got.shape == ref.shape and bool(np.all(np.abs(got - ref) <= 0.11 * steps))


def _out_is_an_input(lines, failure):
    # out= naming a tensor that the same call reads (itself or a view of it).
    if failure[1] != "silent":
        return False
    for line in lines[:failure[0] + 1]:
        if "out=" in line:
            target = line.split("out=", 1)[1].split(")", 1)[0]
            args = line.split("out=", 1)[0]
            names = {n for n in args.replace("(", " ").replace(",", " ").replace("[", " ")
                     .replace("]", " ").split() if n[:1] == "a" and n[1:].isdigit()}
            if target in names or any(_shares(lines, n, target) for n in names):
                return True
    return False


def _shares(lines, a, b):
    ns = {"torch": torch}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for line in lines:
            if "out=" in line:
                break
            try:
                exec(line, ns)
            except Exception:  # noqa: BLE001 - as in the run
                pass
    x, y = ns.get(a), ns.get(b)
    return (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)
            and x.untyped_storage().data_ptr() == y.untyped_storage().data_ptr())


def _norm_rounding_compared(lines, failure):
    # An element of a layer_norm that equals its row's mean: PyTorch's x - mean is exactly 0,
    # deltagrad's row products (ops/normalization.py's _dense_stats) leave ~1e-8, which a
    # comparison, all() or a mask then turns into a different answer.
    return (failure[1] == "silent" and (".values" in failure[2] or ".shape" in failure[2])
            and any("layer_norm(" in line or "LayerNorm(" in line for line in lines)
            and any(c in lines[failure[0]] for c in (" < ", " > ", ".all(", ".any(", "==",
                                                     "count_nonzero", "sign()", "bool(")))


def _zero_sign(lines, failure):
    # Values that differ only by the sign of infinities: a zero's sign (a loss of one class
    # is -0.0 or +0.0) divided into.
    if failure[1] != "silent" or ".values: " not in failure[2]:
        return False
    got, ref = failure[2].split(".values: ", 1)[1].split(" != torch's ", 1)
    try:
        got = np.array(ast.literal_eval(got.replace("inf", "1e999")), dtype=float)
        ref = np.array(ast.literal_eval(ref.replace("inf", "1e999")), dtype=float)
    except (ValueError, SyntaxError, TypeError):  # (TypeError: complex values)
        return False
    return (got.shape == ref.shape and bool(np.isinf(ref).any())
            and bool(np.array_equal(np.abs(got), np.abs(ref), equal_nan=True)))


KNOWN = [
    (_norm_rounding_compared,
     "a layer_norm element equal to its row's mean: PyTorch's is exactly 0, deltagrad's "
     "~1e-8 (its rows are centred by a matrix product), which a comparison then tells apart"),
    (_zero_sign,
     "the sign of a zero (cross_entropy of one class: PyTorch +0.0 or -0.0 depending on "
     "reduction and weight, deltagrad the other) seen through a division (+-inf)"),
    (_out_is_an_input,
     "out= naming a tensor the call also reads (`torch.sum(v, 0, out=base)` with v a view of "
     "base): PyTorch resizes and writes while it reads, which gives what its loop order "
     "makes; deltagrad computes the result first and then writes it"),
    (_adam_of_rounding_noise,
     "Adam / AdamW steps on a gradient that is zero up to rounding (the gradient of a "
     "softmax's or layer_norm's summed output: PyTorch's rounding leaves ~1e-8, deltagrad's "
     "exactly 0): Adam scales the noise to a step of lr, so parameters part by up to lr"),
    (_out_grows_storage,
     "out= of a tensor whose storage is too small for the result: PyTorch grows that storage "
     "in place, so its base and other views see the new values; deltagrad gives out a new "
     "array (NumPy cannot grow memory under live views). Where the storage holds the result, "
     "deltagrad writes it there as PyTorch (api/_common.resize_in_storage)"),
    (_ill_conditioned_norm,
     "float32 layer_norm of rows of near-equal values: one unit in the last place of its "
     "input (a softmax's rounding) is ~1e-3 relative after normalising; deltagrad's results "
     "are as close to float64's as PyTorch's"),
    (_complex_zero_pow,
     "complex pow with a zero base: PyTorch's std::pow gives nan for 0 ** 0 and inf+nanj for "
     "0 ** negative, NumPy's 1 and nan+nanj"),
    (_torch_clamp_broadcast,
     "clamp with tensor bounds that broadcast a smaller input to a larger result "
     "(`torch.clamp(x0d, min=m24)`): PyTorch's forward gives the larger shape and its "
     "backward then raises (a PyTorch bug); deltagrad gives the gradient"),
    (_loss_saves_derived,
     "mse / l1 loss (masked_select) whose input then changed in place (an optimizer step): "
     "PyTorch's rule saved the input and refuses; deltagrad's saved the "
     "difference (the mask) it needs and gives the gradient of the graph as recorded "
     "(permissive)"),
    (_all_ignored_smoothed,
     "cross_entropy with label_smoothing where every target is ignore_index (nan loss): "
     "deltagrad's composition saves the logits (softmax_cross_entropy) and refuses a "
     "backward after they change in place; PyTorch's log_softmax saved its output and runs"),
    (_kept_setitem_graph,
     "a second backward without retain_graph through an item assignment of a constant: "
     "PyTorch's CopySlices frees and refuses; deltagrad keeps a graph whose rules read no "
     "saved value (versions.unsaved_graph) and backwards again (permissive)"),
    (_grad_through_freed,
     "autograd.grad, after a backward, through a node that saved a value in PyTorch and "
     "nothing in deltagrad (max / min(dim) of a 0-d tensor: MaxBackward0 saves indices, "
     "deltagrad's node is a getitem): PyTorch raises the freed-graph error; deltagrad kept "
     "the wholly unsaved graph (versions.unsaved_graph) and gives the gradient (permissive). "
     "Where deltagrad's node was freed, grad() raises as PyTorch, allow_unused or not "
     "(graph_walks._check_freed; tests/parity/test_s17_SL2_fixes.py)"),
    (_torch_internal_assert,
     "PyTorch's own internal assert (`(True ** x).sum().backward()`: 'unknown ivalue tag' in "
     "Scalar.cpp, a PyTorch bug); deltagrad gives the gradient"),
    (_saved_then_detached,
     "detach_() of a tensor whose value a consumer saved: PyTorch refuses that consumer's "
     "backward; deltagrad's consumer keeps the (unchanged) value and backwards (permissive)"),
    (_regenerated_view,
     "autograd.grad with respect to a view whose base then changed in place under no_grad "
     "(a leaf's storage, which takes no new node): PyTorch gives the view a new grad_fn, "
     "which graphs made before do not contain (it raises 'not used in the graph'); "
     "deltagrad finds the view in them (permissive; a change that makes a new node remakes "
     "the request too: versions._follow)"),
    (_partial_backward,
     "a second backward that reaches a freed node: PyTorch raises after running (and "
     "retaining .grad of) the nodes above it; deltagrad checks the graph first and changes "
     "nothing before raising"),
    (_hook_before_capture,
     "autograd.grad with a hooked non-leaf among its inputs: PyTorch returns that input's "
     "gradient after its hooks when nothing below it is requested and before them when "
     "something is (`grad(y2, [y])` -> hooked, `grad(y2, [y, x])` -> not); deltagrad's is "
     "always hooked, as retain_grad's .grad is in both"),
    (_bool_matmul,
     "matmul with a bool operand and another dtype: PyTorch raises RuntimeError (dtypes "
     "differ) or, on its bmm path for an expanded batch, NotImplementedError (no Bool bmm); "
     "deltagrad raises the RuntimeError"),
    (_write_into_expanded,
     "an in-place write into a view of an expanded tensor that itself does not overlap "
     "(`x.expand(3)[0].clamp_(0)`): NumPy's views of a broadcast array are read-only, so "
     "deltagrad refuses; PyTorch writes the shared element"),
    (_view_before_join,
     "a view taken under no_grad: of a tensor that requires grad, PyTorch's view reports "
     "requires_grad True (with grad_fn None, no gradient through it); of one that joins the "
     "graph in place later, requires_grad True and a grad_fn that raises (as does any use). "
     "deltagrad's stays outside the graph (requires_grad False; a backward through it "
     "raises: versions._check_stale_view), or, of one that joins, becomes a node whose "
     "backward raises PyTorch's error (s20 BR; reading it is allowed). A view taken in grad "
     "mode before its base joins, "
     "`v = buf[:, 0]; buf.copy_(h)`, joins with it since session 19 (api/view_joins.py)"),
    (_data_swapped_view,
     "after `p.data = new`, an in-place op on a view of p taken before: PyTorch still sees a "
     "view of a leaf that requires grad and refuses; deltagrad's view no longer shares p's "
     "storage and takes the write (permissive)"),
    (_rounded_div_saved,
     "div with rounding_mode (a zero gradient): PyTorch saves its inputs and refuses after "
     "they change in place or a backward freed them; deltagrad's rule reads nothing "
     "(permissive, the zero is right)"),
    (_multi_output_view_grad_fn,
     "PyTorch refuses to read grad_fn (is_leaf, backward) of an unbind / split output once "
     "its base or a sibling changed in place, and of an unbind / split / chunk output of a "
     "tensor outside the graph that then joined it in place (`a, b = buf.unbind(); "
     "buf.copy_(h)`); deltagrad keeps the view's node, or gives it one over its base's new "
     "node as for other views (api/view_joins.py; permissive)"),
    (_late_requires_grad,
     "views taken before their base's requires_grad_() / detach_(): PyTorch's follow the "
     "base's flag "
     "(requires_grad True with grad_fn None, no gradient through them; an in-place op on one "
     "refused after requires_grad_(False)), deltagrad's keep the flag they were made with"),
    (_writes_as_strided,
     "deltagrad makes as_strided views of a tensor that requires grad read-only (NOTE in "
     "api/strided.py: it cannot replay the write onto the base's graph); PyTorch writes"),
    (_second_backward_unsaved,
     "a second backward without retain_graph through nodes that saved nothing (a slice, "
     "reshape, cast, sub) runs in PyTorch; deltagrad frees every node of a graph that saved "
     "a value anywhere (autograd.py's sweep; unsaved_graph keeps only wholly unsaved graphs)"),
    (_input_overlap,
     "index_add_ / copy-like writes whose source overlaps the destination: PyTorch's "
     "assert_no_partial_overlap refuses, deltagrad reads the source first (permissive)"),
    (_empty_view_offset,
     "as_strided of an empty view (narrow to length 0): NumPy keeps no storage offset for an "
     "empty array, so deltagrad reads from the storage's start"),
    (_elementwise_layout,
     "an elementwise result of a transposed / permuted / expanded input: PyTorch's "
     "TensorIterator lays the output out like its inputs (a transposed result for `x.T / y`), "
     "deltagrad's NumPy ufuncs give C order (or keep a cast input's strides); values agree, "
     "is_contiguous and `.view` differ"),
]


def known(lines, failure):
    """The reason a (minimised) failure is a reviewed difference, or None."""
    for test, reason in KNOWN:
        if test(lines, failure):
            return reason
    return None


def chain_known(previous, entries):
    """A later session's ``known``: ``previous`` (the earlier families' predicate) first, then
    ``entries`` (its own ``KNOWN`` list of (test, reason)); a minimised program that stopped
    failing (its failure past its last line) is reported, not taken as known."""
    def known(lines, failure):
        """The reason a (minimised) failure is a reviewed difference, or None."""
        if failure[0] >= len(lines):
            return None
        reason = previous(lines, failure)
        if reason:
            return reason
        for test, why in entries:
            if test(lines, failure):
                return why
        return None
    return known


def own_first(entries, previous, ours=()):
    """A later session's ``known`` that reads its own ``entries`` first (the earlier lists'
    broad entries would name other causes), then ``previous``; a failing line that uses the
    family's own API (any of ``ours``) is left to the family's entries alone."""
    def known(lines, failure):
        """The reason a (minimised) failure is a reviewed difference, or None."""
        if failure[0] < len(lines):
            for test, why in entries:
                if test(lines, failure):
                    return why
            if any(t in lines[failure[0]] for t in ours):
                return None
        return previous(lines, failure)
    return known
