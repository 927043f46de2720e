"""``torch._subclasses``: the tensor subclasses PyTorch's compiler traces with. deltagrad makes
none of them; the queries libraries make (``is_fake``) answer for real tensors."""
