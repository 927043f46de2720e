"""Introspection as library internals do it (PR15, session 27), written afresh: dtype
properties (is_floating_point / is_complex / is_signed / itemsize / to_real), finfo and iinfo
fields, tensor memory facts (element_size, nbytes, storage_offset, stride, is_contiguous,
data_ptr equalities between views, untyped_storage sizes), the default dtype and its effect on
factories and Python-number promotion, set_default_device("cpu"), thread counts, and version
checks through TorchVersion. Tiny sizes; run by prog_s27_PR15_all.py.
"""

import pickle

import torch
from prog_s25_PR9_harness import printed, put

DTYPES = [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
          torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64,
          torch.complex128]


def section_dtype_props() -> None:
    with printed("dtp.log"):
        for dt in DTYPES:
            print(str(dt), dt.is_floating_point, dt.is_complex, dt.is_signed, dt.itemsize,
                  torch.empty(0, dtype=dt).element_size())
        print("to_real", torch.complex64.to_real(), torch.float16.to_real())
        print("by name", torch.float, torch.half, torch.long,
              torch.cfloat, torch.cdouble)
        print("sorted by itemsize", [str(d).split(".")[1] for d in
                                     sorted(DTYPES[1:6], key=lambda d: -d.itemsize)])
        print("hashable", len({torch.float32, torch.float, torch.float64}))
        print("in dict", {torch.float32: "f"}[torch.float])


def section_finfo_iinfo() -> None:
    with printed("fin.log"):
        for dt in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
            f = torch.finfo(dt)
            print(str(dt), f.bits, f.eps, f.max, f.min, f.tiny, f.smallest_normal, f.resolution,
                  f.dtype)
        for dt in (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64):
            i = torch.iinfo(dt)
            print(str(dt), i.bits, i.min, i.max, i.dtype)
        print("default finfo", torch.finfo().dtype, torch.finfo().eps)
        print("complex finfo", torch.finfo(torch.complex64).eps == torch.finfo(torch.float).eps)
        for bad in (torch.int32, torch.bool):
            try:
                torch.finfo(bad)
            except TypeError:
                print("finfo TypeError", bad)
        try:
            torch.iinfo(torch.float32)
        except TypeError:
            print("iinfo TypeError float32")
        # the idiom of numerically careful code: clamp to the dtype's range
        x = torch.tensor([1e-45, 1e39, -1e39], dtype=torch.float64)
        print("clamped", x.clamp(min=torch.finfo(torch.float32).tiny,
                                 max=torch.finfo(torch.float32).max).float().tolist())
        put("fin.eps", torch.tensor([torch.finfo(d).eps for d in (torch.float16, torch.float32)]))


def section_memory_layout() -> None:
    with printed("mem.log"):
        base = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
        print("element_size", base.element_size(), "nbytes", base.nbytes, "itemsize",
              base.itemsize)
        views = {"t": base.transpose(0, 2), "slice": base[:, 1:], "step": base[..., ::2],
                 "select": base[1], "view": base.view(6, 4), "expand": base[:1].expand(3, 3, 4),
                 "unsq": base.unsqueeze(1), "narrow": base.narrow(2, 1, 2)}
        for name, v in views.items():
            print(name, tuple(v.shape), v.stride(), v.storage_offset(), v.is_contiguous(),
                  v.untyped_storage().data_ptr() == base.untyped_storage().data_ptr(),
                  v.data_ptr() - base.data_ptr())
        print("storage nbytes", base.untyped_storage().nbytes(),
              base[1:].untyped_storage().nbytes(),
              len(base.untyped_storage()))
        c = base.transpose(0, 2).contiguous()
        print("contiguous copy", c.stride(), c.data_ptr() == base.data_ptr(),
              base.contiguous().data_ptr() == base.data_ptr())
        print("stride(dim)", base.stride(0), base.stride(-1))
        img = torch.zeros(2, 3, 4, 5).to(memory_format=torch.channels_last)
        print("channels_last", img.stride(), img.is_contiguous(),
              img.is_contiguous(memory_format=torch.channels_last))
        e = torch.empty(0)
        print("empty", e.nbytes, e.stride(), e.is_contiguous(), e.numel())
        s = torch.tensor(3.0)
        print("scalar", s.stride(), s.storage_offset(), s.dim(), s.shape)
        print("is_set_to", base.is_set_to(base), base.view(-1).is_set_to(base))
        print("same storage share", base[0].untyped_storage().size() ==
              base.untyped_storage().size())
        d = base.double()
        print("double nbytes", d.nbytes, d.untyped_storage().nbytes(), d.element_size())


def section_default_dtype() -> None:
    with printed("ddt.log"):
        print("default", torch.get_default_dtype())
        old = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            print("tensor", torch.tensor(1.5).dtype, torch.tensor([1, 2]).dtype,
                  torch.tensor(1 + 2j).dtype)
            print("factories", torch.zeros(2).dtype, torch.randn(2).dtype,
                  torch.arange(3).dtype, torch.arange(0.5, 2).dtype,
                  torch.linspace(0, 1, 3).dtype, torch.full((1,), 2.0).dtype,
                  torch.full((1,), 2).dtype)
            i = torch.tensor([1, 2])
            print("promotion", (i * 0.5).dtype, (i / 2).dtype, (torch.ones(2) * 2).dtype,
                  (torch.ones(2, dtype=torch.float32) * 2.5).dtype, (i + 1j).dtype)
            print("linear", torch.nn.Linear(2, 2).weight.dtype)
            print("as_tensor list", torch.as_tensor([0.5]).dtype)
        finally:
            torch.set_default_dtype(old)
        print("restored", torch.get_default_dtype(), torch.tensor(1.5).dtype)
        torch.set_default_dtype(torch.float16)
        try:
            print("half default", torch.tensor(0.1).dtype, torch.tensor([1.0, 2.0]).dtype,
                  (torch.tensor([1, 2]) / 2).dtype)
        finally:
            torch.set_default_dtype(old)
        for bad in (torch.int64, torch.bool):
            try:
                torch.set_default_dtype(bad)
            except TypeError:
                print("set_default_dtype TypeError", bad)
        print("after bad", torch.get_default_dtype())


def section_defaults_misc() -> None:
    with printed("dmi.log"):
        torch.set_default_device("cpu")
        try:
            print("device", torch.get_default_device(), torch.zeros(1).device,
                  torch.nn.Linear(1, 1).weight.device)
        finally:
            torch.set_default_device(None)
        print("after", torch.get_default_device())
        n = torch.get_num_threads()
        print("threads", type(n).__name__, n >= 1, type(torch.get_num_interop_threads()).__name__)
        torch.set_num_threads(1)
        print("set threads", torch.get_num_threads())
        torch.set_num_threads(n)
        print("grad enabled", torch.is_grad_enabled(), torch.is_inference_mode_enabled())
        print("matmul precision", torch.get_float32_matmul_precision())
        torch.set_float32_matmul_precision("high")
        print("set precision", torch.get_float32_matmul_precision())
        torch.set_float32_matmul_precision("highest")
        print("printoptions", torch.tensor([1 / 3]))
        torch.set_printoptions(precision=2)
        print("precision 2", torch.tensor([1 / 3]))
        torch.set_printoptions(profile="default")
        print("reset", torch.tensor([1 / 3]))
        print("typename", torch.typename(torch.zeros(1)), torch.typename(torch.zeros(1).long()),
              torch.typename(1.0))
        print("type()", torch.zeros(1).type(), torch.zeros(1).type(torch.int32).dtype)


def section_version() -> None:
    with printed("ver.log"):
        v = torch.__version__
        print("is str", isinstance(v, str), type(v).__name__)
        print("cmp", v >= "2.0", v > "1.13.1", v < "3", v >= (2, 0), v != "0.1")
        print("parts numeric", v.split(".")[0].isdigit(),
              tuple(int(x) for x in v.split("+")[0].split(".")[:2]) >= (2, 0))
        print("TorchVersion", isinstance(v, torch.torch_version.TorchVersion),
              torch.torch_version.TorchVersion("2.1.0") > "2.0.9",
              torch.torch_version.TorchVersion("2.1.0") == (2, 1, 0))
        print("cuda version", torch.version.cuda, "hip", torch.version.hip)
        print("cuda", torch.cuda.is_available(), torch.cuda.device_count(),
              torch.backends.mps.is_available())
        print("features", hasattr(torch, "compile"), hasattr(torch, "func"),
              hasattr(torch.nn.functional, "scaled_dot_product_attention"))


def section_promotion_table() -> None:
    with printed("prm.log"):
        kinds = [torch.bool, torch.uint8, torch.int8, torch.int32, torch.int64, torch.float16,
                 torch.bfloat16, torch.float32, torch.float64, torch.complex64]
        for a in kinds:
            row = [str(torch.promote_types(a, b)).split(".")[1] for b in kinds]
            print(str(a).split(".")[1], " ".join(row))
        t = torch.ones(2, dtype=torch.int32)
        print("result_type", torch.result_type(t, 1), torch.result_type(t, 1.0),
              torch.result_type(t, 1j), torch.result_type(2, 3.0),
              torch.result_type(torch.tensor(1.0, dtype=torch.float64), t),
              torch.result_type(torch.ones(2, dtype=torch.float16), torch.tensor(1.0)))
        print("can_cast", torch.can_cast(torch.float64, torch.int32),
              torch.can_cast(torch.int32, torch.float16), torch.can_cast(torch.bool, torch.uint8),
              torch.can_cast(torch.complex64, torch.float64))
        u = torch.tensor([200], dtype=torch.uint8)
        print("uint8 ops", (u + 100).tolist(), (u + 100).dtype, (u * 1.5).dtype,
              (u - torch.tensor([1], dtype=torch.int8)).dtype)
        h = torch.ones(1, dtype=torch.float16)
        print("half ops", (h + 1.0).dtype, (h + torch.tensor(1.0)).dtype,
              (h + torch.ones(1)).dtype, (h * torch.tensor(2, dtype=torch.int64)).dtype)
        b = torch.tensor([True, False])
        print("bool ops", (b + b).dtype, (b * 2).dtype, (b + 0.5).dtype, b.sum().dtype,
              (~b).tolist())
        print("division", (torch.tensor([3]) / 2).dtype, (torch.tensor([3]) // 2).dtype,
              torch.tensor([-3]).div(2, rounding_mode="floor").tolist(),
              torch.true_divide(torch.tensor([3]), 2).dtype)


def section_size_device() -> None:
    with printed("szd.log"):
        s = torch.Size([2, 3, 4])
        print("repr", repr(s), str(s), s.numel(), len(s), s[-1], s.count(3), s.index(4))
        print("slice", s[1:], type(s[1:]).__name__, s[::-1])
        print("eq", s == (2, 3, 4), s == [2, 3, 4], s == torch.Size((2, 3, 4)),
              hash(s) == hash((2, 3, 4)))
        print("from tensor dims", torch.Size([torch.tensor(5).item(), 2]))
        print("unpack", *s, "sum", sum(s), "max", max(s))
        print("empty", torch.Size(), torch.Size().numel(), torch.Size([0, 3]).numel())
        back = pickle.loads(pickle.dumps(s))
        print("pickled", back, type(back).__name__)
        try:
            torch.Size([2.5])
        except TypeError:
            print("float size TypeError")
        print("view with size", torch.zeros(24).view(s).shape, torch.zeros(s).shape,
              torch.ones(2, 3).new_zeros(s).shape, torch.empty(s[:2]).shape)
        d = torch.device("cpu")
        print("device eq", d == torch.device("cpu"), d == "cpu", torch.device(d), hash(d) ==
              hash(torch.device("cpu")))
        print("device types", torch.device("cpu", 0) == d, torch.device("cuda:1").index,
              torch.device("cuda", 1).type, str(torch.device("meta")))
        try:
            torch.device("gpu")
        except RuntimeError as e:
            print("bad device RuntimeError", str(e).split(":")[0][:50])
        t = torch.ones(1)
        print("tensor device", t.device, t.is_cpu, t.is_cuda, t.get_device(), t.is_meta,
              t.to("cpu") is t, t.cpu() is t, t.to(d, torch.float32) is t)
        print("dtype repr", repr(torch.float32), str(torch.int64), torch.float32 == torch.float,
              torch.float32 != torch.float64)
        print("pickled dtype device", pickle.loads(pickle.dumps(torch.float16)),
              pickle.loads(pickle.dumps(d)))


SECTIONS = {"promotion_table": section_promotion_table, "size_device": section_size_device,
            "dtype_props": section_dtype_props, "finfo_iinfo": section_finfo_iinfo,
            "memory_layout": section_memory_layout, "default_dtype": section_default_dtype,
            "defaults_misc": section_defaults_misc, "version": section_version}
