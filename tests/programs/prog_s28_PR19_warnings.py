"""Warnings as test suites check them (PR19, session 28): ``pytest.warns(..., match=...)`` on
PyTorch's deprecations (size_average / reduce, F.sigmoid / F.tanh, nn.init's old names,
torch.range, clip_grad_norm, the epoch argument of scheduler.step, out= resizing) and its
UserWarnings (a non-writable NumPy array, implicit softmax dims, the lr_scheduler order, copy
construction, broadcasting loss targets, .grad of a non-leaf, meshgrid's indexing, dropout2d of
a 2-D input, uint8 masks), blocks that must stay silent under ``simplefilter("error")``, and a
unittest.TestCase with assertRaisesRegex / assertWarnsRegex run by its runner. Run by
prog_s28_PR19_all.py.
"""

import io
import unittest

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed
from prog_s28_PR19_common import quiet, warns

o = torch.ones


def section_deprecations() -> None:
    with printed("dep.log", warnings_too=False):
        warns("size_average", UserWarning, "size_average and reduce args will be deprecated, "
              "please use reduction='sum' instead", lambda: nn.MSELoss(size_average=False))
        warns("reduce", UserWarning, "size_average and reduce args will be deprecated",
              lambda: nn.L1Loss(reduce=False))
        warns("functional", UserWarning, "reduction='mean' instead",
              lambda: F.mse_loss(o(2), torch.zeros(2), size_average=True))
        quiet("sigmoid", lambda: F.sigmoid(o(1)))  # (PyTorch 2.13 no longer warns)
        quiet("tanh", lambda: F.tanh(o(1)))
        warns("xavier", FutureWarning, "`nn.init.xavier_uniform` is now deprecated in favor of "
              "`nn.init.xavier_uniform_`", lambda: nn.init.xavier_uniform(o(2, 2)))
        warns("normal", FutureWarning, "`nn.init.normal` is now deprecated in favor of "
              "`nn.init.normal_`", lambda: nn.init.normal(o(2)))
        warns("range", UserWarning, "torch.range is deprecated and will be removed",
              lambda: torch.range(0, 2))
        warns("clip_grad_norm", FutureWarning, "`torch.nn.utils.clip_grad_norm` is now "
              "deprecated in favor of `torch.nn.utils.clip_grad_norm_`",
              lambda: nn.utils.clip_grad_norm(nn.Linear(1, 1).parameters(), 1.0))
        warns("upsample", UserWarning, "`nn.functional.upsample` is deprecated. Use "
              "`nn.functional.interpolate` instead",
              lambda: F.upsample(o(1, 1, 2), scale_factor=2))
        warns("chain_matmul", UserWarning, "torch.chain_matmul is deprecated",
              lambda: torch.chain_matmul(torch.eye(2), torch.eye(2)))
        warns("out resize", UserWarning, "An output with one or more elements was resized since "
              "it had shape \\[3, 2\\]", lambda: torch.add(o(2, 3), o(2, 3), out=o(3, 2)))
        warns("lu", UserWarning, "torch.lu is deprecated in favor of torch.linalg.lu_factor",
              lambda: torch.lu(torch.eye(2)))
        warns("assert_allclose", FutureWarning, "`torch.testing.assert_allclose\\(\\)` is "
              "deprecated", lambda: torch.testing.assert_allclose(o(2), o(2)))

        def epoch():
            p = torch.zeros(1, requires_grad=True)
            opt = torch.optim.SGD([p], lr=0.1)
            sched = torch.optim.lr_scheduler.StepLR(opt, 1)
            opt.step()
            sched.step(1)
        warns("epoch", UserWarning, "The epoch parameter in `scheduler.step\\(\\)` was not "
              "necessary and is being deprecated where possible", epoch)


def section_user_warnings() -> None:
    with printed("usw.log", warnings_too=False):
        array = np.ones(3)
        array.flags.writeable = False
        warns("non-writable", UserWarning, "The given NumPy array is not writable, and PyTorch "
              "does not support non-writable tensors", lambda: torch.from_numpy(array))
        quiet("as_tensor again", lambda: torch.as_tensor(array))  # (PyTorch warns once)
        quiet("tensor copies", lambda: torch.tensor(array))
        warns("implicit dim", UserWarning, "Implicit dimension choice for softmax has been "
              "deprecated. Change the call to include dim=X as an argument",
              lambda: F.softmax(o(2, 3)))
        warns("log_softmax", UserWarning, "Implicit dimension choice for log_softmax",
              lambda: F.log_softmax(o(3)))
        warns("softmin", UserWarning, "Implicit dimension choice for softmin",
              lambda: F.softmin(o(2, 3)))
        warns("module softmax", UserWarning, "Implicit dimension choice for softmax",
              lambda: nn.Softmax()(o(2, 3)))

        def order():
            p = torch.zeros(1, requires_grad=True)
            opt = torch.optim.SGD([p], lr=0.1)
            torch.optim.lr_scheduler.StepLR(opt, 1).step()
        warns("scheduler order", UserWarning, "Detected call of `lr_scheduler.step\\(\\)` before "
              "`optimizer.step\\(\\)`", order)
        warns("copy construct", UserWarning, "To copy construct from a tensor, it is recommended "
              "to use sourceTensor.detach\\(\\).clone\\(\\)", lambda: torch.tensor(o(2)))
        warns("mse broadcast", UserWarning, r"Using a target size \(torch.Size\(\[2\]\)\) that is "
              r"different to the input size \(torch.Size\(\[2, 1\]\)\)",
              lambda: F.mse_loss(o(2, 1), o(2)))
        warns("l1 broadcast", UserWarning, "This will likely lead to incorrect results due to "
              "broadcasting", lambda: F.l1_loss(o(2, 1), o(2)))
        warns("non-leaf grad", UserWarning, "The .grad attribute of a Tensor that is not a leaf "
              "Tensor is being accessed", lambda: (o(2, requires_grad=True) * 2).grad)
        warns("meshgrid", UserWarning, "torch.meshgrid: in an upcoming release, it will be "
              "required to pass the indexing argument", lambda: torch.meshgrid(o(2), o(3)))
        warns("dropout2d", UserWarning, "Received a 2-D input to dropout2d",
              lambda: F.dropout2d(o(2, 3)))
        warns("uint8 mask", UserWarning, "indexing with dtype torch.uint8 is now deprecated",
              lambda: o(3)[torch.tensor([1, 0, 1], dtype=torch.uint8)])
        warns("lstm dropout", UserWarning, "dropout option adds dropout after all but last "
              "recurrent layer", lambda: nn.LSTM(2, 2, dropout=0.5))
        quiet("softmax dim", lambda: F.softmax(o(2, 3), dim=1))
        quiet("tensor list", lambda: torch.tensor([1.0, 2.0]))
        quiet("detach clone", lambda: o(2).detach().clone())
        quiet("leaf grad", lambda: o(2, requires_grad=True).grad)
        quiet("meshgrid ij", lambda: torch.meshgrid(o(2), o(3), indexing="ij"))
        quiet("mse same", lambda: F.mse_loss(o(2, 1), o(2, 1)))
        quiet("training step", lambda: _one_step())


def _one_step() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, 1)
    loss = F.mse_loss(model(torch.randn(5, 3)), torch.randn(5, 1))
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()


class _Suite(unittest.TestCase):
    """A library's tests as unittest writes them."""

    def setUp(self):
        torch.manual_seed(1234)

    def test_shape_error(self):
        with self.assertRaisesRegex(RuntimeError, "shapes cannot be multiplied"):
            nn.Linear(3, 2)(torch.randn(4, 5))

    def test_backward_twice(self):
        x = torch.randn(3, requires_grad=True)
        y = (x ** 2).sum()
        y.backward()
        with self.assertRaisesRegex(RuntimeError, "backward through the graph a second time"):
            y.backward()

    def test_grad_not_required(self):
        with self.assertRaisesRegex(RuntimeError, "does not require grad"):
            torch.randn(3).sum().backward()

    def test_index(self):
        with self.assertRaises(IndexError):
            torch.randn(3)[3]
        with self.assertRaisesRegex(IndexError, "index out of range in self"):
            nn.Embedding(2, 2)(torch.tensor([2]))

    def test_view(self):
        with self.assertRaisesRegex(RuntimeError, "view size is not compatible"):
            torch.randn(3, 4).t().view(-1)

    def test_dtype(self):
        with self.assertRaisesRegex(RuntimeError, "expected m1 and m2 to have the same dtype|"
                                    "same dtype"):
            torch.randn(2, 2) @ torch.randn(2, 2).double()

    def test_value_error(self):
        with self.assertRaisesRegex(ValueError, "is not a valid value for reduction"):
            F.mse_loss(torch.ones(2), torch.ones(2), reduction="avg")

    def test_warns(self):
        with self.assertWarnsRegex(UserWarning, "Implicit dimension choice"):
            F.softmax(torch.randn(2, 3))

    def test_deprecated(self):
        with self.assertWarns(UserWarning):
            nn.MSELoss(reduce=False)

    def test_close(self):
        torch.testing.assert_close(torch.randn(3).double().sum(), torch.tensor(0.0,
                                   dtype=torch.float64), atol=10.0, rtol=0.0)
        self.assertTrue(torch.allclose(torch.ones(2), torch.ones(2) + 1e-9))

    def test_expected_failure_message(self):
        with self.assertRaises(AssertionError) as context:
            torch.testing.assert_close(torch.zeros(2), torch.ones(2))
        self.assertIn("Tensor-likes are not close!", str(context.exception))
        self.assertIn("Mismatched elements: 2 / 2 (100.0%)", str(context.exception))

    @unittest.skipIf(not torch.cuda.is_available(), "CUDA not available")
    def test_cuda(self):
        torch.ones(1).cuda()

    def test_subtests(self):
        for dtype in (torch.float32, torch.float64, torch.int64):
            with self.subTest(dtype=dtype):
                x = torch.arange(4).to(dtype)
                self.assertEqual(x.sum().item(), 6)
                self.assertEqual(x.dtype, dtype)


def section_unittest() -> None:
    with printed("ut.log", warnings_too=False):
        stream = io.StringIO()
        suite = unittest.defaultTestLoader.loadTestsFromTestCase(_Suite)
        result = unittest.TextTestRunner(stream=stream, verbosity=2).run(suite)
        lines = [line for line in stream.getvalue().splitlines() if " ... " in line]
        print("\n".join(lines))
        print("run", result.testsRun, "failures", len(result.failures), "errors",
              len(result.errors), "skipped", len(result.skipped))
        for test, trace in result.failures + result.errors:
            print("FAILED", test.id(), trace.strip().splitlines()[-1][:160])


SECTIONS = {"deprecations": section_deprecations, "user_warnings": section_user_warnings,
            "unittest": section_unittest}
