"""``torch.fx.experimental``: the pieces programs query to learn whether they are being traced
(deltagrad never traces, so the answers are the eager ones)."""
