"""The public surface against PyTorch's: which names a PyTorch user reaches for are missing.

For each namespace (``torch``, ``torch.Tensor``, ``torch.nn.functional``, ``torch.nn``, ...)
the names PyTorch offers are filtered by an explicit, documented exclusion list (private names,
accelerators, quantization, sparse layouts, JIT/compiler internals, ...: ``EXCLUDED``). What
remains is in scope; every in-scope name deltagrad lacks must be listed in ``KNOWN_MISSING``
with the reason it is missing. A new gap (PyTorch grows a name, or deltagrad loses one) fails,
and so does a stale entry (the name now exists: delete it from the list).

Run as a script (``python tests/parity/test_parity_surface.py``) to print the counts and the
missing names per namespace.
"""

from __future__ import annotations

import inspect
import re
import sys

import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402

# ----------------------------------------------------------------------------------------------
# Out of scope by kind: (regex on the name, reason). A name matching any pattern of its
# namespace (or of "*", every namespace) is not counted at all.

EXCLUDED: dict[str, list[tuple[str, str]]] = {
    "*": [
        (r"^_", "private"),
        (r"cuda|cudnn|miopen|mkldnn|^mps$|xpu|mtia|ipu|xla|vulkan|hpu|maia|fbgemm|nnpack"
         r"|^is_meta$|pin_memory|is_pinned|record_stream|^accelerator$",
         "accelerators and vendor kernels: deltagrad runs on the CPU"),
        (r"quant|^q_|^qint|^quint|qscheme|^per_channel|^per_tensor|int_repr|dequantize"
         r"|^qat$|^intrinsic$|fake_quant|choose_qparams|^fused_moving", "quantization"),
        (r"sparse|^s[ps]?addmm$|^[sd]?s?mm$|hspmm|^h?smm$|dsmm|^spmm$|ccol_indices|crow_indices"
         r"|^col_indices|^row_indices|^indices|^values$|to_dense|coalesce|dense_dim|^to_mkldnn",
         "sparse layouts (deltagrad has row-sparse embedding gradients only)"),
        (r"nested|jagged|to_padded_tensor", "nested tensors"),
        (r"^sym_|^Sym", "symbolic shapes (torch.compile)"),
        (r"^jit$|^fx$|^compile$|^compiler$|^export$|Script|^fork$|^wait$|^ops$|^library$"
         r"|^classes$|^package$|^func$|^vmap$|^cond$|^while_loop$|^_dynamo|^overrides$"
         r"|torch_function|^module_load$|^as_subclass$|^FileCheck$",
         "JIT, compiler, functorch and dispatcher internals"),
        (r"_copy$|^unsafe_", "functionalization copies and unsafe variants (ATen internals)"),
        (r"autocast|^amp$|GradScaler", "mixed precision"),
        (r"[Ss]torage|data_ptr$|^share_memory_|^is_shared$|^is_set_to$|^set_$|^resize",
         "storage objects and raw memory (NumPy owns the memory)"),
        (r"^(float8|float4|bits|bit$|int[1-7]$|uint[1-7]$|complex32$|chalf$)",
         "dtypes NumPy lacks"),
        (r"^(TYPE_CHECKING|Callable|Optional|Any|Literal|ParamSpec|TypeVar|Self|TypedDict|cast"
         r"|overload|override|Mapping|Sequence|Iterable|NewType|Counter|SupportsFloat|partial"
         r"|wraps|ref|DType|T_destination|typing|deprecated)$",
         "typing helpers and standard-library names PyTorch's modules import"),
    ],
    "torch": [
        (r"^(AVG|SUM|AggregationType|AliasDb|AnyType|Argument|ArgumentSpec|AwaitType"
         r"|BenchmarkConfig|BenchmarkExecutionStats|Block|BoolType|BufferDict|CallStack|Capsule"
         r"|ClassType|Code|CompilationUnit|CompleteArgumentSpec|ComplexType|ConcreteModuleType"
         r"|ConcreteModuleTypeBuilder|DeepCopyMemoTable|DeviceObjType|DictType|DispatchKey"
         r"|DispatchKeySet|DisableTorchFunction|DisableTorchFunctionSubclass|EnumType"
         r"|ErrorReport|ExcludeDispatchKeyGuard|ExecutionPlan|FloatType|FunctionSchema|Future"
         r"|FutureType|Gradient|Graph|GraphExecutorState|IODescriptor|InferredType|IntType"
         r"|InterfaceType|JITException|ListType|LockingLogger|LoggerBase|ModuleDict|Node"
         r"|NoneType|NoopLogger|NumberType|OperatorInfo|OptionalType|PRIVATE_OPS|ParameterDict"
         r"|PyObjectType|PyTorchFileReader|PyTorchFileWriter|RRefType|StaticModule"
         r"|StreamObjType|StringType|Tag|TensorType|ThroughputBenchmark|TracingState|TupleType"
         r"|Type|UnionType|Use|Value|parse_ir|parse_schema|parse_type_comment"
         r"|merge_type_from_type_comment|unify_type_list|import_ir_module"
         r"|import_ir_module_from_buffer|TensorType|CallStack)$",
         "TorchScript IR and type objects"),
        (r"^(USE_GLOBAL_DEPS|USE_RTLD_GLOBAL_WITH_LIBTORCH|has_lapack|has_mkl|has_openmp"
         r"|has_spectral|compiled_with_cxx11_abi|get_file_path|prepare_multiprocessing_environment"
         r"|profiler_allow_cudagraph_cupti_lazy_reinit_cuda12|init_num_threads|version"
         r"|torch_version|classproperty|thread_safe_generator|get_device_module|Event|Stream"
         r"|FatalError|AcceleratorError|OutOfMemoryError|typename|types|return_types"
         r"|is_warn_always_enabled|set_warn_always|hash_tensor|is_vulkan_available)$",
         "build information and process plumbing"),
        (r"^(native_|batch_norm_|cudnn_|miopen_|_|affine_grid_generator|grid_sampler"
         r"|constant_pad_nd|convolution$|conv_tbc|embedding_renorm_|rnn_tanh|rnn_relu|lstm"
         r"|gru|quantized_|mkldnn_|segment_reduce|norm_except_dim|frobenius_norm|nuclear_norm"
         r"|feature_dropout|alpha_dropout_|feature_alpha_dropout_|dropout_|selu_|celu_|rrelu_"
         r"|threshold_|relu_$|is_distributed|is_same_size|channel_shuffle|native_channel_shuffle"
         r"|from_file|get_device$|slice_inverse|empty_permuted|empty_strided"
         r"|memory_format|channels_last|contiguous_format|legacy_contiguous_format"
         r"|preserve_format|strided|layout$|monitor|multiprocessing|profiler|hub|testing"
         r"|utils.benchmark|signal|windows|quasirandom|masked|futures|nonzero_static"
         r"|set_flush_denormal|set_default_tensor_type|set_deterministic_debug_mode"
         r"|get_deterministic_debug_mode|promote_types$)",
         "ATen kernels behind nn modules, memory formats, and tooling namespaces (profiler, "
         "hub, multiprocessing, testing, signal, masked) outside a CPU NumPy engine"),
    ],
}

# ----------------------------------------------------------------------------------------------
# In scope but missing: reason -> names. Reviewed; shrink it as gaps are filled.

KNOWN_MISSING: dict[str, dict[str, str]] = {
}

# ----------------------------------------------------------------------------------------------


def _namespaces():
    """(label, PyTorch object, deltagrad object) for every surface compared."""
    import torch.distributed
    import torch.nn.functional
    import torch.utils.data

    import deltagrad.distributed
    import deltagrad.nn.functional
    import deltagrad.utils.data

    return [
        ("torch", torch, dg),
        ("torch.Tensor", torch.Tensor, dg.Tensor),
        ("torch.nn.functional", torch.nn.functional, deltagrad.nn.functional),
        ("torch.nn", torch.nn, dg.nn),
        ("torch.nn.init", torch.nn.init, dg.nn.init),
        ("torch.nn.utils", torch.nn.utils, dg.nn.utils),
        ("torch.nn.utils.rnn", torch.nn.utils.rnn, dg.nn.utils.rnn),
        ("torch.nn.Module", torch.nn.Module, dg.nn.Module),
        ("torch.optim", torch.optim, dg.optim),
        ("torch.optim.Optimizer", torch.optim.Optimizer, dg.optim.Optimizer),
        ("torch.optim.lr_scheduler", torch.optim.lr_scheduler, dg.optim.lr_scheduler),
        ("torch.utils.data", torch.utils.data, deltagrad.utils.data),
        ("torch.linalg", torch.linalg, dg.linalg),
        ("torch.autograd", torch.autograd, dg.autograd),
        ("torch.distributed", torch.distributed, deltagrad.distributed),
    ]


def _excluded(label: str, name: str, obj) -> bool:
    if inspect.ismodule(obj) and not obj.__name__.startswith("torch"):
        return True  # a standard-library module the PyTorch module imported
    patterns = EXCLUDED["*"] + EXCLUDED.get(label, [])
    return any(re.search(pattern, name) for pattern, _ in patterns)


def surface(label: str, theirs, ours) -> tuple[list[str], list[str]]:
    """The in-scope names of ``theirs`` and those of them ``ours`` lacks, sorted."""
    in_scope = sorted(n for n in dir(theirs)
                      if not _excluded(label, n, getattr(theirs, n, None)))
    return in_scope, [n for n in in_scope if not hasattr(ours, n)]


def _known(label: str) -> set[str]:
    return {n for names in KNOWN_MISSING.get(label, {}).values() for n in names.split()}


@pytest.mark.parametrize("label,theirs,ours", _namespaces(), ids=lambda v: v
                         if isinstance(v, str) else "")
def test_missing_names_are_the_reviewed_list(label, theirs, ours):
    _, missing = surface(label, theirs, ours)
    known = _known(label)
    new = sorted(set(missing) - known)
    stale = sorted(known - set(missing))
    assert not new, f"{label}: in scope, missing, not listed in KNOWN_MISSING: {new}"
    assert not stale, f"{label}: listed as missing but present now (delete them): {stale}"


def test_known_missing_lists_have_no_duplicates():
    for label, groups in KNOWN_MISSING.items():
        names = [n for group in groups.values() for n in group.split()]
        assert len(names) == len(set(names)), label


if __name__ == "__main__":
    total_in, total_have = 0, 0
    for label, theirs, ours in _namespaces():
        in_scope, missing = surface(label, theirs, ours)
        total_in += len(in_scope)
        total_have += len(in_scope) - len(missing)
        print(f"{label}: {len(in_scope)} in scope, {len(in_scope) - len(missing)} present")
        if "-v" in sys.argv:
            print("   ", " ".join(missing))
    print(f"all: {total_in} in scope, {total_have} present")
