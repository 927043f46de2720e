"""``torch.distributed._composable``: the composable APIs (``fully_shard``), not supported in
deltagrad (see ``deltagrad.distributed.fsdp``)."""
