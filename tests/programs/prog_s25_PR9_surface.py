"""The API surface old programs touch, one call a line (PR9, session 25): each line prints
what the call returns (its repr) or the type of what it raises (RuntimeError for any of its
subclasses: deltagrad words its messages its own way), and the section's warnings are compared
by category and first sentence. Legacy constructors from NumPy arrays and sizes, the legacy
in-place random fills (random_, bernoulli_, exponential_, geometric_, cauchy_, log_normal_),
uint8 masks, dims left out of softmax, upsample / upsample_bilinear, clip_grad_norm and the
init functions without underscores, removed functions (gels, symeig, lstsq, solve, eig,
matrix_rank), set_default_tensor_type, the legacy empty tensor in cat, Python conversions
(int / float / bool / round / format / %-formats / sorted / sum / max / json) of tensors,
samplers, _Loss / _LRScheduler subclasses with the old arguments, return types, storages,
layouts and memory formats, devices, module and optimizer surface, and most losses and
functional calls with their old arguments. Kept out, each a difference reported by PR9:
uint8 masks in x[mask] = v (PyTorch refuses) and torch.where (PyTorch warns once), torch.qr /
torch.cholesky's deprecation warnings, addmm's scalar-first overload, scheduler.step(epoch)'s
reworded warning, dtype.to_complex(), state_dict(keep_vars=True)'s Parameter type, NumPy's
__array_wrap__ DeprecationWarning from PyTorch's tensors. Run by prog_s25_PR9_all.py.
"""
# ruff: noqa: E501, E701, E702, E731, UP008, UP031, UP032 - one call a line, as probed

import re

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed
from torch.autograd import Variable


def p(label, fn):
    """Prints ``label: repr(result)`` or ``label: raises Type``, the first built-in exception
    class of what it raised (addresses masked)."""
    try:
        result = fn()
        text = re.sub("0x[0-9a-f]+", "ADDR", result if isinstance(result, str) else repr(result))
    except Exception as exc:  # noqa: BLE001 - printed and compared
        builtin = next(c for c in type(exc).__mro__ if c.__module__ == "builtins")
        text = "raises " + builtin.__name__
    print(f"{label}: {text}")


def _raised(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - returned, its class checked
        return exc
    return None


def section_api_tensors() -> None:
    torch.manual_seed(0)
    with printed("api1.log"):
        a = np.array([[1.5, 2.0]], dtype=np.float64)
        p("FloatTensor(np)", lambda: torch.FloatTensor(a))
        p("LongTensor(np)", lambda: torch.LongTensor(np.array([1, 2])))
        p("Tensor(np f64)", lambda: torch.Tensor(a).dtype)
        p("LongTensor([1.7])", lambda: torch.LongTensor([1.7]))
        p("Tensor(Size)", lambda: torch.Tensor(torch.Size([2])).shape)
        p("random_", lambda: torch.FloatTensor(5).random_(0, 10))
        p("random_5", lambda: torch.FloatTensor(5).random_(5))
        p("random_noarg_long", lambda: torch.LongTensor(3).random_() .shape)
        p("bernoulli_", lambda: torch.Tensor(6).bernoulli_(0.5))
        p("exponential_", lambda: torch.Tensor(3).exponential_())
        p("geometric_", lambda: torch.Tensor(3).geometric_(0.5))
        p("cauchy_", lambda: torch.Tensor(3).cauchy_())
        p("log_normal_", lambda: torch.Tensor(3).log_normal_())
        p("type str", lambda: torch.ones(2).type('torch.IntTensor'))
        x = torch.arange(6.0).view(2, 3)
        m8 = torch.ByteTensor([[1, 0, 1], [0, 0, 1]])
        p("uint8 index", lambda: x[m8])
        p("uint8 masked_fill", lambda: x.masked_fill(m8, 0))
        p("uint8 masked_select", lambda: x.masked_select(m8))
        p("softmax nodim", lambda: F.softmax(x))
        p("log_softmax nodim", lambda: F.log_softmax(x))
        p("nn.Softmax() nodim", lambda: nn.Softmax()(x))
        p("softmin nodim", lambda: F.softmin(x))
        p("upsample", lambda: F.upsample(x.view(1, 1, 2, 3), scale_factor=2).shape)
        p("upsample_bilinear", lambda: F.upsample_bilinear(x.view(1, 1, 2, 3), scale_factor=2).shape)
        p("upsample_nearest", lambda: F.upsample_nearest(x.view(1, 1, 2, 3), scale_factor=2).sum())
        p("UpsamplingBilinear2d", lambda: nn.UpsamplingBilinear2d(scale_factor=2))
        p("F.sigmoid", lambda: F.sigmoid(x).sum())
        p("F.tanh", lambda: F.tanh(x).sum())
        p("clip_grad_norm ret", lambda: torch.nn.utils.clip_grad_norm([nn.Parameter(torch.ones(2))], 1.0))
        p("xavier ret", lambda: nn.init.xavier_uniform(torch.zeros(2, 2)).shape)
        p("gels", lambda: torch.gels)
        p("symeig", lambda: torch.symeig(torch.eye(2)))
        p("set_default_tensor_type", lambda: (torch.set_default_tensor_type('torch.DoubleTensor'), torch.Tensor(2).dtype, torch.zeros(1).dtype, torch.set_default_tensor_type(torch.FloatTensor), torch.Tensor(1).dtype))
        p("cat empty legacy", lambda: torch.cat([torch.Tensor(), torch.ones(2, 3)]))
        p("cat empty legacy dim1", lambda: torch.cat([torch.Tensor(), torch.ones(2, 3)], 1))
        p("cat empty LongTensor", lambda: torch.cat((torch.LongTensor(), torch.tensor([1, 2]))))
        p("cat empty mixed", lambda: torch.cat((torch.Tensor(), torch.tensor([1, 2]))))
        p("stack floats", lambda: torch.stack([1.0, 2.0]))
        p("from_numpy ro", lambda: torch.from_numpy(np.broadcast_to(np.ones(2), (2, 2))).shape)
        p("int(1elem)", lambda: (int(torch.tensor([3.7])), float(torch.tensor([[1.5]])), bool(torch.tensor([0]))))
        p("index 0d", lambda: torch.tensor(1.0)[0])
        p("len 0d", lambda: len(torch.tensor(1.0)))
        p("iter 0d", lambda: list(torch.tensor(1.0)))
        p("nelement", lambda: (x.nelement(), x.ndimension(), x.dim(), len(x), x.size()[0]))
        p("multinomial", lambda: torch.multinomial(torch.tensor([0.1, 0.3, 0.6]), 5, replacement=True))
        p("multinomial2", lambda: torch.multinomial(torch.tensor([[0.1, 0.3, 0.6], [0.5, 0.5, 0.0]]), 2))
        p("randperm", lambda: torch.randperm(10))
        p("normal", lambda: torch.normal(torch.zeros(3), torch.ones(3)))
        p("normal2", lambda: torch.normal(2.0, 3.0, size=(3,)))
        p("SubsetRandomSampler", lambda: list(torch.utils.data.SubsetRandomSampler([5, 6, 7, 8])))
        p("RandomSampler", lambda: list(torch.utils.data.RandomSampler(range(6))))
        p("resize_ requires_grad", lambda: torch.ones(2, requires_grad=True).resize_(3))
        p("resize_ grow", lambda: torch.ones(2).resize_(2, 2).shape)
        p("grad.data None", lambda: torch.ones(2, requires_grad=True).grad.data)
        p("pad", lambda: F.pad(x, (1, 1), 'constant', 0))
        p("model.half", lambda: nn.Linear(2, 2).half().weight.dtype)
        p("DataParallel.module", lambda: type(nn.DataParallel(nn.Linear(1, 1)).module).__name__)
        p("Variable volatile attr", lambda: Variable(torch.ones(1), volatile=True).volatile)
        p("Variable requires_grad int", lambda: Variable(torch.ones(1).long(), requires_grad=True))
        p("expand -1", lambda: torch.ones(2, 1).expand(-1, 3).shape)
        p("view data[0]", lambda: x.view(-1).data[0])
        p("sum keepdim pos", lambda: x.sum(0, True).shape)
        p("max keepdim", lambda: torch.max(x, 1, keepdim=True))
        p("max elementwise", lambda: torch.max(x, x * 0 + 2))
        p("norm old", lambda: (torch.norm(x, 2, 1), x.norm(1)))
        p("renorm", lambda: x.renorm(2, 0, 1))
        p("nonzero as_tuple", lambda: torch.nonzero(x > 2, as_tuple=True))
        p("torch.lstsq", lambda: torch.lstsq)
        p("torch.solve", lambda: torch.solve(torch.eye(2), torch.eye(2)))
        p("torch.eig", lambda: torch.eig(torch.eye(2)))
        p("torch.matrix_rank", lambda: torch.matrix_rank(torch.eye(2)))
        p("torch.chain_matmul", lambda: torch.chain_matmul(torch.eye(2), torch.eye(2)))
        p("torch.ger", lambda: torch.ger(torch.ones(2), torch.ones(2)))
        p("torch.range2", lambda: torch.range(0, 1, 0.25))
        p("torch.floor_divide", lambda: torch.floor_divide(torch.tensor([5, -5]), 2))
        p("int div", lambda: torch.tensor([5, -5]) / 2)
        p("int //", lambda: torch.tensor([5, -5]) // 2)
        p("true_divide", lambda: torch.true_divide(torch.tensor([5]), 2))
        # (the method form: PyTorch's warning for torch.addcmul(x, 0.5, a, b) names the
        # function's signature, with input and out, deltagrad's the method's)
        p("addcmul old", lambda: torch.zeros(2).addcmul(0.5, torch.ones(2), torch.ones(2)))
        p("autograd.grad only_inputs False", lambda: torch.autograd.grad((torch.ones(2, requires_grad=True) * 2).sum(), [], only_inputs=False))
        p("backward_noscalar", lambda: (torch.ones(2, requires_grad=True) * 2).backward())
        p("t_ of 3d", lambda: torch.ones(2, 2, 2).t())
        p("squeeze dim tuple", lambda: torch.ones(1, 2, 1).squeeze((0, 2)).shape)
        p("tensor.data assignment", lambda: setattr(nn.Linear(2, 2).weight, "data", torch.zeros(3, 3)))
        p("nn.Parameter int", lambda: nn.Parameter(torch.ones(2).long()))
        p("uint8 sum dtype", lambda: torch.ByteTensor([200, 100]).sum())
        p("byte arith", lambda: (torch.ByteTensor([200]) + 100, torch.ByteTensor([1]) - 2))
        p("bool sum", lambda: (torch.tensor([True, True]).sum(), (x > 1).sum(1)))
        p("gt type", lambda: (x > 1).type())
        p("float mask mul", lambda: (x * (x > 1)).dtype)
        p("long float mul", lambda: (torch.tensor([1, 2]) * 1.5).dtype)
        p("numpy scalar mul", lambda: (torch.tensor([1, 2]) * np.float64(1.5)).dtype)
        p("numpy scalar left", lambda: type(np.float64(1.5) * torch.tensor([1.0])).__name__)
        p("np array + tensor", lambda: type(np.ones(2) + torch.ones(2)).__name__)
        p("format 1elem", lambda: "{:.2f}".format(torch.tensor([1.2345])))
        p("format 2elem", lambda: "{:.2f}".format(torch.tensor([1.2345, 2.0])))
        p("%d tensor", lambda: "%d" % torch.tensor(3.7))
        p("%s 1d", lambda: "%s" % torch.tensor([1, 2]))
        p("round tensor", lambda: round(torch.tensor(2.567), 2))
        p("round tensor noarg", lambda: round(torch.tensor(2.567)))
        p("math.floor tensor", lambda: __import__("math").floor(torch.tensor(2.5)))
        p("np.mean list of 0d", lambda: np.mean([torch.tensor(1.0), torch.tensor(2.0)]))
        p("sum of 0d list", lambda: sum([torch.tensor(1.0), torch.tensor(2.0)]))
        p("max of list tensors", lambda: max([torch.tensor(1.0), torch.tensor(2.0)]))
        p("sorted tensor", lambda: sorted(torch.tensor([3, 1, 2])))
        p("hash 0d", lambda: isinstance(hash(torch.tensor(1)), int))
        p("tensor in list", lambda: torch.tensor(2) in [1, 2])
        p("json", lambda: __import__("json").dumps({"a": torch.tensor([1.5, 2]).tolist()}))
        p("str(dtype)", lambda: (str(torch.float), repr(torch.int), torch.float.is_floating_point, torch.int32.itemsize))
        p("np.asarray(param)", lambda: np.asarray(nn.Parameter(torch.ones(2))).dtype)


def section_api_objects() -> None:
    torch.manual_seed(0)
    with printed("api2.log"):
        x = torch.arange(6.0).view(2, 3)
        p("f64 rg", lambda: str(torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)))
        p("f16 rg", lambda: str(torch.tensor([1.0, 2.0], dtype=torch.float16, requires_grad=True) * 2))
        p("nan summ", lambda: str(torch.cat([torch.tensor([float('nan'), float('inf')]), torch.arange(2000.0)])))
        p("zeros 3,0,2", lambda: str(torch.zeros(3, 0, 2)))
        p("empty 0,3 long", lambda: str(torch.empty(0, 3, dtype=torch.int64)))
        p("[[]]", lambda: str(torch.tensor([[]])))
        p("eigh", lambda: str(torch.linalg.eigh(torch.eye(2))))
        p("svd", lambda: str(torch.svd(torch.eye(2))))
        p("aminmax", lambda: str(torch.aminmax(x)))
        p("mode", lambda: str(torch.mode(torch.tensor([1, 1, 2]))))
        p("median dim", lambda: str(x.median(1)))
        p("kthvalue", lambda: str(x.kthvalue(1, 1)))
        p("std_mean", lambda: str(torch.std_mean(x, 1)))
        p("frexp", lambda: str(torch.frexp(torch.tensor([8.0]))))
        p("slogdet", lambda: str(torch.slogdet(torch.eye(2) * 2)))
        p("histogram", lambda: str(torch.histogram(torch.tensor([1.0, 2.0, 1.0]), bins=2)))
        p("storage", lambda: str(x.storage()))
        p("storage size", lambda: (x.storage().size(), x.untyped_storage().nbytes(), type(x.storage()).__name__))
        p("layout", lambda: (torch.strided, torch.sparse_coo, torch.contiguous_format, torch.channels_last, torch.preserve_format))
        p("cuda device obj", lambda: (torch.device("cuda:1"), str(torch.device("cuda", 0)), torch.device("cpu").index, torch.device("cuda").type))
        p("calculate_gain", lambda: (nn.init.calculate_gain('leaky_relu', 0.2), nn.init.calculate_gain('tanh'), nn.init.calculate_gain('selu')))
        p("version.cuda", lambda: (torch.version.cuda, torch.backends.mps.is_available(), torch.backends.cudnn.version()))
        p("version float", lambda: float(torch.__version__[:3]) >= 1.6)
        p("version cmp", lambda: (torch.__version__ >= "1.6", torch.__version__ < "3"))
        p("default_collate", lambda: __import__("torch.utils.data.dataloader", fromlist=["default_collate"]).default_collate([torch.ones(2), torch.zeros(2)]))
        p("_six", lambda: __import__("torch._six"))
        class MyLoss(nn.modules.loss._Loss):
            def __init__(self, size_average=None, reduce=None, reduction='mean'):
                super(MyLoss, self).__init__(size_average, reduce, reduction)
            def forward(self, a, b):
                return ((a - b) ** 2).sum() if self.reduction == 'sum' else ((a - b) ** 2).mean()
        p("_Loss sub", lambda: (MyLoss(size_average=False).reduction, MyLoss()(x, x + 1), MyLoss(size_average=False)))
        p("_WeightedLoss", lambda: nn.modules.loss._WeightedLoss(torch.ones(2)).weight)
        p("isinstance _ConvNd", lambda: (isinstance(nn.Conv2d(1, 1, 1), nn.modules.conv._ConvNd), isinstance(nn.BatchNorm2d(1), nn.modules.batchnorm._BatchNorm)))
        p("Variable path", lambda: (torch.autograd.variable.Variable is torch.autograd.Variable, torch.autograd.function.Function is torch.autograd.Function))
        class Warm(torch.optim.lr_scheduler._LRScheduler):
            def __init__(self, opt, total, last_epoch=-1):
                self.total = total
                super(Warm, self).__init__(opt, last_epoch)
            def get_lr(self):
                return [b * min(1.0, (self.last_epoch + 1) / self.total) for b in self.base_lrs]
        def warm():
            o = torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=0.1)
            s = Warm(o, 4)
            out = []
            for _ in range(5):
                o.step(); s.step(); out.append(round(o.param_groups[0]["lr"], 6))
            return out, s.state_dict()
        p("_LRScheduler", warm)
        p("tensor(tensor)", lambda: torch.tensor(x).shape)
        p("new_tensor(tensor)", lambda: x.new_tensor(x).shape)
        p("Tensor(tensor)", lambda: torch.Tensor(x) is x)
        p("FloatTensor(tensor)", lambda: torch.FloatTensor(x).shape)
        p("LongTensor(float tensor)", lambda: torch.LongTensor(x))
        p("as_tensor(tensor)", lambda: torch.as_tensor(x) is x)
        p("pad_sequence", lambda: nn.utils.rnn.pad_sequence([torch.ones(2), torch.ones(3)], batch_first=True, padding_value=-1))
        p("rng state", lambda: (torch.get_rng_state().shape, torch.get_rng_state().dtype))
        p("initial_seed", lambda: torch.initial_seed())
        p("seed default", lambda: (torch.manual_seed(5).initial_seed(), type(torch.manual_seed(5)).__name__))
        p("Generator repr", lambda: type(torch.Generator()).__name__)
        p("promote_types", lambda: (torch.promote_types(torch.int32, torch.float16), torch.result_type(torch.tensor([1]), 1.0), torch.can_cast(torch.float32, torch.int32)))
        p("is_tensor/is_storage", lambda: (torch.is_tensor([1]), torch.is_storage(x.storage()), torch.is_floating_point(x), torch.numel(x)))
        p("typename", lambda: (torch.typename(x), torch.typename(nn.Parameter(x)), torch.typename(1)))
        p("Size repr", lambda: (repr(torch.Size([])), str(torch.Size([1, 2])), torch.Size([2, 3])[0].__class__.__name__))
        p("print list floats", lambda: str([round(v, 4) for v in torch.randn(3).tolist()]))
        p("named params of Sequential", lambda: [n for n, _ in nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU(), nn.Linear(1, 2))).named_parameters()])
        p("modules count", lambda: [type(m).__name__ for m in nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU())).modules()])
        p("children", lambda: [type(m).__name__ for m in nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU())).children()])
        p("module str extra", lambda: str(nn.Sequential(nn.Linear(2, 2)).to(torch.float64)))
        p("parameters of half", lambda: str(nn.Linear(1, 1).half().weight.dtype))
        p("state_dict prefix", lambda: list(nn.Linear(1, 1).state_dict(prefix="m.").keys()))
        p("load strict False result", lambda: str(nn.Linear(1, 1).load_state_dict({"weight": torch.ones(1, 1)}, strict=False)))
        p("load strict error", lambda: nn.Linear(1, 1).load_state_dict({"weight": torch.ones(2, 1)}))
        p("zero_grad set_to_none", lambda: (lambda m: (m.zero_grad(), m.weight.grad))(nn.Linear(1, 1)))
        p("requires_grad_ module", lambda: [p.requires_grad for p in nn.Linear(1, 1).requires_grad_(False).parameters()])
        p("train(False)", lambda: (nn.Dropout().train(False).training, nn.Dropout().eval().training))
        p("apply returns", lambda: type(nn.Linear(1, 1).apply(lambda m: None)).__name__)
        p("cpu returns self", lambda: (lambda m: m.cpu() is m)(nn.Linear(1, 1)))
        p("share_memory", lambda: type(nn.Linear(1, 1).share_memory()).__name__)
        p("float(tensor 1elem 2d)", lambda: float(torch.ones(1, 1)))
        p("float(tensor 2elem)", lambda: isinstance(_raised(lambda: float(torch.ones(2))),
                                                    ValueError))
        p("int of float 0d", lambda: int(torch.tensor(-2.7)))
        p("bool of 2elem", lambda: bool(torch.ones(2)))
        p("if tensor 1elem", lambda: "yes" if torch.tensor([0.0]) else "no")
        p("x.item 2elem", lambda: torch.ones(2).item())
        p("numpy of rg", lambda: torch.ones(2, requires_grad=True).numpy())
        p("tolist rg", lambda: torch.ones(2, requires_grad=True).tolist())
        p("len of Size", lambda: len(x.size()))


def section_api_nn() -> None:
    torch.manual_seed(0)
    with printed("api3.log"):
        x = torch.randn(2, 3, 4, 4)
        lstm = nn.LSTM(3, 4, batch_first=True)
        p("flatten_parameters", lambda: lstm.flatten_parameters())
        p("all_weights", lambda: [w.shape for w in lstm.all_weights[0]])
        p("lstm None hidden", lambda: lstm(torch.randn(2, 5, 3), None)[0].shape)
        p("pack unsorted", lambda: nn.utils.rnn.pack_padded_sequence(torch.zeros(3, 2, 1), [1, 3]))
        p("pack lengths tensor", lambda: nn.utils.rnn.pack_padded_sequence(torch.zeros(3, 2, 1), torch.tensor([3, 1])).batch_sizes)
        p("emb copy f64", lambda: nn.Embedding(3, 2).weight.data.copy_(torch.from_numpy(np.ones((3, 2)))).dtype)
        p("F.embedding padding", lambda: F.embedding(torch.tensor([0, 1]), torch.ones(3, 2), padding_idx=0))
        p("ce ignore -1", lambda: F.cross_entropy(torch.randn(3, 4), torch.tensor([1, -1, 2]), ignore_index=-1))
        p("nll reduce False", lambda: F.nll_loss(torch.randn(3, 4).log_softmax(1), torch.tensor([1, 0, 2]), reduce=False))
        p("CE weight FloatTensor", lambda: nn.CrossEntropyLoss(weight=torch.FloatTensor([1, 2, 3, 4]))(torch.randn(3, 4), torch.tensor([1, 0, 3])))
        p("bce pos_weight", lambda: F.binary_cross_entropy_with_logits(torch.randn(3), torch.ones(3), pos_weight=torch.tensor([2.0])))
        p("mse reduce False", lambda: nn.MSELoss(reduce=False)(torch.ones(2), torch.zeros(2)))
        p("cosine_similarity", lambda: F.cosine_similarity(torch.randn(2, 3), torch.randn(2, 3), dim=1, eps=1e-8))
        p("normalize", lambda: F.normalize(torch.tensor([[3.0, 4.0]]), p=2, dim=1))
        theta = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
        p("affine_grid noalign", lambda: F.affine_grid(theta, (1, 1, 2, 2)).sum())
        p("grid_sample noalign", lambda: F.grid_sample(torch.arange(4.0).view(1, 1, 2, 2), F.affine_grid(theta, (1, 1, 2, 2), align_corners=False)).sum())
        p("interp bilinear noalign", lambda: F.interpolate(x, scale_factor=2, mode='bilinear').shape)
        p("interp nearest", lambda: F.interpolate(x, size=(3, 3)).sum())
        p("Upsample bilinear", lambda: nn.Upsample(scale_factor=2, mode='bilinear')(x).shape)
        p("avgpool ceil", lambda: F.avg_pool2d(torch.ones(1, 1, 5, 5), 2, ceil_mode=True))
        p("maxpool idx unpool", lambda: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2).shape)
        p("relu inplace leaf", lambda: F.relu(torch.ones(2, requires_grad=True), inplace=True))
        p("hook no grad", lambda: torch.ones(2).register_hook(lambda g: g))
        p("params_to_vector", lambda: nn.utils.parameters_to_vector(nn.Linear(2, 2).parameters()).shape)
        m = nn.Linear(2, 2)
        p("register_parameter None", lambda: (m.register_parameter("extra", None), [n for n, _ in m.named_parameters()], m.extra))
        p("named_parameters prefix", lambda: [n for n, _ in nn.Sequential(nn.Linear(1, 1)).named_parameters(prefix="net", recurse=True)])
        p("gumbel hard", lambda: F.gumbel_softmax(torch.randn(2, 5), tau=1, hard=True))
        p("gumbel soft", lambda: F.gumbel_softmax(torch.randn(2, 5), tau=0.5))
        p("dropout2d 3d", lambda: F.dropout2d(torch.ones(2, 3, 4)).shape)
        p("dropout default", lambda: F.dropout(torch.ones(8)).ne(1).any())
        p("hardtanh_", lambda: F.hardtanh_(torch.tensor([-3.0, 0.5, 3.0])))
        p("lrn", lambda: F.local_response_norm(x, 2).sum())
        p("softmax _stacklevel", lambda: F.softmax(torch.ones(2), dim=0, _stacklevel=5))
        p("log_softmax dtype", lambda: F.log_softmax(torch.ones(2), dim=0, dtype=torch.float64).dtype)
        p("pad reflect 3d", lambda: F.pad(torch.arange(4.0).view(1, 1, 4), (2, 2), mode='reflect'))
        p("pad replicate 2d", lambda: F.pad(torch.arange(4.0).view(1, 1, 2, 2), (1, 1, 1, 1), mode='replicate').shape)
        p("conv2d weight shape err", lambda: F.conv2d(x, torch.ones(2, 2, 3, 3)))
        p("linear shape err", lambda: nn.Linear(3, 2)(torch.ones(2, 4)))
        p("bn 1 sample train", lambda: nn.BatchNorm1d(3)(torch.ones(1, 3)))
        p("clip_grad_value_", lambda: (lambda l: (l(torch.ones(1, 2)).sum().backward(), nn.utils.clip_grad_value_(l.parameters(), 0.1), l.weight.grad))(nn.Linear(2, 2)))
        p("clip_grad_norm_ inf", lambda: (lambda l: (l(torch.ones(1, 2)).sum().backward(), nn.utils.clip_grad_norm_(l.parameters(), 0.1, norm_type='inf')))(nn.Linear(2, 2)))
        p("clip no grads", lambda: nn.utils.clip_grad_norm_(nn.Linear(2, 2).parameters(), 1.0))
        p("one_hot -1", lambda: F.one_hot(torch.tensor([0, 2])))
        p("one_hot float", lambda: F.one_hot(torch.tensor([0.0, 2.0])))
        p("triplet", lambda: F.triplet_margin_loss(torch.ones(2, 3), torch.zeros(2, 3), torch.ones(2, 3) * 2, margin=1.0))
        p("margin ranking", lambda: nn.MarginRankingLoss(margin=0.5)(torch.tensor([1.0, 2.0]), torch.tensor([2.0, 1.0]), torch.tensor([1.0, -1.0])))
        p("hinge emb", lambda: nn.HingeEmbeddingLoss()(torch.tensor([0.5, 2.0]), torch.tensor([1.0, -1.0])))
        p("multilabel margin", lambda: nn.MultiLabelMarginLoss()(torch.tensor([[0.1, 0.2, 0.4, 0.8]]), torch.tensor([[3, 0, -1, 1]])))
        p("soft margin", lambda: nn.SoftMarginLoss()(torch.tensor([0.5, -1.0]), torch.tensor([1.0, -1.0])))
        p("cosine emb", lambda: nn.CosineEmbeddingLoss()(torch.ones(2, 3), torch.ones(2, 3), torch.tensor([1, -1])))
        p("poisson nll", lambda: nn.PoissonNLLLoss()(torch.tensor([0.5, 1.0]), torch.tensor([1.0, 2.0])))
        p("kl batchmean", lambda: F.kl_div(torch.tensor([[-1.0, -0.5]]), torch.tensor([[0.3, 0.7]]), reduction='batchmean'))
        p("nll 2d", lambda: F.nll_loss(torch.randn(2, 3, 2, 2).log_softmax(1), torch.zeros(2, 2, 2, dtype=torch.long)))
        p("ctc", lambda: F.ctc_loss(torch.randn(5, 1, 3).log_softmax(2), torch.tensor([[1, 2]]), [5], [2]))


def section_api_autograd() -> None:
    with printed("api4.log"):
        t = torch.ones(2)
        p("Variable is t", lambda: Variable(t) is t)
        p("Variable rg is t", lambda: (lambda v: (v is t, t.requires_grad, v.data_ptr() == t.data_ptr()))(Variable(t, requires_grad=True)))
        p("Variable of Variable", lambda: Variable(Variable(torch.ones(1))).shape)
        p("Variable no arg", lambda: Variable())
        p("Variable list", lambda: Variable([1.0, 2.0]))
        p("Variable numpy", lambda: Variable(__import__("numpy").ones(2)))
        p("Variable kw", lambda: Variable(torch.ones(1), requires_grad=True, volatile=False).requires_grad)
        p("v.data is", lambda: (lambda v: (v.data is v, v.data.data_ptr() == v.data_ptr(), v.data.requires_grad))(torch.ones(2, requires_grad=True)))
        def data_assign():
            l = nn.Linear(2, 2)
            l.weight.data = torch.zeros(2, 2)
            return l.weight.sum().item(), l.weight.requires_grad, type(l.weight).__name__ == "Parameter" or isinstance(l.weight, nn.Parameter)
        p("data assign", data_assign)
        def data_assign_shape():
            l = nn.Linear(2, 2)
            l.weight.data = torch.zeros(3, 3)
            return l.weight.shape, l(torch.ones(1, 3)).shape
        p("data assign shape", data_assign_shape)
        p("data assign dtype", lambda: (lambda w: (setattr(w, "data", torch.zeros(2, dtype=torch.float64)), w.dtype))(nn.Parameter(torch.ones(2))))
        def grad_data():
            w = torch.ones(2, requires_grad=True)
            (w * 3).sum().backward()
            g = w.grad.data
            g.mul_(2)
            return w.grad
        p("grad.data mul", grad_data)
        def grad_assign():
            w = torch.ones(2, requires_grad=True)
            w.grad = torch.ones(2) * 5
            w.grad.data.zero_()
            return w.grad
        p("grad assign", grad_assign)
        p("grad assign wrong shape", lambda: setattr(torch.ones(2, requires_grad=True), "grad", torch.ones(3)))
        def detach_():
            a = torch.ones(2, requires_grad=True)
            b = a * 2
            b.detach_()
            return b.requires_grad, b.grad_fn, b.is_leaf
        p("detach_", detach_)
        def inplace_leaf():
            a = torch.ones(2, requires_grad=True)
            a.add_(1)
        p("inplace leaf", inplace_leaf)
        def inplace_saved():
            a = torch.ones(2, requires_grad=True)
            b = a.sigmoid()
            b.mul_(2)
            b.sum().backward()
        p("inplace on saved", inplace_saved)
        def with_data_inplace():
            a = torch.ones(2, requires_grad=True)
            a.data.add_(1)
            (a * a).sum().backward()
            return a.grad, a._version
        p("data inplace", with_data_inplace)
        p("version counter", lambda: (lambda a: (a.add_(1), a.mul_(2), a._version)[-1])(torch.ones(2)))
        def retain_twice():
            a = torch.ones(2, requires_grad=True)
            y = (a * a).sum()
            y.backward(retain_graph=True)
            y.backward()
            return a.grad
        p("retain twice", retain_twice)
        def grad_nonleaf():
            a = torch.ones(2, requires_grad=True)
            b = a * 2
            (b * b).sum().backward()
            return b.grad
        p("grad nonleaf", grad_nonleaf)
        def backward_gradient_list():
            a = torch.ones(2, requires_grad=True)
            torch.autograd.backward([(a * 2).sum(), (a * 3).sum()], [torch.tensor(1.0), torch.tensor(2.0)])
            return a.grad
        p("autograd.backward list", backward_gradient_list)
        def requires_grad_nonleaf():
            a = torch.ones(2, requires_grad=True)
            b = a * 2
            b.requires_grad = False
        p("requires_grad nonleaf false", requires_grad_nonleaf)
        p("torch.no_grad decorator", lambda: (torch.no_grad()(lambda: (torch.ones(1, requires_grad=True) * 2).requires_grad))())
        p("enable_grad inside no_grad", lambda: (lambda: [torch.no_grad().__enter__(), torch.enable_grad().__enter__(), (torch.ones(1, requires_grad=True) * 2).requires_grad, torch.set_grad_enabled(True)][2])())
        def old_function_ctx():
            class Exp(torch.autograd.Function):
                @staticmethod
                def forward(ctx, i):
                    result = i.exp()
                    ctx.save_for_backward(result)
                    ctx.mark_non_differentiable()
                    return result
                @staticmethod
                def backward(ctx, grad_output):
                    result, = ctx.saved_tensors
                    return grad_output * result
            x = torch.tensor([0.0, 1.0], requires_grad=True)
            y = Exp.apply(x)
            y.sum().backward()
            return x.grad, y.grad_fn.name() if hasattr(y.grad_fn, "name") else None, ctx_needs(Exp)
        def ctx_needs(F):
            seen = []
            class G(torch.autograd.Function):
                @staticmethod
                def forward(ctx, a, b):
                    seen.append(ctx.needs_input_grad)
                    return a * b
                @staticmethod
                def backward(ctx, g):
                    return g, None
            G.apply(torch.ones(1, requires_grad=True), torch.ones(1))
            return seen
        p("function ctx", old_function_ctx)
        def once_differentiable():
            from torch.autograd.function import once_differentiable
            class Sq(torch.autograd.Function):
                @staticmethod
                def forward(ctx, x):
                    ctx.save_for_backward(x)
                    return x * x
                @staticmethod
                @once_differentiable
                def backward(ctx, g):
                    x, = ctx.saved_tensors
                    return 2 * x * g
            x = torch.tensor([3.0], requires_grad=True)
            y = Sq.apply(x)
            g, = torch.autograd.grad(y, x, create_graph=True)
            return g, g.requires_grad
        p("once_differentiable", once_differentiable)


def section_print_fuzz() -> None:
    # str() of 300 tensors drawn by NumPy (the same values on both sides): ten dtypes, eleven
    # magnitudes from 1e-12 to 1e17, fourteen shapes from 0-d through summarised ones, rounded /
    # nan-inf / non-negative values, under twelve print options.
    rs = np.random.RandomState(0)
    kinds = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64,
             torch.int32, torch.uint8, torch.int8, torch.bool, torch.complex64]
    scales = [1e-12, 1e-6, 1e-3, 0.1, 1.0, 7.0, 123.0, 1e4, 1e6, 1e9, 1e17]
    shapes = [(), (1,), (3,), (2, 3), (7,), (2, 2, 2), (0,), (1, 1), (12,), (3, 40), (1001,),
              (40, 30), (2, 3, 200), (5, 0, 2)]
    options = [{}, {"precision": 0}, {"edgeitems": 4}, {"profile": "short"},
               {"precision": 10, "sci_mode": True}, {"precision": 2}, {"precision": 7},
               {"sci_mode": True}, {"sci_mode": False}, {"linewidth": 30},
               {"threshold": 5, "edgeitems": 1}]
    with printed("pfuzz.log"), np.errstate(invalid="ignore"):
        for trial in range(300):
            dtype = kinds[rs.randint(len(kinds))]
            scale = scales[rs.randint(len(scales))]
            shape = shapes[rs.randint(len(shapes))]
            option = options[rs.randint(len(options))]
            kind = rs.randint(4)
            values = rs.standard_normal(int(np.prod(shape)) if shape else 1) * scale
            if kind == 1:
                values = np.round(values)
            if kind == 2 and values.size > 1:
                values[0], values[-1] = np.nan, np.inf
            if kind == 3:
                values = np.abs(values)
            array = values.reshape(shape)
            if dtype.is_complex:
                t = torch.tensor(array + 1j * array[::-1].copy() if shape else array + 0.5j,
                                 dtype=dtype)
            elif dtype == torch.bool:
                t = torch.tensor(array > 0)
            elif not dtype.is_floating_point:
                info = torch.iinfo(dtype)
                t = torch.tensor(np.clip(np.nan_to_num(array), info.min, info.max)
                                 .astype(np.int64)).to(dtype)
            else:
                t = torch.tensor(array, dtype=torch.float64).to(dtype)
            try:
                torch.set_printoptions(**option)
                print(f"#{trial} {dtype} {scale} {shape} {option} {kind}\n{t}")
            finally:
                torch.set_printoptions(profile="default")
                torch.set_printoptions(sci_mode=None)


SECTIONS = {"api_tensors": section_api_tensors, "api_objects": section_api_objects,
            "api_nn": section_api_nn, "api_autograd": section_api_autograd,
            "print_fuzz": section_print_fuzz}

if __name__ == "__main__":
    from prog_s25_PR9_harness import run

    run(SECTIONS)
