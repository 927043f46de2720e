"""``cross_entropy`` of float16 / bfloat16 logits with class-index targets, composed as PyTorch
composes it in every dtype: ``nll_loss(log_softmax(x))`` in the logits' dtype, plus the label
smoothing term from the same rounded log-probabilities. (The fused op computes in float32 and
rounds once; PyTorch rounds the log-probabilities first, so in half precision a fused loss and
its gradient differ from PyTorch's by a few units in the last place.)"""

from __future__ import annotations


def half_cross_entropy(x, target, weight, ignore_index: int, reduction: str,
                       label_smoothing: float, log_softmax, nll_loss):
    """The loss of half-precision logits ``x`` (classes on dim 1, or 0 for ``[C]``) against
    the class indices ``target``, of ``nn.functional``'s ``log_softmax`` and ``nll_loss``
    (the latter's value PyTorch's bits in half precision; both check their arguments)."""
    class_dim = 0 if x.ndim == 1 else 1
    log_probs = log_softmax(x, class_dim)
    loss = nll_loss(log_probs, target, weight=weight, ignore_index=ignore_index,
                    reduction=reduction)
    if label_smoothing == 0.0:
        return loss
    n_classes = x.shape[class_dim]
    ignored = target == ignore_index
    if weight is not None:
        shape = [1] * x.ndim
        shape[class_dim] = n_classes
        smooth = -(log_probs * weight.reshape(shape)).sum(class_dim)
    else:
        smooth = -log_probs.sum(class_dim)
    smooth = smooth.masked_fill(ignored, 0.0)
    if reduction == "mean":
        kept = target.masked_select(~ignored).flatten()
        smooth = smooth.sum() / (weight.gather(0, kept).sum() if weight is not None
                                 else (~ignored).sum())
    elif reduction == "sum":
        smooth = smooth.sum()
    return (1 - label_smoothing) * loss + smooth * (label_smoothing / n_classes)
