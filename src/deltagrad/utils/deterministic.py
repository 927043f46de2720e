"""``torch.utils.deterministic``: ``fill_uninitialized_memory``, PyTorch's switch that fills
``empty`` tensors with NaN (or the integer maximum) when deterministic algorithms are on.
deltagrad keeps the flag (default True); its ``empty`` already returns zeros."""

fill_uninitialized_memory = True
