"""PyTorch's ``torch.nested`` (nested, jagged tensors): not supported in deltagrad.

Every function raises ``NotImplementedError`` naming itself, so that a program that reaches
for nested tensors stops with a clear message rather than getting a dense tensor that is not
what PyTorch would give.
"""

__all__ = ["as_nested_tensor", "masked_select", "narrow", "nested_tensor",
           "nested_tensor_from_jagged", "to_padded_tensor"]


def _unsupported(name: str):
    def function(*args, **kwargs):
        raise NotImplementedError(
            f"torch.nested.{name}: nested (jagged) tensors are not supported in deltagrad; "
            "pad the sequences to one length (torch.nn.utils.rnn.pad_sequence) and use a mask")

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"PyTorch's ``torch.nested.{name}``: raises NotImplementedError."
    return function


as_nested_tensor = _unsupported("as_nested_tensor")
masked_select = _unsupported("masked_select")
narrow = _unsupported("narrow")
nested_tensor = _unsupported("nested_tensor")
nested_tensor_from_jagged = _unsupported("nested_tensor_from_jagged")
to_padded_tensor = _unsupported("to_padded_tensor")
