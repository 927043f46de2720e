"""Probe program (LB, session 11): signal, wavelet and scientific libraries on torch tensors
(julius, ptwt, pytorch_wavelets, torch-dct, xitorch, FrEIA), used the way their
READMEs do, seeded and small. Every number goes to an .npz.

Run as ``python prog_s11_LB_libs.py OUT.npz [PARTS]`` on the real PyTorch, or under
``python -m deltagrad run`` unchanged; ``test_s11_LB_libs.py`` compares the two. PARTS is a
comma-separated subset of the part names (all by default). An exception in a part is recorded
as ``ERR.<part>`` (the other parts still run).
"""
import importlib.util
import sys
import types

import numpy as np
import torch
from probe_parts import OUT, PARTS, main, part, put  # noqa: F401 - the harness

# -------------------------------------------------------------------------------------- julius

@part("julius", "julius")
def julius_part():
    import julius

    x = torch.randn(2, 3, 400, requires_grad=True)
    down = julius.resample_frac(x, 4, 3)
    put("julius.resample", down)
    put("julius.lowpass", julius.lowpass_filter(x, 0.1))
    put("julius.highpass", julius.highpass_filter(x, 0.2))
    put("julius.bands", julius.split_bands(x, sample_rate=16000, n_bands=3))
    kernel = torch.randn(3, 3, 33)
    put("julius.fftconv", julius.fft_conv1d(x, kernel, stride=2, padding=4))
    (down.pow(2).sum() + julius.lowpass_filter(x, 0.05).sum()).backward()
    put("julius.grad", x.grad)


# ---------------------------------------------------------------------------------------- ptwt

@part("ptwt", "ptwt")
def ptwt_part():
    import ptwt
    import pywt

    signal = torch.randn(2, 64, dtype=torch.float64, requires_grad=True)
    coeffs = ptwt.wavedec(signal, pywt.Wavelet("db3"), mode="reflect", level=2)
    for index, c in enumerate(coeffs):
        put(f"ptwt.wavedec.{index}", c)
    put("ptwt.waverec", ptwt.waverec(coeffs, pywt.Wavelet("db3")))
    image = torch.randn(1, 16, 16, dtype=torch.float64)
    coeffs2 = ptwt.wavedec2(image, "haar", level=2, mode="zero")
    put("ptwt.wavedec2.a", coeffs2[0])
    put("ptwt.wavedec2.d", torch.stack(list(coeffs2[1])))
    # The sparse-matrix transforms (sparse cat, += of sparse matrices, boundary filters
    # orthogonalized by QR over the sparse rows).
    matrix_fwt = ptwt.MatrixWavedec(pywt.Wavelet("db2"), level=2)
    matrix_coeffs = matrix_fwt(signal)
    for index, c in enumerate(matrix_coeffs):
        put(f"ptwt.matrix.{index}", c)
    put("ptwt.matrix.rec", ptwt.MatrixWaverec(pywt.Wavelet("db2"))(matrix_coeffs))
    sum(c.pow(2).sum() for c in coeffs).backward()
    put("ptwt.grad", signal.grad)
    packets = ptwt.WaveletPacket(signal.detach(), pywt.Wavelet("haar"), maxlevel=2)
    put("ptwt.packet.ad", packets["ad"])
    cwt, freqs = ptwt.cwt(signal.detach()[0], torch.arange(1, 5, dtype=torch.float64), "mexh")
    put("ptwt.cwt", cwt)
    put("ptwt.cwt.freqs", np.asarray(freqs))


# ---------------------------------------------------------------------------- pytorch_wavelets

@part("pytorch_wavelets", "pytorch_wavelets")
def pytorch_wavelets_part():
    if importlib.util.find_spec("pkg_resources") is None:
        # (pytorch_wavelets reads its filter files with setuptools' pkg_resources, which
        # setuptools 81 dropped: the same stand-in on both sides)
        from importlib import resources
        shim = types.ModuleType("pkg_resources")
        shim.resource_stream = (
            lambda package, name: resources.files(package).joinpath(name).open("rb"))
        sys.modules["pkg_resources"] = shim
    from pytorch_wavelets import DTCWTForward, DTCWTInverse, DWT1DForward, DWTForward, DWTInverse

    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    forward, inverse = DWTForward(J=2, wave="db2", mode="symmetric"), DWTInverse(wave="db2")
    low, highs = forward(x)
    put("pytorch_wavelets.dwt.low", low)
    for index, h in enumerate(highs):
        put(f"pytorch_wavelets.dwt.high{index}", h)
    put("pytorch_wavelets.idwt", inverse((low, highs)))
    low1, highs1 = DWT1DForward(J=2, wave="sym3")(x[:, :, 0])
    put("pytorch_wavelets.dwt1d.low", low1)
    dtcwt = DTCWTForward(J=2, biort="near_sym_b", qshift="qshift_b")
    yl, yh = dtcwt(x)
    put("pytorch_wavelets.dtcwt.yl", yl)
    put("pytorch_wavelets.dtcwt.yh1", yh[1])
    put("pytorch_wavelets.idtcwt", DTCWTInverse(biort="near_sym_b", qshift="qshift_b")((yl, yh)))
    (low.pow(2).sum() + yh[0].abs().sum() + low1.sum()).backward()
    put("pytorch_wavelets.grad", x.grad)


# ----------------------------------------------------------------------------------- torch_dct

@part("torch_dct", "torch_dct")
def torch_dct_part():
    import torch_dct

    x = torch.randn(3, 16, dtype=torch.float64, requires_grad=True)
    for norm in (None, "ortho"):
        y = torch_dct.dct(x, norm=norm)
        put(f"torch_dct.dct.{norm}", y)
        put(f"torch_dct.idct.{norm}", torch_dct.idct(y, norm=norm))
    image = torch.randn(2, 8, 8, dtype=torch.float64)
    put("torch_dct.dct2", torch_dct.dct_2d(image, norm="ortho"))
    put("torch_dct.dct3", torch_dct.dct_3d(image))
    put("torch_dct.idct2", torch_dct.idct_2d(torch_dct.dct_2d(image)))
    torch_dct.dct(x, norm="ortho").pow(3).sum().backward()
    put("torch_dct.grad", x.grad)
    put("torch_dct.linear", torch_dct.LinearDCT(16, "dct", norm="ortho")(x.detach().float()))


# ------------------------------------------------------------------------------------- xitorch

@part("xitorch_root", "xitorch")
def xitorch_root_part():
    from xitorch.optimize import rootfinder

    def func1(y, a):
        return torch.tanh(a @ y + 0.1) + y / 2.0

    a = torch.tensor([[1.1, 0.4], [0.3, 0.8]], dtype=torch.float64).requires_grad_()
    root = rootfinder(func1, torch.zeros(2, 1, dtype=torch.float64), params=(a,))
    put("xitorch.root", root)
    (grad_a,) = torch.autograd.grad(root.sum(), (a,))
    put("xitorch.root.grad", grad_a)


@part("xitorch", "xitorch")
def xitorch_part():
    import xitorch
    from xitorch.integrate import quad, solve_ivp
    from xitorch.interpolate import Interp1D
    from xitorch.linalg import solve, symeig
    from xitorch.optimize import minimize

    def quadratic(y, a):
        return ((y - a) ** 2).sum() + (y ** 4).sum()

    target = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    ymin = minimize(quadratic, torch.zeros(2, dtype=torch.float64), params=(target,),
                    method="gd", step=0.05, maxiter=200)
    put("xitorch.minimize", ymin)

    w = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    integral = quad(lambda t, w: torch.sin(w * t), torch.tensor(0.0, dtype=torch.float64),
                    torch.tensor(1.5, dtype=torch.float64), params=(w,))
    put("xitorch.quad", integral)
    put("xitorch.quad.grad", torch.autograd.grad(integral, w)[0])

    decay = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    ts = torch.linspace(0, 2, 11, dtype=torch.float64)
    path = solve_ivp(lambda t, y, k: -k * y, ts, torch.tensor([1.0, 2.0], dtype=torch.float64),
                     params=(decay,), method="rk4")
    put("xitorch.ivp", path)
    put("xitorch.ivp.grad", torch.autograd.grad(path[-1].sum(), decay)[0])

    m = torch.randn(5, 5, dtype=torch.float64)
    m = (m + m.T + 6 * torch.eye(5, dtype=torch.float64)).requires_grad_()
    op = xitorch.LinearOperator.m(m, is_hermitian=True)
    evals, evecs = symeig(op, neig=2, mode="lowest")
    put("xitorch.symeig.evals", evals)
    put("xitorch.symeig.evals.grad", torch.autograd.grad(evals.sum(), m)[0])
    rhs = torch.randn(5, 2, dtype=torch.float64)
    put("xitorch.solve", solve(op, rhs))

    xs = torch.linspace(0, 1, 8, dtype=torch.float64)
    ys = torch.cos(3 * xs).requires_grad_()
    spline = Interp1D(xs, ys, method="cspline")
    query = torch.linspace(0.05, 0.95, 13, dtype=torch.float64)
    put("xitorch.cspline", spline(query))
    put("xitorch.cspline.grad", torch.autograd.grad(spline(query).sum(), ys)[0])


# --------------------------------------------------------------------------------------- FrEIA

@part("freia", "FrEIA")
def freia_part():
    import FrEIA.framework as Ff
    import FrEIA.modules as Fm

    def subnet(c_in, c_out):
        return torch.nn.Sequential(torch.nn.Linear(c_in, 32), torch.nn.ReLU(),
                                   torch.nn.Linear(32, c_out))

    flow = Ff.SequenceINN(4)
    for _ in range(3):
        flow.append(Fm.AllInOneBlock, subnet_constructor=subnet, permute_soft=True)
    flow.append(Fm.GLOWCouplingBlock, subnet_constructor=subnet, clamp=1.5)
    flow.append(Fm.PermuteRandom, seed=3)
    flow.append(Fm.RNVPCouplingBlock, subnet_constructor=subnet)
    data = torch.randn(64, 4) @ torch.tensor([[1.0, 0.5, 0, 0], [0, 1, 0.3, 0],
                                              [0, 0, 1, -0.4], [0.2, 0, 0, 1]])
    z, log_jac = flow(data)
    put("freia.z", z)
    put("freia.log_jac", log_jac)
    back, _ = flow(z, rev=True)
    put("freia.inverse_error", (back - data).abs().max())
    optimizer = torch.optim.Adam(flow.parameters(), lr=1e-3)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        z, log_jac = flow(data)
        loss = (0.5 * z.pow(2).sum(1) - log_jac).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("freia.losses", losses)

    nodes = [Ff.InputNode(2, 8, 8, name="input")]
    nodes.append(Ff.Node(nodes[-1], Fm.IRevNetDownsampling, {}))
    nodes.append(Ff.Node(nodes[-1], Fm.GLOWCouplingBlock,
                         {"subnet_constructor": lambda c_in, c_out: torch.nn.Conv2d(
                             c_in, c_out, 3, padding=1), "clamp": 1.0}))
    nodes.append(Ff.Node(nodes[-1], Fm.Flatten, {}))
    nodes.append(Ff.OutputNode(nodes[-1], name="output"))
    graph = Ff.GraphINN(nodes)
    images = torch.randn(3, 2, 8, 8)
    out, jac = graph(images)
    put("freia.graph.out", out)
    put("freia.graph.jac", jac)


if __name__ == "__main__":
    main()
