"""Error-message checks (PR19, session 28) as libraries' test suites write them: common misuse
of tensors and autograd under ``pytest.raises(..., match=...)`` with the key phrase of PyTorch's
message (matmul and broadcast shapes, dtypes of products and in-place ops, leaves and graphs,
indices, views, factories, scalar conversions, dims, custom Functions). Each case prints ``ok``
or what failed. Run by prog_s28_PR19_all.py.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed
from prog_s28_PR19_common import expect, said

o = torch.ones
F64 = torch.float64


def section_matmul_shapes() -> None:
    with printed("mms.log"):
        expect("mm", RuntimeError, r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)",
               lambda: o(2, 3) @ o(4, 5))
        expect("mm fn", RuntimeError, "shapes cannot be multiplied",
               lambda: torch.mm(o(2, 3), o(4, 5)))
        expect("1d@2d", RuntimeError, r"\(1x3 and 4x5\)", lambda: o(3) @ o(4, 5))
        expect("3d@2d", RuntimeError, r"\(6x4 and 5x6\)", lambda: o(2, 3, 4) @ o(5, 6))
        expect("dot", RuntimeError, "inconsistent tensor size", lambda: o(3) @ o(4))
        expect("dot fn", RuntimeError, r"expected tensor \[3\] and src \[4\] to have the same "
               "number of elements", lambda: torch.dot(o(3), o(4)))
        expect("dot 2d", RuntimeError, "1D tensors expected, but got 2D and 1D tensors",
               lambda: torch.dot(o(3, 1), o(3)))
        expect("mv", RuntimeError, r"size mismatch, got input \(3\), mat \(3x4\), vec \(5\)",
               lambda: torch.mv(o(3, 4), o(5)))
        expect("2d@1d", RuntimeError, "size mismatch", lambda: o(3, 4) @ o(5))
        expect("mv rank", RuntimeError, "vector \\+ matrix @ vector expected",
               lambda: torch.mv(o(3, 4), o(4, 1)))
        expect("bmm", RuntimeError, "Expected size for first two dimensions of batch2 tensor",
               lambda: torch.bmm(o(2, 3, 4), o(2, 5, 6)))
        expect("bmm batch", RuntimeError, r"to be: \[2, 4\] but got: \[3, 4\]",
               lambda: torch.bmm(o(2, 3, 4), o(3, 4, 6)))
        expect("bmm rank", RuntimeError, "batch1 must be a 3D tensor",
               lambda: torch.bmm(o(3, 4), o(4, 6)))
        expect("bmm rank2", RuntimeError, "batch2 must be a 3D tensor",
               lambda: torch.bmm(o(2, 3, 4), o(4, 6)))
        expect("mm rank", RuntimeError, "self must be a matrix", lambda: torch.mm(o(3), o(3, 2)))
        expect("mm rank2", RuntimeError, "mat2 must be a matrix", lambda: torch.mm(o(2, 3), o(3)))
        expect("batched", RuntimeError, r"\[2, 3\] but got: \[2, 4\]", lambda: o(3) @ o(2, 4, 5))
        expect("batch bcast", RuntimeError, "The size of tensor a \\(2\\) must match the size "
               "of tensor b \\(3\\) at non-singleton dimension 0", lambda: o(2, 3, 4) @ o(3, 4, 6))
        layer = nn.Linear(3, 2)
        expect("linear", RuntimeError, r"mat1 and mat2 shapes cannot be multiplied \(4x5 and 3x2\)",
               lambda: layer(o(4, 5)))
        expect("linear 3d", RuntimeError, r"\(8x5 and 3x2\)", lambda: layer(o(2, 4, 5)))
        seq = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(6, 2))
        expect("sequential", RuntimeError, r"\(3x8 and 6x2\)", lambda: seq(o(3, 4)))
        try:
            o(2, 3) @ o(4, 5)
        except RuntimeError as error:
            print("startswith", str(error).startswith("mat1 and mat2 shapes cannot be multiplied"))


def section_matmul_dtypes() -> None:
    with printed("mmd.log"):
        expect("mm", RuntimeError, "expected m1 and m2 to have the same dtype, but got: float != "
               "double", lambda: torch.mm(o(3, 3), o(3, 3, dtype=F64)))
        expect("matmul", RuntimeError, "expected m1 and m2 to have the same dtype",
               lambda: o(3, 3) @ o(3, 3, dtype=F64))
        expect("half", RuntimeError, r"float != c10::Half", lambda: o(2, 2) @ o(2, 2).half())
        expect("dot", RuntimeError, "dot : expected both vectors to have same dtype, but found "
               "Float and Double", lambda: torch.dot(o(3), o(3, dtype=F64)))
        expect("1d@1d", RuntimeError, "expected both vectors to have same dtype",
               lambda: o(3) @ o(3, dtype=F64))
        expect("bmm", RuntimeError, "expected scalar type Float but found Double",
               lambda: o(2, 2, 3) @ o(2, 3, 2, dtype=F64))
        layer = nn.Linear(3, 2)
        expect("linear", RuntimeError, "mat1 and mat2 must have the same dtype, but got Double "
               "and Float", lambda: layer(o(2, 3, dtype=F64)))
        expect("linear any", RuntimeError, "same dtype", lambda: layer(o(4, 3, dtype=F64)))
        expect("linear bias", RuntimeError, "self and mat2 must have the same dtype",
               lambda: F.linear(o(2, 3), o(4, 3), o(4, dtype=F64)))
        expect("int matmul", RuntimeError, "same dtype",
               lambda: torch.arange(4).reshape(2, 2) @ o(2, 2))
        print("double model ok", layer.double()(o(2, 3, dtype=F64)).dtype)


def section_broadcast_inplace() -> None:
    with printed("bci.log"):
        expect("add", RuntimeError, r"The size of tensor a \(3\) must match the size of tensor b "
               r"\(2\) at non-singleton dimension 1", lambda: o(2, 3) + o(3, 2))
        expect("mul", RuntimeError, "must match the size of tensor b", lambda: o(4) * o(5))
        expect("where", RuntimeError, "must match the size",
               lambda: torch.where(o(3) > 0, o(3), o(2)))
        expect("add_", RuntimeError, r"output with shape \[3\] doesn't match the broadcast shape "
               r"\[2, 3\]", lambda: o(3).add_(o(2, 3)))
        expect("mul_", RuntimeError, "doesn't match the broadcast shape",
               lambda: o(1, 3).mul_(o(2, 3)))
        expect("int mul_", RuntimeError, "result type Float can't be cast to the desired output "
               "type Long", lambda: torch.ones(3, dtype=torch.long).mul_(1.5))
        expect("int add_", RuntimeError, "can't be cast to the desired output type",
               lambda: torch.ones(3, dtype=torch.long).add_(o(3)))
        expect("int div_", RuntimeError, "result type Float can't be cast",
               lambda: torch.ones(3, dtype=torch.long).div_(2))

        def iadd():
            x = torch.zeros(3, dtype=torch.int32)
            x += o(3)
        expect("int +=", RuntimeError, "desired output type Int", iadd)
        expect("bool sub", RuntimeError, "Subtraction, the `-` operator, with two bool tensors is "
               "not supported", lambda: torch.tensor([True]) - torch.tensor([False]))
        expect("copy_", RuntimeError, "must match the size|doesn't match", lambda: o(3).copy_(o(4)))
        target = torch.zeros(3, 2)
        expect("setitem", RuntimeError, r"The expanded size of the tensor \(2\) must match the "
               r"existing size \(3\) at non-singleton dimension 0", lambda: target.__setitem__(
                   0, o(3)))
        expect("setitem index", RuntimeError, r"shape mismatch: value tensor of shape \[3\] "
               r"cannot be broadcast to indexing result of shape \[2, 2\]",
               lambda: target.__setitem__(torch.tensor([0, 1]), o(3)))
        expect("masked_fill mask", RuntimeError, "masked_fill_ only supports boolean masks",
               lambda: o(3).masked_fill(torch.tensor([1, 0, 1]), 0))
        x = torch.zeros(3, dtype=torch.long)
        x.add_(torch.tensor([1, 2, 3], dtype=torch.int32))
        print("int32 into long", x, torch.ones(2, dtype=torch.float64).add_(o(2)).dtype)


def section_autograd_errors() -> None:
    with printed("age.log"):
        w = torch.ones(3, requires_grad=True)
        expect("leaf add_", RuntimeError, "a leaf Variable that requires grad is being used in an "
               "in-place operation", lambda: w.add_(1))
        expect("leaf setitem", RuntimeError, "leaf Variable that requires grad",
               lambda: w.__setitem__(0, 2.0))

        def twice():
            x = torch.ones(3, requires_grad=True)
            y = (x * x).sum()
            y.backward()
            y.backward()
        expect("twice", RuntimeError, "Trying to backward through the graph a second time", twice)
        expect("twice retain", RuntimeError, "retain_graph=True", twice)
        expect("nonscalar", RuntimeError, "grad can be implicitly created only for scalar outputs",
               lambda: (w * 2).backward())
        expect("no grad_fn", RuntimeError, "element 0 of tensors does not require grad and does "
               "not have a grad_fn", lambda: o(3).sum().backward())
        expect("does not require", RuntimeError, "does not require grad",
               lambda: torch.autograd.grad(o(3).sum(), o(3)))
        expect("input no grad", RuntimeError, "One of the differentiated Tensors does not require "
               "grad", lambda: torch.autograd.grad((w * 2).sum(), o(3)))
        z = torch.ones(3, requires_grad=True)
        expect("unused", RuntimeError, "One of the differentiated Tensors appears to not have been "
               "used in the graph|appears to not have been used in the graph",
               lambda: torch.autograd.grad((w * 2).sum(), [w, z]))
        print("allow_unused", torch.autograd.grad((w * 2).sum(), [w, z], allow_unused=True)[1])
        expect("second list", RuntimeError, "element 1 of tensors does not require grad",
               lambda: torch.autograd.backward([(w * 2).sum(), o(2).sum()]))
        expect("empty inputs", RuntimeError, "`inputs` argument to `grad\\(\\)` cannot be empty",
               lambda: torch.autograd.grad((w * 2).sum(), []))
        expect("numpy", RuntimeError, r"Can't call numpy\(\) on Tensor that requires grad. Use "
               r"tensor.detach\(\).numpy\(\) instead.", lambda: w.numpy())
        expect("int leaf", RuntimeError, "Only Tensors of floating point and complex dtype can "
               "require gradients", lambda: torch.ones(2, dtype=torch.long, requires_grad=True))
        expect("int requires_grad_", RuntimeError, "only Tensors of floating point dtype can "
               "require gradients", lambda: torch.ones(2, dtype=torch.long).requires_grad_())
        expect("non-leaf requires_grad_", RuntimeError, "you can only change requires_grad flags "
               "of leaf variables", lambda: (w * 2).requires_grad_(False))

        def view_inplace():
            base = torch.ones(4, requires_grad=True).clone()
            view = base[:2]
            out = view.pow(2)  # (saves its input: the view)
            view.mul_(2)
            out.sum().backward()
        expect("modified", RuntimeError, "one of the variables needed for gradient computation has "
               "been modified by an inplace operation", view_inplace)

        def no_grad_leaf():
            with torch.no_grad():
                y = w * 2
            y.sum().backward()
        expect("no_grad graph", RuntimeError, "does not require grad", no_grad_leaf)
        expect("hook", RuntimeError, "cannot register a hook on a tensor that doesn't require "
               "gradient", lambda: o(2).register_hook(lambda g: g))


def section_indexing_errors() -> None:
    with printed("ixe.log"):
        x = torch.arange(6.0).reshape(2, 3)
        expect("int index", IndexError, "index 5 is out of bounds for dimension 0 with size 2",
               lambda: x[5])
        expect("col index", IndexError, "index 7 is out of bounds for dimension 1 with size 3",
               lambda: x[:, 7])
        expect("tensor index", IndexError, "index 5 is out of bounds for dimension 0 with size 3",
               lambda: o(3)[torch.tensor([5])])
        expect("index_select", IndexError, "index out of range in self",
               lambda: o(3).index_select(0, torch.tensor([5])))
        expect("embedding", IndexError, "index out of range in self",
               lambda: nn.Embedding(3, 2)(torch.tensor([3])))
        expect("embedding float", RuntimeError, "Expected tensor for argument #1 'indices' to have "
               "one of the following scalar types: Long, Int",
               lambda: nn.Embedding(3, 2)(torch.tensor([1.0])))
        expect("gather", RuntimeError, "index 5 is out of bounds for dimension 0 with size 3",
               lambda: o(3).gather(0, torch.tensor([5])))
        expect("gather dtype", RuntimeError, r"gather\(\): Expected dtype int32/int64 for index",
               lambda: o(3).gather(0, torch.tensor([0.0])))
        expect("scatter dtype", RuntimeError, r"scatter\(\): Expected self.dtype to be equal to "
               "src.dtype", lambda: o(3).scatter_(0, torch.tensor([0]), o(1, dtype=F64)))
        expect("scatter index", RuntimeError, "Expected dtype int32/int64 for index",
               lambda: o(3).scatter_(0, torch.tensor([0.0]), o(1)))
        expect("scatter_add dtype", RuntimeError, "Expected self.dtype to be equal to src.dtype",
               lambda: o(3).scatter_add_(0, torch.tensor([0]), o(1, dtype=F64)))
        expect("index_add dtype", RuntimeError, r"self \(Float\) and source \(Double\) must have "
               "the same scalar type",
               lambda: o(3).index_add_(0, torch.tensor([0]), o(1, dtype=F64)))
        expect("index_copy dtype", RuntimeError, "self and source expected to have the same dtype",
               lambda: o(3).index_copy_(0, torch.tensor([0]), o(1, dtype=F64)))
        expect("index_put dtype", RuntimeError, "Index put requires the source and destination "
               "dtypes match", lambda: o(3).index_put_((torch.tensor([0]),), o(1, dtype=F64)))
        expect("one_hot neg", RuntimeError, "Class values must be non-negative",
               lambda: F.one_hot(torch.tensor([-1])))
        expect("one_hot big", RuntimeError, "Class values must be smaller than num_classes",
               lambda: F.one_hot(torch.tensor([3]), 3))
        expect("one_hot float", RuntimeError, "one_hot is only applicable to index tensor",
               lambda: F.one_hot(torch.tensor([1.0])))
        expect("take", IndexError, "out of range", lambda: o(3).take(torch.tensor([5])))
        expect("bool mask shape", IndexError, "The shape of the mask \\[2\\] at index 0 does not "
               "match the shape of the indexed tensor \\[3\\] at index 0",
               lambda: o(3)[torch.tensor([True, False])])
        expect("float index", IndexError, "tensors used as indices must be long, int, byte or "
               "bool tensors", lambda: o(3)[torch.tensor([0.0])])
        print("negative ok", x[-1], x[:, -1], o(3).index_select(0, torch.tensor([2])))


def section_view_errors() -> None:
    with printed("vwe.log"):
        t = torch.arange(12.0).reshape(3, 4)
        expect("view noncontig", RuntimeError, "view size is not compatible with input tensor's "
               "size and stride", lambda: t.t().view(12))
        expect("use reshape", RuntimeError, r"Use \.reshape\(\.\.\.\) instead",
               lambda: t.t().view(-1))
        expect("view size", RuntimeError, r"shape '\[5\]' is invalid for input of size 12",
               lambda: t.view(5))
        expect("reshape size", RuntimeError, "is invalid for input of size 12",
               lambda: t.reshape(5, -1))
        expect("two -1", RuntimeError, "only one dimension can be inferred",
               lambda: t.view(-1, -1))
        expect("expand", RuntimeError, r"The expanded size of the tensor \(4\) must match the "
               r"existing size \(3\) at non-singleton dimension 0", lambda: t.expand(4, 4))
        expect("expand text", RuntimeError, r"Target sizes: \[4, 4\].  Tensor sizes: \[3, 4\]",
               lambda: t.expand(4, 4))
        expect("expand fewer", RuntimeError, "the number of sizes provided \\(1\\) must be greater "
               "or equal to the number of dimensions in the tensor \\(2\\)", lambda: t.expand(4))
        expect("expand -1", RuntimeError, "isn't allowed in a leading, non-existing dimension",
               lambda: t.expand(-1, 3, 4))
        expect("expand_as", RuntimeError, "The expanded size of the tensor",
               lambda: t.expand_as(o(2, 4)))
        expect("permute len", RuntimeError, "number of dimensions in the tensor input does not "
               "match the length of the desired ordering of dimensions", lambda: t.permute(0))
        expect("permute dup", RuntimeError, "duplicate dims are not allowed",
               lambda: t.permute(0, 0))
        expect("repeat", RuntimeError, "Number of dimensions of repeat dims can not be smaller "
               "than number of dimensions of tensor", lambda: t.repeat(2))
        expect("narrow", RuntimeError, r"start \(2\) \+ length \(3\) exceeds dimension size \(3\)",
               lambda: o(3).narrow(0, 2, 3))
        expect("split", RuntimeError, "split_with_sizes expects split_sizes to sum exactly to 4",
               lambda: t.split([1, 1], dim=1))
        expect("chunk", RuntimeError, "chunk expects `chunks` to be greater than 0",
               lambda: t.chunk(0))
        expect("unfold", RuntimeError, "maximum size for tensor at dimension 0 is 3 but size is 5",
               lambda: o(3).unfold(0, 5, 1))
        expect("cat", RuntimeError, "Sizes of tensors must match except in dimension 0. Expected "
               "size 4 but got size 5 for tensor number 1 in the list",
               lambda: torch.cat([t, o(2, 5)]))
        expect("cat dims", RuntimeError, "Tensors must have same number of dimensions: got 2 and 1",
               lambda: torch.cat([t, o(4)]))
        expect("cat empty", ValueError, "expected a non-empty list of Tensors",
               lambda: torch.cat([]))
        expect("stack", RuntimeError, r"stack expects each tensor to be equal size, but got "
               r"\[3, 4\] at entry 0 and \[4\] at entry 1", lambda: torch.stack([t, o(4)]))
        print("views ok", t.t().reshape(12)[:3], t.t().contiguous().view(12)[:3])


def section_creation_errors() -> None:
    with printed("cre.log"):
        expect("empty -1", RuntimeError, "Trying to create tensor with negative dimension -1",
               lambda: torch.empty(-1))
        expect("randn -2", RuntimeError, "negative dimension -2", lambda: torch.randn(-2))
        expect("ones", RuntimeError, "negative dimension", lambda: torch.ones(2, -3))
        expect("arange", RuntimeError, "upper bound and lower bound inconsistent with step sign",
               lambda: torch.arange(0, 5, -1))
        expect("arange 0", RuntimeError, "step must be nonzero", lambda: torch.arange(0, 5, 0))
        expect("linspace", RuntimeError, "number of steps must be non-negative",
               lambda: torch.linspace(0, 1, -1))
        expect("randint", RuntimeError, "random_ expects 'from' to be less than 'to', but got "
               "from=5 >= to=2", lambda: torch.randint(5, 2, (3,)))
        expect("multinomial sum", RuntimeError, r"invalid multinomial distribution \(sum of "
               r"probabilities <= 0\)", lambda: torch.multinomial(torch.tensor([0.0, 0.0]), 1))
        expect("multinomial neg", RuntimeError, "probability tensor contains either `inf`, `nan` "
               "or element < 0", lambda: torch.multinomial(torch.tensor([-1.0, 1.0]), 1))
        expect("multinomial n", RuntimeError, r"cannot sample n_sample > prob_dist.size\(-1\) "
               "samples without replacement", lambda: torch.multinomial(o(2), 3))
        expect("full dtype", RuntimeError, "value cannot be converted to type uint8_t without "
               "overflow", lambda: torch.full((2,), 300, dtype=torch.uint8))
        expect("tensor ragged", ValueError, "expected sequence of length 2 at dim 1 \\(got 1\\)",
               lambda: torch.tensor([[1, 2], [3]]))
        expect("tensor str", (TypeError, ValueError), "", lambda: torch.tensor(["a"]))
        expect("from_numpy obj", TypeError, "can't convert np.ndarray of type numpy.object_",
               lambda: torch.from_numpy(np.array([1, "a"], dtype=object)))
        expect("normal std", RuntimeError, "normal expects std >= 0.0",
               lambda: torch.normal(0.0, -1.0, (2,)))
        expect("eye", RuntimeError, "n must be greater or equal to 0, got -1",
               lambda: torch.eye(-1))
        torch.manual_seed(19)
        print("draws", torch.randint(0, 5, (4,)), torch.multinomial(torch.tensor([0.2, 0.8]), 3,
                                                                    replacement=True))


def section_scalar_conversion() -> None:
    with printed("scv.log"):
        expect("item", RuntimeError, "a Tensor with 2 elements cannot be converted to Scalar",
               lambda: o(2).item())
        expect("item empty", RuntimeError, "a Tensor with 0 elements cannot be converted to "
               "Scalar", lambda: o(0).item())
        expect("bool", RuntimeError, "Boolean value of Tensor with more than one value is "
               "ambiguous", lambda: bool(o(2)))
        expect("if", RuntimeError, "ambiguous", lambda: 1 if o(3) > 0 else 0)
        expect("float", (TypeError, ValueError, RuntimeError),
               "only one element tensors can be converted to Python scalars",
               lambda: float(o(2)))
        expect("int", (TypeError, ValueError, RuntimeError),
               "only one element tensors can be converted", lambda: int(o(2)))
        expect("len 0-d", TypeError, "len\\(\\) of a 0-d tensor", lambda: len(torch.tensor(1.0)))
        expect("iter 0-d", TypeError, "iteration over a 0-d tensor",
               lambda: list(torch.tensor(1.0)))
        expect("index float", TypeError, "only integer tensors of a single element can be "
               "converted to an index", lambda: [1, 2][torch.tensor(1.0)])
        expect("range", TypeError, "only integer tensors of a single element can be converted",
               lambda: range(torch.tensor([2, 3])))
        print("ok", o(1).item(), int(torch.tensor([3])), float(torch.tensor(2.5)),
              [10, 20][torch.tensor(1)], bool(torch.tensor([0.0])))


def section_dim_errors() -> None:
    with printed("dme.log"):
        t = o(2, 3)
        expect("sum", IndexError, r"Dimension out of range \(expected to be in range of \[-2, 1\], "
               r"but got 3\)", lambda: t.sum(3))
        expect("softmax", IndexError, "Dimension out of range", lambda: t.softmax(2))
        expect("transpose", IndexError, "but got 4", lambda: t.transpose(0, 4))
        expect("squeeze", IndexError, "Dimension out of range", lambda: t.squeeze(5))
        expect("unsqueeze", IndexError, r"range of \[-3, 2\], but got 3", lambda: t.unsqueeze(3))
        expect("flatten", IndexError, "Dimension out of range", lambda: t.flatten(2))
        expect("cat dim", IndexError, "Dimension out of range", lambda: torch.cat([t, t], 2))
        expect("0-d", IndexError, r"range of \[-1, 0\], but got 1",
               lambda: torch.tensor(1.0).sum(1))
        expect("avg_pool2d", IndexError, r"Dimension out of range \(expected to be in range of "
               r"\[-1, 0\], but got -3\)", lambda: F.avg_pool2d(o(8), 2))
        expect("dim list", RuntimeError, "dim 0 appears multiple times in the list of dims",
               lambda: t.sum(dim=(0, 0)))
        expect("size", IndexError, "Dimension out of range", lambda: t.size(2))
        print("negative dims", t.sum(-1), t.unsqueeze(-1).shape, t.softmax(-2).shape)


def section_op_errors() -> None:
    with printed("ope2.log"):
        ints = torch.arange(5)
        expect("mean int", RuntimeError, "mean\\(\\): could not infer output dtype. Input dtype "
               "must be either a floating point or complex dtype. Got: Long", lambda: ints.mean())
        expect("std int", RuntimeError, "std and var only support floating point and complex "
               "dtypes", lambda: ints.std())
        expect("norm int", RuntimeError, "Expected a floating point or complex tensor as input. "
               "Got Long", lambda: ints.norm())
        expect("randn int", NotImplementedError, "not implemented for 'Long'",
               lambda: torch.randn(2, dtype=torch.int64))
        expect("bincount float", NotImplementedError, "not implemented for 'Float'",
               lambda: torch.bincount(torch.tensor([1.0])))
        expect("histc int", NotImplementedError, "\"histogram_cpu\" not implemented for 'Long'",
               lambda: torch.histc(ints))
        expect("where cond", RuntimeError, "where expected condition to be a boolean tensor, but "
               "got a tensor with dtype Float", lambda: torch.where(o(2), o(2), o(2)))
        expect("topk", RuntimeError, "selected index k out of range", lambda: torch.topk(o(3), 10))
        expect("kthvalue", RuntimeError, "selected number k out of range for dimension 0",
               lambda: torch.kthvalue(o(3), 5))
        expect("stack empty", RuntimeError, "stack expects a non-empty TensorList",
               lambda: torch.stack([]))
        expect("roll", RuntimeError, "shifts and dimensions must align",
               lambda: o(2, 3).roll(1, (0, 1)))
        expect("embedding weight", RuntimeError, "'weight' must be 2-D",
               lambda: F.embedding(torch.tensor([0]), o(3)))
        expect("conv dtype", RuntimeError, "expected scalar type Double but found Float",
               lambda: F.conv2d(o(1, 3, 5, 5).double(), o(6, 3, 3, 3)))
        expect("view dtype", RuntimeError, r"self.size\(-1\) must be divisible by 2 to view Float "
               "as Double", lambda: o(3).view(torch.float64))
        expect("attn mask", RuntimeError, r"The shape of the 2D attn_mask is torch.Size\(\[2, "
               r"2\]\), but should be \(3, 3\)",
               lambda: nn.TransformerEncoderLayer(4, 2)(o(3, 2, 4), src_mask=o(2, 2)))
        expect("gather rank", RuntimeError, "Index tensor must have the same number of dimensions "
               "as input tensor", lambda: torch.gather(o(2, 3), 0, torch.tensor([0])))
        expect("scatter size", RuntimeError, r"Expected index \[2, 3\] to be no larger than self",
               lambda: o(2, 2).scatter_(1, torch.zeros(2, 3, dtype=torch.long), o(2, 2)))
        print("ok", ints.float().mean(), ints.double().std(), torch.topk(o(3), 2).values)


class _Twice(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, y):
        return x * y

    @staticmethod
    def backward(ctx, grad):
        return grad  # (one gradient for two inputs)


class _WrongShape(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return grad[:2]


class _Ok(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.exp()

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.exp()


def section_function_errors() -> None:
    with printed("fne.log"):
        x = torch.ones(3, requires_grad=True)
        y = torch.ones(3, requires_grad=True)
        expect("grad count", RuntimeError, r"returned an incorrect number of gradients \(expected "
               r"2, got 1\)", lambda: _Twice.apply(x, y).sum().backward())
        expect("grad shape", RuntimeError, r"returned an invalid gradient at index 0 - got \[2\] "
               r"but expected shape compatible with \[3\]",
               lambda: _WrongShape.apply(x).sum().backward())

        def saved_twice():
            out = _Ok.apply(x)
            out.sum().backward()
            out.sum().backward()
        expect("saved freed", RuntimeError, "Trying to backward through the graph a second time",
               saved_twice)

        class Legacy(torch.autograd.Function):
            def forward(self, x):
                return x

        expect("legacy", RuntimeError, "Legacy autograd function with non-static forward method "
               "is deprecated", lambda: Legacy()(x))
        said("call", lambda: _Ok()(x), "Legacy autograd function", "static")
        _Ok.apply(x).sum().backward()
        print("ok grad", x.grad)


SECTIONS = {"matmul_shapes": section_matmul_shapes, "matmul_dtypes": section_matmul_dtypes,
            "broadcast_inplace": section_broadcast_inplace,
            "autograd_errors": section_autograd_errors,
            "indexing_errors": section_indexing_errors, "view_errors": section_view_errors,
            "creation_errors": section_creation_errors,
            "scalar_conversion": section_scalar_conversion, "dim_errors": section_dim_errors,
            "op_errors": section_op_errors,
            "function_errors": section_function_errors}
