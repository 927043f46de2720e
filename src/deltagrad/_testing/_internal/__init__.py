"""``torch.testing._internal``: the part of PyTorch's internal testing helpers that libraries'
own test suites import (``common_utils.TestCase``); nothing else of it."""
