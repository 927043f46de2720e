"""The differences between deltagrad and PyTorch that the program fuzzer
(``s17_SL_progfuzz.py``) finds and that were reviewed and left as they are: each entry is a
test on a minimised failing program (its lines and ``(line, kind, text)`` failure) and the
reason. ``test_s17_SL_progfuzz.py`` keeps one example per entry that must still differ."""

from __future__ import annotations

import warnings

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
    return (failure[1] == "silent" and ".grad: None vs torch's a tensor" in failure[2]
            and any(".retain_grad()" in line for line in lines))


def _saved_then_detached(lines, failure):
    return failure[1] == "permissive" and "has been detached in-place" in failure[2]


def _freed_view_of_leaf(lines, failure):
    return (failure[1] == "permissive" and "a view of a leaf Variable" in failure[2]
            and any("backward(" in line or "autograd.grad(" in line
                    for line in lines[:failure[0]]))


def _torch_internal_assert(lines, failure):
    return failure[1] == "permissive" and "INTERNAL ASSERT FAILED" in failure[2]


def _grad_through_freed(lines, failure):
    return (failure[1] == "permissive" and "graph a second time" in failure[2]
            and "torch.autograd.grad(" in lines[failure[0]]
            and not any("rounding_mode='" in line for line in lines))


def _kept_setitem_graph(lines, failure):
    return (failure[1] == "permissive" and "graph a second time" in failure[2]
            and ".backward(" in lines[failure[0]] and any("] = " in line for line in lines))


KNOWN = [
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
    (_freed_view_of_leaf,
     "an in-place op in grad mode on a view of a leaf after a backward freed the view's "
     "node: PyTorch still refuses (a view of a leaf that requires grad); deltagrad's freed "
     "node no longer names its base and writes (permissive; under no_grad both write)"),
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
     "a view taken of a tensor outside the graph, whose base then joins the graph through an "
     "in-place op with a value that requires grad (`v = buf[:, 0]; buf.copy_(h)`): PyTorch's "
     "v requires grad and carries gradient to h; deltagrad's v stays outside the graph (its "
     "views keep only upward links; finding them from the base needs a view index)"),
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
     "its base or a sibling changed in place; deltagrad keeps the view's node (permissive)"),
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
