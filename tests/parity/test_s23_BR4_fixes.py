"""Session 23 BR4: small known differences from PyTorch that earlier sessions left, each
checked differentially against PyTorch (values bit for bit where the fix claims bits, dtypes,
gradients, exception types)."""

import weakref

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _pair(array):
    return torch.from_numpy(array.copy()), dg.from_numpy(array.copy())


# --- BatchNorm / InstanceNorm running statistics (PyTorch's CPU update, bit for bit) -----

@pytest.mark.parametrize("shape", [(4, 8, 5, 5), (5, 5, 5), (8, 16, 5), (2, 4, 3, 5, 5),
                                   (2, 3, 1, 7), (8, 16, 4, 4)])
@pytest.mark.parametrize("momentum", [0.1, 0.37, None])
def test_batch_norm_running_statistics_bits(shape, momentum):
    # Was ~58% of elements equal: the update blended a float64 mean / unbiased variance with a
    # float64 momentum; PyTorch blends in float32 (the variance's sum in float64).
    rng = np.random.default_rng(sum(shape))
    name = {3: "BatchNorm1d", 4: "BatchNorm2d", 5: "BatchNorm3d"}[len(shape)]
    theirs = getattr(torch.nn, name)(shape[1], momentum=momentum)
    ours = getattr(dg.nn, name)(shape[1], momentum=momentum)
    for _ in range(3):
        tx, dx = _pair((rng.standard_normal(shape) * 3 + 1).astype(np.float32))
        expected, got = theirs(tx), ours(dx)
        # the batch statistics too: the normalized output of these small inputs
        np.testing.assert_array_equal(got.detach().numpy(), expected.detach().numpy())
        for buffer in ("running_mean", "running_var", "num_batches_tracked"):
            np.testing.assert_array_equal(getattr(ours, buffer).numpy(),
                                          getattr(theirs, buffer).numpy(), err_msg=buffer)


def test_batch_norm_functional_update_float32_momentum():
    # F.batch_norm's momentum goes to float32 before the blend (0.3 is not a float32 value)
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((6, 4, 3)) * 5).astype(np.float32)
    start_mean = rng.standard_normal(4).astype(np.float32)
    start_var = rng.uniform(0.5, 2, 4).astype(np.float32)
    results = []
    for lib in (torch, dg):
        mean, var = lib.tensor(start_mean), lib.tensor(start_var)
        lib.nn.functional.batch_norm(lib.tensor(x), mean, var, training=True, momentum=0.3)
        results.append((mean.numpy(), var.numpy()))
    for theirs, ours in zip(*results):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("shape", [(4, 8, 5, 5), (3, 6, 7), (2, 4, 3, 3, 3)])
def test_instance_norm_running_statistics_bits(shape):
    # PyTorch updates N copies of the running statistics (one per instance) and takes their
    # mean over N; the mean of the instances' statistics blended once was 56-75% equal.
    rng = np.random.default_rng(len(shape))
    name = {3: "InstanceNorm1d", 4: "InstanceNorm2d", 5: "InstanceNorm3d"}[len(shape)]
    theirs = getattr(torch.nn, name)(shape[1], track_running_stats=True)
    ours = getattr(dg.nn, name)(shape[1], track_running_stats=True)
    for _ in range(3):
        tx, dx = _pair((rng.standard_normal(shape) * 2 - 1).astype(np.float32))
        theirs(tx), ours(dx)
        for buffer in ("running_mean", "running_var"):
            np.testing.assert_array_equal(getattr(ours, buffer).numpy(),
                                          getattr(theirs, buffer).numpy(), err_msg=buffer)


def test_batch_norm_float64_running_statistics_close():
    # float64: the same update in float64 (the batch sums' order is not PyTorch's: close)
    rng = np.random.default_rng(3)
    theirs = torch.nn.BatchNorm2d(5, dtype=torch.float64)
    ours = dg.nn.BatchNorm2d(5, dtype=dg.float64)
    tx, dx = _pair(rng.standard_normal((3, 5, 4, 4)))
    theirs(tx), ours(dx)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(),
                               rtol=1e-15, atol=0)
    np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(),
                               rtol=1e-14, atol=1e-16)


# --- Second derivatives through piecewise rules: zeros (or PyTorch's value), not None -----

_X = np.array([-2.0, -0.5, -0.0, 0.0, 0.3, 1.5, 3.0])
_Y = np.array([1.0, -2.0, 0.5, -1.0, 2.0, -0.7, 1.1])


def _second(lib, name):
    F = lib.nn.functional
    functions = {
        "threshold": lambda x, y: F.threshold(x, 0.2, -1.0),
        "hardshrink": lambda x, y: F.hardshrink(x, 0.4),
        "copysign": lambda x, y: lib.copysign(x, y),
        "copysign_sign": lambda x, y: lib.copysign(y, x),
        "fmod": lambda x, y: lib.fmod(x, y),
        "fmod_divisor": lambda x, y: lib.fmod(y, x + 5),
        "remainder": lambda x, y: lib.remainder(x, y),
        "remainder_divisor": lambda x, y: lib.remainder(y, x + 5),
        "norm1": lambda x, y: x.norm(1),
        "norm_inf": lambda x, y: x.norm(float("inf")),
        "dist1": lambda x, y: lib.dist(x, y, 1),
    }
    x = lib.tensor(_X, requires_grad=True)
    y = lib.tensor(_Y, requires_grad=True)
    first = lib.autograd.grad(functions[name](x, y).sum(), (x, y), create_graph=True,
                              allow_unused=True)
    flags = [None if g is None else g.requires_grad for g in first]
    linked = [g for g in first if g is not None and g.requires_grad]
    weights = lib.tensor(np.linspace(0.5, 1.5, _X.size))
    total = sum((g * weights).sum() for g in linked)
    second = lib.autograd.grad(total, (x, y), allow_unused=True)
    return flags, [None if g is None else
                   (g.numpy(force=True) if lib is torch else g.numpy()) for g in second]


@pytest.mark.parametrize("name", ["threshold", "hardshrink", "copysign", "copysign_sign",
                                  "fmod", "fmod_divisor", "remainder", "remainder_divisor",
                                  "norm1", "norm_inf", "dist1"])
def test_second_derivative_reaches_x(name):
    # Was: the first gradient did not require grad (a constant mask), so the second was None
    # (an error without allow_unused); PyTorch's rules take x: zeros (copysign: nan at 0).
    (flags_t, second_t), (flags_d, second_d) = _second(torch, name), _second(dg, name)
    assert flags_d == flags_t
    for a, b in zip(second_t, second_d):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(b, a)


def test_threshold_and_hardshrink_values_names_and_dtypes():
    results = []
    for lib in (torch, dg):
        F = lib.nn.functional
        x = lib.tensor([-1.0, 0.5, float("nan"), 2.0, 0.6], requires_grad=True)
        y = F.threshold(x, 0.6, -3.0)
        z = F.hardshrink(x.to(lib.bfloat16), 0.6)
        ints = F.threshold(lib.tensor([1, 5, 300]), 4, 7)
        w = x.detach().clone()
        F.threshold_(w, 0.6, 1.5)
        y.backward(lib.tensor([float("nan"), 1.0, 2.0, 3.0, float("inf")]))
        results.append((y.detach().numpy(), y.grad_fn.name(), z.float().detach().numpy(),
                        str(z.dtype).split(".")[-1], z.grad_fn.name(), ints.numpy(),
                        w.numpy(), x.grad.numpy()))
    for a, b in zip(*results):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(b, a)
        else:
            assert a == b


# --- nll_loss / cross_entropy: uint8 targets over more than 2 dims; node names ------------

@pytest.mark.parametrize("function", ["nll_loss", "cross_entropy"])
@pytest.mark.parametrize("shape", [(3, 4), (3, 4, 5), (2, 4, 3, 3), (2, 4, 2, 2, 2)])
@pytest.mark.parametrize("dtype", ["uint8", "int64", "int32"])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_class_index_target_dtypes_and_node_names(function, shape, dtype, reduction):
    outcomes = []
    for lib in (torch, dg):
        x = lib.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32),
                       requires_grad=True)
        target = lib.zeros((shape[0],) + shape[2:], dtype=getattr(lib, dtype))
        inp = lib.nn.functional.log_softmax(x, 1) if function == "nll_loss" else x
        try:
            loss = getattr(lib.nn.functional, function)(inp, target, reduction=reduction)
            outcomes.append(("ok", loss.grad_fn.name(), loss.detach().numpy()))
        except RuntimeError as error:
            outcomes.append(("error", "Long" in str(error) and "Byte" in str(error)))
    theirs, ours = outcomes
    assert ours[:2] == theirs[:2]
    if theirs[0] == "ok":
        np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6)


@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 4, 3, 3)])
def test_cross_entropy_ignored_none_node_name(shape):
    names = []
    for lib in (torch, dg):
        x = lib.tensor(np.ones(shape, np.float32), requires_grad=True)
        target = lib.zeros((shape[0],) + shape[2:], dtype=lib.int64)
        target[0] = -100
        names.append(lib.nn.functional.cross_entropy(x, target, reduction="none",
                                                     weight=lib.ones(4)).grad_fn.name())
    assert names[1] == names[0]


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16", "float64"])
def test_threshold_hardshrink_bounds_in_each_dtype(dtype):
    # PyTorch compares threshold in float32 for half types (bf16(0.6) > 0.6 is kept) and
    # hardshrink with lambd in the input's dtype (bf16(0.6) <= bf16(0.6) is shrunk)
    results = []
    for lib in (torch, dg):
        F = lib.nn.functional
        x = lib.tensor([0.6, -0.6, 0.1, 0.60009765625], dtype=getattr(lib, dtype),
                       requires_grad=True)
        y = F.threshold(x, 0.6, 9.0)
        z = F.hardshrink(x, 0.6)
        grads = lib.autograd.grad((y + z).sum(), x)
        results.append([t.detach().float().numpy() for t in (y, z, *grads)])
    for a, b in zip(*results):
        np.testing.assert_array_equal(b, a)


# --- torch.utils.swap_tensors -------------------------------------------------------------

def _swap_story(lib):
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.tensor([3], dtype=lib.int64)
    a.note = "a's"
    (a * 2).sum().backward()
    lib.utils.swap_tensors(a, b)
    story = [a.tolist(), b.tolist(), str(a.dtype).split(".")[-1], str(b.dtype).split(".")[-1],
             a.requires_grad, b.requires_grad, a.grad is None, b.grad.tolist(),
             getattr(b, "note", None), hasattr(a, "note")]
    module = lib.nn.Linear(2, 2)
    weight, new = module.weight, lib.nn.Parameter(lib.ones(2, 2))
    lib.utils.swap_tensors(module.weight, new)
    plain = lib.zeros(2)
    lib.utils.swap_tensors(module.bias, plain)
    story += [module.weight is weight, module.weight.tolist(),
              isinstance(module.weight, lib.nn.Parameter), isinstance(new, lib.nn.Parameter),
              isinstance(module.bias, lib.nn.Parameter), isinstance(plain, lib.nn.Parameter),
              module.bias.requires_grad, plain.requires_grad]
    held = lib.zeros(2)
    reference = weakref.ref(held)
    for first, second in ((held, lib.ones(2)), (lib.ones(2), held)):
        with pytest.raises(RuntimeError) as error:
            lib.utils.swap_tensors(first, second)
        story.append(str(error.value))
    del reference
    return story


def test_swap_tensors_as_pytorch():
    assert _swap_story(dg) == _swap_story(torch)


def test_special_namespace_has_no_functions_pytorch_lacks():
    # torch.special has no lgamma / mvlgamma / igamma / igammac / sigmoid (AttributeError)
    for name in ("lgamma", "mvlgamma", "igamma", "igammac", "sigmoid"):
        assert not hasattr(torch.special, name)
        assert not hasattr(dg.special, name)
    x = np.array([0.5, 3.0, 7.5])
    for name, args in (("gammaln", (x,)), ("expit", (x - 2,)), ("multigammaln", (x + 1, 2)),
                       ("gammainc", (x, x[::-1].copy())),
                       ("gammaincc", (x, x[::-1].copy()))):
        theirs = getattr(torch.special, name)(*(torch.tensor(a) if isinstance(a, np.ndarray)
                                                else a for a in args))
        ours = getattr(dg.special, name)(*(dg.tensor(a) if isinstance(a, np.ndarray) else a
                                           for a in args))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


def test_function_saves_a_sparse_tensor():
    # save_for_backward of a sparse COO tensor raised AttributeError ('CooStorage' has no
    # attribute 'base': the version check looked for the dense array's memory owner)
    grads = []
    for lib in (torch, dg):
        class Product(lib.autograd.Function):
            @staticmethod
            def forward(ctx, s, d):
                ctx.save_for_backward(s)
                return s @ d

            @staticmethod
            def backward(ctx, g):
                s, = ctx.saved_tensors
                return None, s.t() @ g

        sparse = lib.tensor([[0.0, 1.0], [2.0, 0.0]]).to_sparse()
        dense = lib.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3), requires_grad=True)
        Product.apply(sparse, dense).pow(2).sum().backward()
        grads.append(dense.grad.numpy())
    np.testing.assert_array_equal(grads[1], grads[0])


@pytest.mark.parametrize("weight", [[0.25], [-0.5, 0.5, 2.0]])
def test_prelu_second_derivatives(weight):
    # prelu is an op now (was where(x > 0, x, w x)): x.grad of a gradient is zeros (was None
    # for a constant slope), and the mixed terms take x == 0 as PyTorch's double backward
    x = np.array([[1.4, -2.0, 0.5], [-0.0, 0.0, -0.3]])
    results = []
    for lib in (torch, dg):
        xt = lib.tensor(x, requires_grad=True)
        wt = lib.tensor(weight, dtype=lib.float64, requires_grad=True)
        y = lib.nn.functional.prelu(xt, wt)
        gx, gw = lib.autograd.grad((y * lib.tensor([[1.0, 2.0, 3.0]])).sum(), (xt, wt),
                                   create_graph=True)
        second = lib.autograd.grad((gx * gx).sum() + (gw * gw).sum(), (xt, wt))
        constant = lib.nn.functional.prelu(xt, wt.detach())
        (g,) = lib.autograd.grad(constant.sum(), xt, create_graph=True)
        results.append([y.detach().numpy(), gx.detach().numpy(), gw.detach().numpy(),
                        *(s.numpy() for s in second), g.requires_grad, y.grad_fn.name()])
    for a, b in zip(*results):
        if isinstance(a, np.ndarray):
            np.testing.assert_allclose(b, a, rtol=1e-15, atol=0)
        else:
            assert a == b
