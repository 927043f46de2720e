"""Error-message checks for nn, optim and devices (PR19, session 28), as libraries' test suites
write them: inputs of the wrong rank or size for conv / pooling / norm layers, loss arguments
(reduction strings, target dtypes and sizes), load_state_dict mismatches and their report,
module registration and container misuse, optimizer and scheduler arguments, CUDA on a CPU
build. Each case prints ``ok`` or what failed. Run by prog_s28_PR19_all.py.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed
from prog_s28_PR19_common import expect, said

o = torch.ones


def section_layer_inputs() -> None:
    with printed("lyi.log"):
        conv = nn.Conv2d(3, 4, 3)
        expect("conv2d rank", RuntimeError, r"Expected 3D \(unbatched\) or 4D \(batched\) input to "
               r"conv2d, but got input of size: \[3, 8\]", lambda: conv(o(3, 8)))
        expect("conv2d channels", RuntimeError, r"expected input\[1, 5, 8, 8\] to have 3 channels, "
               "but got 5 channels instead", lambda: conv(o(1, 5, 8, 8)))
        expect("conv kernel", RuntimeError, "Kernel size can't be greater than actual input size",
               lambda: nn.Conv2d(3, 4, 5)(o(1, 3, 3, 3)))
        expect("conv1d rank", RuntimeError, r"Expected 2D \(unbatched\) or 3D \(batched\) input to "
               "conv1d", lambda: nn.Conv1d(1, 1, 2)(o(1, 1, 3, 8)))
        expect("convT channels", RuntimeError, "Given transposed=1, weight of size",
               lambda: nn.ConvTranspose2d(3, 4, 3)(o(1, 5, 8, 8)))
        expect("conv groups", ValueError, "in_channels must be divisible by groups",
               lambda: nn.Conv2d(3, 4, 3, groups=2))
        expect("padding same", ValueError, "padding='same' is not supported for strided "
               "convolutions", lambda: nn.Conv2d(3, 4, 3, padding="same", stride=2))
        expect("padding str", ValueError, "Invalid padding string 'foo'",
               lambda: nn.Conv2d(3, 4, 3, padding="foo"))
        expect("padding_mode", ValueError, "padding_mode must be one of",
               lambda: nn.Conv2d(3, 4, 3, padding_mode="foo"))
        expect("maxpool rank", RuntimeError, r"non-empty 3D or 4D \(batch mode\) tensor expected "
               "for input", lambda: nn.MaxPool2d(2)(o(8)))
        expect("maxpool small", RuntimeError, "Output size is too small",
               lambda: nn.MaxPool2d(5)(o(1, 1, 3, 3)))
        expect("maxpool1d rank", RuntimeError, r"Expected 2D or 3D \(batch mode\) tensor",
               lambda: F.max_pool1d(o(1, 1, 3, 8), 2))
        expect("bn1d rank", ValueError, r"expected 2D or 3D input \(got 4D input\)",
               lambda: nn.BatchNorm1d(3)(o(2, 3, 4, 5)))
        expect("bn2d rank", ValueError, r"expected 4D input \(got 2D input\)",
               lambda: nn.BatchNorm2d(3)(o(2, 3)))
        expect("bn one value", ValueError, "Expected more than 1 value per channel when training",
               lambda: nn.BatchNorm1d(3)(o(1, 3)))
        expect("bn channels", RuntimeError, "running_mean should contain 4 elements not 3",
               lambda: nn.BatchNorm1d(3)(o(2, 4)))
        expect("layer norm", RuntimeError, r"Given normalized_shape=\[4\], expected input with "
               r"shape \[\*, 4\], but got input of size\[2, 3\]", lambda: nn.LayerNorm(4)(o(2, 3)))
        expect("group norm", ValueError, r"num_channels \(6\) must be divisible by num_groups "
               r"\(4\)", lambda: nn.GroupNorm(4, 6))
        expect("group norm input", RuntimeError, "Expected weight to be a vector of size equal to "
               "the number of channels in input", lambda: nn.GroupNorm(2, 6)(o(2, 4, 3)))
        expect("interpolate", NotImplementedError, "Got 3D input, but bilinear mode needs 4D input",
               lambda: F.interpolate(o(1, 1, 4), scale_factor=2, mode="bilinear"))
        expect("interpolate both", ValueError, "only one of size or scale_factor should be defined",
               lambda: F.interpolate(o(1, 1, 4), size=3, scale_factor=2))
        expect("interpolate none", ValueError, "either size or scale_factor should be defined",
               lambda: F.interpolate(o(1, 1, 4)))
        expect("align_corners", ValueError, "align_corners option can only be set with the "
               "interpolating modes", lambda: F.interpolate(o(1, 1, 4, 4), scale_factor=2,
                                                            align_corners=True))
        expect("pad odd", RuntimeError, "Padding length must be divisible by 2",
               lambda: F.pad(o(2, 3), (1,)))
        expect("pad reflect", RuntimeError, "Padding size should be less than the corresponding "
               "input dimension", lambda: F.pad(o(1, 1, 3), (3, 3), mode="reflect"))
        expect("pad mode", NotImplementedError, "Unrecognised padding mode foo",
               lambda: F.pad(o(1, 1, 3), (1, 1), mode="foo"))
        expect("dropout p", ValueError, "dropout probability has to be between 0 and 1, but got "
               "1.5", lambda: nn.Dropout(1.5))
        expect("embedding pad", AssertionError, "Padding_idx must be within num_embeddings",
               lambda: nn.Embedding(3, 2, padding_idx=5))
        expect("mha heads", AssertionError, "embed_dim must be divisible by num_heads",
               lambda: nn.MultiheadAttention(6, 4))
        mha = nn.MultiheadAttention(4, 2)
        expect("mha kv", AssertionError, "key shape .* does not match value shape",
               lambda: mha(o(2, 1, 4), o(3, 1, 4), o(2, 1, 4)))
        expect("mha embed", AssertionError, "was expecting embedding dimension of 4, but got 5",
               lambda: mha(o(2, 1, 5), o(2, 1, 5), o(2, 1, 5)))
        expect("lstm size", RuntimeError, "input.size\\(-1\\) must be equal to input_size. "
               "Expected 3, got 4", lambda: nn.LSTM(3, 4)(o(2, 5, 4)))
        expect("lstm rank", ValueError, "LSTM: Expected input to be 2D or 3D, got 4D",
               lambda: nn.LSTM(3, 4)(o(2, 5, 3, 1)))
        expect("gru hidden", RuntimeError, r"Expected hidden size \(1, 5, 4\), got \[1, 4, 4\]",
               lambda: nn.GRU(3, 4)(o(2, 5, 3), o(1, 4, 4)))
        expect("rnn nonlinearity", ValueError, "Unknown nonlinearity 'foo'",
               lambda: nn.RNN(3, 4, nonlinearity="foo"))
        expect("unflatten", RuntimeError, "don't multiply up to the size of dim 1 \\(5\\)",
               lambda: nn.Unflatten(1, (2, 3))(o(2, 5)))
        print("shapes", conv(o(1, 3, 8, 8)).shape, conv(o(3, 8, 8)).shape,
              nn.Conv1d(1, 1, 2)(o(1, 4)).shape)


def section_loss_errors() -> None:
    with printed("lse.log"):
        logits = torch.zeros(2, 3)
        for name, call in (("mse", lambda r: F.mse_loss(o(2), o(2), reduction=r)),
                           ("l1", lambda r: nn.L1Loss(reduction=r)(o(2), o(2))),
                           ("ce", lambda r: F.cross_entropy(logits, torch.tensor([0, 1]),
                                                            reduction=r)),
                           ("kl", lambda r: F.kl_div(o(2), o(2), reduction=r)),
                           ("bce", lambda r: F.binary_cross_entropy(o(2) / 2, o(2), reduction=r))):
            expect(f"{name} reduction", ValueError, "foo is not a valid value for reduction",
                   lambda call=call: call("foo"))
        expect("ce float target", RuntimeError, "expected target dtype to be Long or Byte, but "
               "got Float", lambda: F.cross_entropy(logits, torch.tensor([0.0, 1.0])))
        expect("ce int32 target", RuntimeError, "expected target dtype to be Long or Byte, but "
               "got Int", lambda: F.cross_entropy(logits, torch.tensor([0, 1], dtype=torch.int32)))
        expect("ce batch", ValueError, r"Expected input batch_size \(2\) to match target "
               r"batch_size \(3\)", lambda: F.cross_entropy(logits, torch.tensor([0, 1, 2])))
        expect("ce multi", RuntimeError, "0D or 1D target tensor expected, multi-target not "
               "supported", lambda: F.cross_entropy(logits, o(2, 4)))
        expect("nll bounds", IndexError, "Target 5 is out of bounds",
               lambda: F.nll_loss(logits, torch.tensor([0, 5])))
        expect("ce negative", IndexError, "Target -1 is out of bounds",
               lambda: F.cross_entropy(logits, torch.tensor([-1, 0])))
        expect("nll 3d", RuntimeError, r"Expected target size \[2, 4\], got \[2\]",
               lambda: F.nll_loss(o(2, 3, 4), torch.tensor([0, 1])))
        expect("smoothing", RuntimeError, "label_smoothing must be between 0.0 and 1.0",
               lambda: F.cross_entropy(logits, torch.tensor([0, 1]), label_smoothing=1.5))
        expect("bce range", RuntimeError, "all elements of input should be between 0 and 1",
               lambda: F.binary_cross_entropy(o(2) * 2, o(2)))
        expect("bce size", ValueError, "Using a target size .* that is different to the input "
               "size .* is deprecated", lambda: F.binary_cross_entropy(o(2, 1) / 2, o(2)))
        expect("bce logits", ValueError, r"Target size \(torch.Size\(\[2\]\)\) must be the same "
               r"as input size \(torch.Size\(\[2, 1\]\)\)",
               lambda: F.binary_cross_entropy_with_logits(o(2, 1), o(2)))
        expect("margin ranking", RuntimeError, "must match the size",
               lambda: F.margin_ranking_loss(o(2), o(3), o(2)))
        print("all ignored", F.cross_entropy(logits, torch.tensor([-100, -100])))


def section_state_dict_errors() -> None:
    with printed("sde.log"):
        model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
        other = nn.Sequential(nn.Linear(4, 2), nn.ReLU(), nn.Linear(2, 1))
        expect("size mismatch", RuntimeError, "size mismatch for 0.weight: copying a param with "
               r"shape torch.Size\(\[2, 4\]\) from checkpoint, the shape in current model is "
               r"torch.Size\(\[2, 3\]\)", lambda: model.load_state_dict(other.state_dict()))
        expect("header", RuntimeError, "Error\\(s\\) in loading state_dict for Sequential",
               lambda: model.load_state_dict(other.state_dict()))
        partial = {k: v for k, v in model.state_dict().items() if k != "2.bias"}
        expect("missing", RuntimeError, 'Missing key\\(s\\) in state_dict: "2.bias"',
               lambda: model.load_state_dict(partial))
        extra = {**model.state_dict(), "3.weight": o(1)}
        expect("unexpected", RuntimeError, 'Unexpected key\\(s\\) in state_dict: "3.weight"',
               lambda: model.load_state_dict(extra))
        result = model.load_state_dict(extra, strict=False)
        print("strict=False", result.missing_keys, result.unexpected_keys)
        print("result", model.load_state_dict(partial, strict=False))
        print("ok", model.load_state_dict(model.state_dict()))
        try:
            model.load_state_dict(other.state_dict())
        except RuntimeError as error:
            print(str(error).replace("\t", "    "))
        expect("not a mapping", TypeError, "Expected state_dict to be dict-like, got",
               lambda: model.load_state_dict([1, 2]))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        expect("optimizer groups", ValueError, "loaded state dict has a different number of "
               "parameter groups", lambda: opt.load_state_dict({"state": {}, "param_groups": []}))
        expect("optimizer sizes", ValueError, "loaded state dict contains a parameter group that "
               "doesn't match the size of optimizer's group",
               lambda: opt.load_state_dict({"state": {}, "param_groups": [
                   {**opt.state_dict()["param_groups"][0], "params": [0]}]}))


def section_module_errors() -> None:
    with printed("mde.log"):
        layer = nn.Linear(2, 2)
        expect("attribute", AttributeError, "'Linear' object has no attribute 'foo'",
               lambda: layer.foo)
        expect("param type", TypeError, "cannot assign 'torch.FloatTensor' as parameter "
               r"'weight' \(torch.nn.Parameter or None expected\)",
               lambda: setattr(layer, "weight", o(2, 2)))
        expect("register param", TypeError, "cannot assign",
               lambda: nn.Module().register_parameter("w", o(1)))
        expect("param dot", KeyError, r'parameter name can.+t contain "\."',
               lambda: nn.Module().register_parameter("a.b", nn.Parameter(o(1))))
        expect("buffer dot", KeyError, r'buffer name can.+t contain "\."',
               lambda: nn.Module().register_buffer("a.b", o(1)))
        expect("module dot", KeyError, r'module name can.+t contain "\.", got: a\.b',
               lambda: nn.Module().add_module("a.b", nn.Linear(1, 1)))
        expect("module empty", KeyError, 'module name can.+t be empty string ""',
               lambda: nn.Module().add_module("", nn.Linear(1, 1)))
        expect("sequential index", IndexError, "index 3 is out of range",
               lambda: nn.Sequential(nn.Linear(1, 1))[3])
        expect("module list index", IndexError, "index 2 is out of range",
               lambda: nn.ModuleList([nn.Linear(1, 1)])[2])
        expect("module dict", KeyError, "b", lambda: nn.ModuleDict({"a": nn.Linear(1, 1)})["b"])
        expect("get_submodule", AttributeError, "Linear has no attribute `foo`",
               lambda: layer.get_submodule("foo"))
        expect("get_parameter", AttributeError, "Linear has no attribute `foo`",
               lambda: layer.get_parameter("foo"))
        expect("forward missing", NotImplementedError, 'Module \\[Module\\] is missing the '
               'required "forward" function', lambda: nn.Module()(o(1)))
        expect("parameter int", RuntimeError, "Only Tensors of floating point and complex dtype "
               "can require gradients", lambda: nn.Parameter(torch.ones(2, dtype=torch.long)))
        said("param assign", lambda: setattr(layer, "weight", o(2, 2)), "cannot assign",
             "Parameter or None expected")
        layer.weight = nn.Parameter(o(2, 2))
        layer.bias = None
        print("assigned", layer.weight.sum().item(), layer.bias, sorted(dict(
            layer.named_parameters())))


def section_optimizer_errors() -> None:
    with printed("ope.log"):
        p = nn.Parameter(o(1))
        expect("lr", ValueError, "Invalid learning rate: -1", lambda: torch.optim.SGD([p], lr=-1))
        expect("momentum", ValueError, "Invalid momentum value: -1",
               lambda: torch.optim.SGD([p], lr=0.1, momentum=-1))
        expect("nesterov", ValueError, "Nesterov momentum requires a momentum and zero dampening",
               lambda: torch.optim.SGD([p], lr=0.1, nesterov=True))
        expect("weight decay", ValueError, "Invalid weight_decay value: -1",
               lambda: torch.optim.SGD([p], lr=0.1, weight_decay=-1))
        expect("betas", ValueError, "Invalid beta parameter at index 0: 1.0",
               lambda: torch.optim.Adam([p], betas=(1.0, 0.9)))
        expect("eps", ValueError, "Invalid epsilon value: -1",
               lambda: torch.optim.Adam([p], eps=-1))
        expect("empty", ValueError, "optimizer got an empty parameter list",
               lambda: torch.optim.SGD([], lr=0.1))
        expect("tensor", TypeError, "params argument given to the optimizer should be an iterable "
               "of Tensors or dicts, but got torch.FloatTensor",
               lambda: torch.optim.SGD(o(1, requires_grad=True), lr=0.1))
        expect("non-leaf", ValueError, "can't optimize a non-leaf Tensor",
               lambda: torch.optim.SGD([o(1, requires_grad=True) * 2], lr=0.1))
        expect("two groups", ValueError, "some parameters appear in more than one parameter group",
               lambda: torch.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1))
        expect("add group", ValueError, "some parameters appear in more than one parameter group",
               lambda: torch.optim.SGD([p], lr=0.1).add_param_group({"params": [p]}))
        opt = torch.optim.SGD([p], lr=0.1)
        expect("plateau mode", ValueError, "mode foo is unknown!",
               lambda: torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="foo"))
        expect("plateau factor", ValueError, "Factor should be < 1.0",
               lambda: torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=2.0))
        expect("lambda count", ValueError, "Expected 1 lr_lambdas, but got 2",
               lambda: torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=[lambda e: 1,
                                                                          lambda e: 2]))
        expect("warm restarts", ValueError, "Expected positive integer T_0, but got 0",
               lambda: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=0))
        expect("not optimizer", TypeError, "object is not an Optimizer",
               lambda: torch.optim.lr_scheduler.StepLR(object(), 1))
        expect("one cycle", ValueError, "You must define either total_steps OR \\(epochs AND "
               "steps_per_epoch\\)", lambda: torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1))
        print("groups", len(opt.param_groups), sorted(opt.param_groups[0])[:4])


def section_device_errors() -> None:
    with printed("dve.log"):
        for name, call in (("cuda()", lambda: o(2).cuda()),
                           ("device=", lambda: o(2, device="cuda")),
                           ("to", lambda: o(2).to("cuda:0")),
                           ("module", lambda: nn.Linear(2, 2).cuda()),
                           ("current", lambda: torch.cuda.current_device())):
            expect(name, AssertionError, "Torch not compiled with CUDA enabled", call)
        expect("bad device", RuntimeError, "Expected one of cpu, cuda", lambda: torch.device("gpu"))
        expect("bad index", RuntimeError, "Invalid device string: 'cuda:x'",
               lambda: torch.device("cuda:x"))
        expect("to foo", RuntimeError, "Expected one of cpu, cuda", lambda: o(2).to("foo"))
        device = "cuda" if torch.cuda.is_available() else "cpu"
        print("fallback", device, o(2, device=device).device, torch.device(device).type,
              torch.cuda.device_count(), o(2).to("cpu").is_cuda)


SECTIONS = {"layer_inputs": section_layer_inputs, "loss_errors": section_loss_errors,
            "state_dict_errors": section_state_dict_errors,
            "module_errors": section_module_errors, "optimizer_errors": section_optimizer_errors,
            "device_errors": section_device_errors}
