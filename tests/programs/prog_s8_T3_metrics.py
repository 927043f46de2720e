"""Session 8 (T3) program probes: torchmetrics and pytorch-metric-learning, used as documented.

Run as a script, ``python prog_s8_T3_metrics.py OUT LIBRARY...`` (real PyTorch) or
``python -m deltagrad run prog_s8_T3_metrics.py OUT LIBRARY...`` (deltagrad as ``torch``): every
check runs seeded, and its tensors (values and dtypes) or its exception go to ``OUT.npz`` and
``OUT.json``; test_s8_T3_metrics.py compares the two runs. Nothing is imported at module level
(pytest's doctest collection imports this file).
"""

from __future__ import annotations

import copy
import json
import pickle
import sys

# Stand-ins for two PyTorch names deltagrad lacks (reported; they live in files other helpers
# own). Each one used is recorded under "shims" so that a test can say when they are gone.
SHIMS = []


def _install_shims(torch) -> None:
    if not hasattr(torch.Tensor, "is_mps"):  # torchmetrics' _bincount reads it
        torch.Tensor.is_mps = property(lambda self: False)
        SHIMS.append("Tensor.is_mps")
    if not hasattr(torch, "is_autocast_enabled"):  # pytorch-metric-learning's to_dtype calls it
        torch.is_autocast_enabled = lambda device_type=None: False
        SHIMS.append("torch.is_autocast_enabled")


def _flatten(prefix, value, torch, arrays, meta):
    if isinstance(value, torch.Tensor):
        arrays[prefix] = value.detach().numpy()
        meta[prefix] = str(value.dtype).replace("deltagrad.", "torch.")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _flatten(f"{prefix}.{i}", item, torch, arrays, meta)
    elif isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}", item, torch, arrays, meta)
    elif isinstance(value, str):
        meta[prefix] = "str:" + value
    else:
        meta[prefix] = f"{type(value).__name__}:{value!r}"


def run_checks(checks: dict, torch) -> tuple[dict, dict]:
    """Run every check from seed 0; its outputs flattened to arrays, or its error, recorded."""
    arrays, meta = {}, {}
    for name, check in checks.items():
        torch.manual_seed(0)
        try:
            _flatten(name, check(), torch, arrays, meta)
            meta[name] = "ok"
        except Exception as error:  # recorded: the test compares it with PyTorch's outcome
            meta[name] = f"ERR {type(error).__name__}: {str(error)[:200]}"
    return arrays, meta


def builtin_error(function) -> str:
    """The first builtin class of the exception ``function`` raises ("none" if none): deltagrad's
    ShapeError is a RuntimeError, as PyTorch's reshape error."""
    try:
        function()
    except Exception as error:
        return next(c.__name__ for c in type(error).__mro__ if c.__module__ == "builtins")
    return "none"


# ------------------------------------------------------------------------------ torchmetrics


def torchmetrics_checks(torch) -> dict:
    import torchmetrics
    import torchmetrics.functional as TF
    import torchmetrics.functional.clustering
    import torchmetrics.functional.nominal
    import torchmetrics.functional.segmentation  # noqa: F401
    from torchmetrics import aggregation as agg
    from torchmetrics import classification as C
    from torchmetrics import regression as R
    from torchmetrics import retrieval, wrappers

    FC, FR = TF.classification, TF.retrieval

    def gen(seed):
        return torch.Generator().manual_seed(seed)

    def binary(n=40):
        g = gen(1)
        return torch.rand(n, generator=g), torch.randint(0, 2, (n,), generator=g)

    def multiclass(n=50, c=4, seed=2, softmax=True):
        g = gen(seed)
        logits = torch.randn(n, c, generator=g)
        return logits.softmax(-1) if softmax else logits, torch.randint(0, c, (n,), generator=g)

    def multilabel(n=30, labels=3):
        g = gen(3)
        return torch.rand(n, labels, generator=g), torch.randint(0, 2, (n, labels), generator=g)

    def binary_functional():
        p, t = binary()
        out = {name: getattr(FC, "binary_" + name)(p, t) for name in (
            "accuracy", "precision", "recall", "f1_score", "confusion_matrix", "auroc",
            "average_precision", "roc", "precision_recall_curve", "specificity",
            "matthews_corrcoef", "cohen_kappa", "hamming_distance", "stat_scores")}
        out["threshold"] = FC.binary_accuracy(p, t, threshold=0.3)
        out["auroc_binned"] = FC.binary_auroc(p, t, thresholds=10)
        out["logits"] = FC.binary_accuracy(torch.randn(40) * 3, t)
        out["fbeta"] = FC.binary_fbeta_score(p, t, beta=2.0)
        out["calibration"] = FC.binary_calibration_error(p, t, n_bins=5)
        return out

    def multiclass_functional():
        p, t = multiclass()
        out = {}
        for avg in ["micro", "macro", "weighted", "none"]:
            for name in ("accuracy", "f1_score", "precision", "recall"):
                out[f"{name}_{avg}"] = getattr(FC, "multiclass_" + name)(
                    p, t, num_classes=4, average=avg)
        out["top2"] = FC.multiclass_accuracy(p, t, num_classes=4, top_k=2)
        out["cm"] = FC.multiclass_confusion_matrix(p, t, num_classes=4)
        out["cm_true"] = FC.multiclass_confusion_matrix(p, t, num_classes=4, normalize="true")
        out["auroc"] = FC.multiclass_auroc(p, t, num_classes=4)
        out["auroc_none"] = FC.multiclass_auroc(p, t, num_classes=4, average=None)
        out["ap"] = FC.multiclass_average_precision(p, t, num_classes=4)
        out["labels_in"] = FC.multiclass_accuracy(p.argmax(-1), t, num_classes=4)
        out["ignore"] = FC.multiclass_accuracy(p, t, num_classes=4, ignore_index=0)
        out["mcc"] = FC.multiclass_matthews_corrcoef(p, t, num_classes=4)
        out["kappa"] = FC.multiclass_cohen_kappa(p, t, num_classes=4)
        out["exact"] = FC.multiclass_exact_match(p.argmax(-1).reshape(5, 10), t.reshape(5, 10),
                                                 num_classes=4)
        out["roc"] = FC.multiclass_roc(p, t, num_classes=4)
        out["generic"] = TF.accuracy(p, t, task="multiclass", num_classes=4)
        out["calibration"] = FC.multiclass_calibration_error(p, t, num_classes=4, n_bins=5)
        out["hinge"] = FC.multiclass_hinge_loss(p, t, num_classes=4)
        out["jaccard"] = FC.multiclass_jaccard_index(p, t, num_classes=4)
        return out

    def multilabel_functional():
        p, t = multilabel()
        out = {}
        for avg in ["micro", "macro", "weighted", "none"]:
            out["accuracy_" + avg] = FC.multilabel_accuracy(p, t, num_labels=3, average=avg)
            out["f1_" + avg] = FC.multilabel_f1_score(p, t, num_labels=3, average=avg)
        for name in ("confusion_matrix", "auroc", "average_precision", "hamming_distance",
                     "exact_match", "ranking_average_precision", "coverage_error",
                     "ranking_loss"):
            out[name] = getattr(FC, "multilabel_" + name)(p, t, num_labels=3)
        return out

    def regression_functional():
        g = gen(4)
        x = torch.randn(30, generator=g)
        y = 0.7 * x + 0.3 * torch.randn(30, generator=g)
        X = torch.randn(10, 3, generator=g)
        Y = X + 0.5 * torch.randn(10, 3, generator=g)
        out = {name: getattr(TF, name)(x, y) for name in (
            "mean_squared_error", "mean_absolute_error", "r2_score", "pearson_corrcoef",
            "spearman_corrcoef", "explained_variance", "mean_absolute_percentage_error",
            "symmetric_mean_absolute_percentage_error", "kendall_rank_corrcoef",
            "concordance_corrcoef", "log_cosh_error", "relative_squared_error",
            "weighted_mean_absolute_percentage_error")}
        out["rmse"] = TF.mean_squared_error(x, y, squared=False)
        out["r2_multi"] = TF.r2_score(X, Y, multioutput="raw_values")
        out["pearson_multi"] = TF.pearson_corrcoef(X, Y)
        out["spearman_multi"] = TF.spearman_corrcoef(X, Y)
        out["cosine"] = TF.cosine_similarity(X, Y)
        out["cosine_none"] = TF.cosine_similarity(X, Y, reduction="none")
        out["msle"] = TF.mean_squared_log_error(x.abs(), y.abs())
        out["tweedie"] = TF.tweedie_deviance_score(x.abs() + 0.1, y.abs() + 0.1, power=1.5)
        out["minkowski"] = TF.minkowski_distance(x, y, p=3)
        out["csi"] = TF.critical_success_index(x, y, 0.2)
        out["kl"] = TF.kl_divergence(X.softmax(-1), Y.softmax(-1))
        return out

    def modular_classification():
        p, t = multiclass(60)
        out = {}
        acc = C.MulticlassAccuracy(num_classes=4)
        f1 = C.MulticlassF1Score(num_classes=4, average="macro")
        cm = C.MulticlassConfusionMatrix(num_classes=4)
        auroc = C.MulticlassAUROC(num_classes=4)
        out["forward"] = []
        for i in range(3):
            batch = p[i * 20:(i + 1) * 20], t[i * 20:(i + 1) * 20]
            out["forward"].append(acc(*batch))
            for metric in (f1, cm, auroc):
                metric.update(*batch)
        out.update(acc=acc.compute(), f1=f1.compute(), cm=cm.compute(), auroc=auroc.compute())
        acc.reset()
        acc.update(p[:5], t[:5])
        out["after_reset"] = acc.compute()
        bp, bt = binary()
        merged, other = C.BinaryAccuracy(), C.BinaryAccuracy()
        merged.update(bp[:20], bt[:20])
        other.update(bp[20:], bt[20:])
        merged.merge_state(other)
        out["merged"] = merged.compute()
        for name, metric in [("bauroc", C.BinaryAUROC()), ("bap", C.BinaryAveragePrecision())]:
            metric.update(bp, bt)
            out[name] = metric.compute()
        mp, mt = multilabel()
        out["ml_f1"] = C.MultilabelF1Score(num_labels=3)(mp, mt)
        out["ml_acc"] = C.MultilabelAccuracy(num_labels=3)(mp, mt)
        collection = torchmetrics.MetricCollection([C.MulticlassPrecision(num_classes=4),
                                                    C.MulticlassRecall(num_classes=4)])
        out["collection"] = dict(collection(p, t))
        out["collection_c"] = dict(collection.compute())
        return out

    def modular_regression():
        g = gen(5)
        x = torch.randn(40, generator=g)
        y = x + torch.randn(40, generator=g) * 0.5
        out = {}
        for name in ("MeanSquaredError", "MeanAbsoluteError", "R2Score", "PearsonCorrCoef",
                     "SpearmanCorrCoef", "ExplainedVariance"):
            metric = getattr(R, name)()
            out[name] = [metric(x[i * 10:(i + 1) * 10], y[i * 10:(i + 1) * 10])
                         for i in range(4)]
            out[name + "_c"] = metric.compute()
        out["cosine"] = R.CosineSimilarity(reduction="mean")(x.reshape(8, 5), y.reshape(8, 5))
        first, second = R.MeanSquaredError(), R.MeanSquaredError()
        first.update(x[:20], y[:20])
        second.update(x[20:], y[20:])
        first.merge_state(second)
        out["merged"] = first.compute()
        return out

    def aggregation():
        metrics = dict(mean=agg.MeanMetric(), sum=agg.SumMetric(), max=agg.MaxMetric(),
                       min=agg.MinMetric(), cat=agg.CatMetric())
        for value in [torch.tensor([1.0, 2.0]), torch.tensor(3.5), 4.0]:
            for metric in metrics.values():
                metric.update(value)
        out = {name: metric.compute() for name, metric in metrics.items()}
        weighted = agg.MeanMetric()
        weighted.update(torch.tensor([1.0, 2.0, 3.0]), weight=torch.tensor([1.0, 0.0, 2.0]))
        out["weighted"] = weighted.compute()
        nan = agg.MeanMetric(nan_strategy="ignore")
        nan.update(torch.tensor([1.0, float("nan"), 3.0]))
        out["nan_ignored"] = nan.compute()
        running = agg.RunningMean(window=2)
        for value in [1.0, 2.0, 6.0]:
            running.update(torch.tensor(value))
        out["running"] = running.compute()
        return out

    def retrieval_checks():
        g = gen(6)
        preds = torch.rand(24, generator=g)
        target = torch.randint(0, 2, (24,), generator=g).bool()
        indexes = torch.arange(4).repeat_interleave(6)
        p6, t6 = preds[:6], target[:6]
        out = dict(map=FR.retrieval_average_precision(p6, t6),
                   mrr=FR.retrieval_reciprocal_rank(p6, t6),
                   ndcg=FR.retrieval_normalized_dcg(p6, t6.long()),
                   precision=FR.retrieval_precision(p6, t6, top_k=2),
                   recall=FR.retrieval_recall(p6, t6, top_k=2),
                   hit=FR.retrieval_hit_rate(p6, t6, top_k=2),
                   fall_out=FR.retrieval_fall_out(p6, t6, top_k=2),
                   r_precision=FR.retrieval_r_precision(p6, t6),
                   auroc=FR.retrieval_auroc(p6, t6))
        for name in ("RetrievalMAP", "RetrievalMRR", "RetrievalNormalizedDCG",
                     "RetrievalPrecision"):
            metric = getattr(retrieval, name)()
            metric.update(preds, target, indexes=indexes)
            out[name] = metric.compute()
        return out

    def text():
        preds = ["the cat is on the mat", "hello there general kenobi"]
        target = [["there is a cat on the mat", "a cat is on the mat"],
                  ["hello there general kenobi", "hello there!"]]
        first = [refs[0] for refs in target]
        T = TF.text
        out = dict(bleu=T.bleu_score(preds, target),
                   bleu2=T.bleu_score(preds, target, n_gram=2, smooth=True),
                   wer=T.word_error_rate(preds, first), cer=T.char_error_rate(preds, first),
                   mer=T.match_error_rate(preds, first), sacre=T.sacre_bleu_score(preds, target),
                   chrf=T.chrf_score(preds, target), edit=T.edit_distance(preds, first))
        bleu = torchmetrics.text.BLEUScore()
        bleu.update(preds[:1], target[:1])
        bleu.update(preds[1:], target[1:])
        out["bleu_modular"] = bleu.compute()
        out["wer_forward"] = torchmetrics.text.WordErrorRate()(preds, first)
        g = gen(7)
        out["perplexity"] = torchmetrics.text.Perplexity()(
            torch.randn(2, 5, 6, generator=g), torch.randint(0, 6, (2, 5), generator=g))
        return out

    def gradients():
        g = gen(8)
        x = torch.randn(12, generator=g, requires_grad=True)
        y = torch.randn(12, generator=g)
        mse = R.MeanSquaredError()
        value = mse(x, y)
        value.backward()
        x2 = torch.randn(12, generator=g, requires_grad=True)
        pearson = TF.pearson_corrcoef(x2, y)
        pearson.backward()
        x3 = torch.randn(4, 3, generator=g, requires_grad=True)
        cosine = TF.cosine_similarity(x3, torch.randn(4, 3, generator=g))
        cosine.backward()
        return dict(mse=value, mse_grad=x.grad, pearson=pearson, pearson_grad=x2.grad,
                    cosine=cosine, cosine_grad=x3.grad, differentiable=mse.is_differentiable)

    def wrapper_checks():
        p, t = multiclass(40, 3, softmax=False)
        out = {}
        out["classwise"] = wrappers.ClasswiseWrapper(
            C.MulticlassAccuracy(num_classes=3, average=None), labels=["a", "b", "c"])(p, t)
        tracker = wrappers.MetricTracker(C.MulticlassAccuracy(num_classes=3))
        minmax = wrappers.MinMaxMetric(C.MulticlassAccuracy(num_classes=3))
        for epoch in range(3):
            batch = p[epoch * 10:(epoch + 1) * 10], t[epoch * 10:(epoch + 1) * 10]
            tracker.increment()
            tracker.update(*batch)
            minmax.update(*batch)
            out[f"minmax{epoch}"] = minmax.compute()
        out["tracker_all"] = tracker.compute_all()
        out["tracker_best"] = list(tracker.best_metric(return_step=True))
        g = gen(9)
        X = torch.randn(20, 2, generator=g)
        Y = X + torch.randn(20, 2, generator=g)
        out["multioutput"] = wrappers.MultioutputWrapper(R.MeanSquaredError(), num_outputs=2)(X, Y)
        running = wrappers.Running(agg.SumMetric(), window=2)
        for value in [1.0, 2.0, 5.0]:
            running.update(torch.tensor(value))
        out["running"] = running.compute()
        for strategy in ["poisson", "multinomial"]:  # draws from the global generator
            torch.manual_seed(11)
            boot = wrappers.BootStrapper(C.MulticlassAccuracy(num_classes=3), num_bootstraps=5,
                                         sampling_strategy=strategy, raw=True,
                                         quantile=torch.tensor([0.1, 0.9]))
            boot.update(p, t)
            out["bootstrap_" + strategy] = boot.compute()
        return out

    def states_and_dtypes():
        p, t = multiclass(40, 3, softmax=False)
        out = {}
        metric = C.MulticlassAccuracy(num_classes=3)
        metric.update(p, t)
        out["clone"] = metric.clone().compute()
        out["pickle"] = pickle.loads(pickle.dumps(metric)).compute()
        deep = copy.deepcopy(metric)
        deep.update(p[:5], t[:5])
        out["deepcopy"], out["original"] = deep.compute(), metric.compute()
        out["update_count"] = metric.update_count
        mse = R.MeanSquaredError()
        mse.update(torch.randn(5), torch.randn(5))
        mse = mse.double()
        mse.update(torch.randn(5, dtype=torch.float64), torch.randn(5, dtype=torch.float64))
        out["double"] = mse.compute()
        set_dtype = R.MeanSquaredError().set_dtype(torch.float64)
        set_dtype.update(torch.randn(4), torch.randn(4))
        out["set_dtype"] = set_dtype.compute()
        saved = R.MeanSquaredError()
        saved.persistent(True)
        saved.update(torch.ones(3), torch.zeros(3))
        out["state_dict"] = dict(saved.state_dict())
        loaded = R.MeanSquaredError()
        loaded.persistent(True)
        loaded.load_state_dict(saved.state_dict())
        out["loaded"] = loaded.compute()
        out["int_preds"] = C.BinaryF1Score()(torch.tensor([0, 1, 1, 0, 1]),
                                             torch.tensor([0, 1, 0, 0, 1]))
        out["f64_in"] = TF.mean_squared_error(torch.randn(5, dtype=torch.float64),
                                              torch.randn(5, dtype=torch.float64))
        out["half_in"] = FC.binary_accuracy(torch.rand(8).half(), torch.randint(0, 2, (8,)))
        out["zero_division"] = FC.binary_f1_score(torch.zeros(4), torch.zeros(4).long())
        return out

    def conversions_and_custom():
        out = {}
        # Metric._apply converts states under `to` and `set_dtype`, not under double/half/type
        for name in ("to", "double", "half", "type"):
            metric = R.MeanSquaredError()
            if name == "to":
                metric.to(torch.float64)
            elif name == "type":
                metric.type(torch.float64)
            else:
                getattr(metric, name)()
            out["state_" + name] = metric.sum_squared_error
        holder = torch.nn.Module()
        holder.lin = torch.nn.Linear(2, 2)
        holder.metric = R.MeanSquaredError()
        holder.to(torch.float64)
        out["nested_state"] = holder.metric.sum_squared_error
        out["nested_weight"] = holder.lin.weight
        holder.metric.update(torch.randn(3, dtype=torch.float64),
                             torch.randn(3, dtype=torch.float64))
        out["nested_value"] = holder.metric.compute()
        collection = torchmetrics.MetricCollection({"a": R.MeanSquaredError(),
                                                    "b": R.MeanAbsoluteError()})
        collection.set_dtype(torch.float64)
        out["collection_state"] = collection["a"].sum_squared_error

        class MyAccuracy(torchmetrics.Metric):  # the README's custom metric
            full_state_update = False

            def __init__(self):
                super().__init__()
                self.add_state("correct", default=torch.tensor(0), dist_reduce_fx="sum")
                self.add_state("total", default=torch.tensor(0), dist_reduce_fx="sum")
                self.add_state("seen", default=[], dist_reduce_fx="cat")

            def update(self, preds, target):
                preds = preds.argmax(dim=-1)
                self.correct += torch.sum(preds == target)
                self.total += target.numel()
                self.seen.append(preds)

            def compute(self):
                return self.correct.float() / self.total

        p, t = multiclass(40, 3, softmax=False)
        mine = MyAccuracy()
        out["custom_forward"] = [mine(p[:20], t[:20]), mine(p[20:], t[20:])]
        out["custom"], out["seen"] = mine.compute(), torch.cat(mine.seen)
        out["custom_states"] = [mine.correct, mine.total]
        other = MyAccuracy()
        other.update(p[:10], t[:10])
        mine.merge_state(other)
        out["custom_merged"] = mine.compute()
        mine.reset()
        out["reset_state"] = mine.correct
        return out

    def curves_and_layouts():
        p, t = binary()
        out = dict(auroc_max_fpr=FC.binary_auroc(p, t, max_fpr=0.3),
                   prec_at_recall=FC.binary_precision_at_fixed_recall(p, t, min_recall=0.5),
                   recall_at_prec=FC.binary_recall_at_fixed_precision(p, t, min_precision=0.5),
                   spec_at_sens=FC.binary_specificity_at_sensitivity(p, t, min_sensitivity=0.5),
                   eer=FC.binary_eer(p, t))
        g = gen(16)
        logits = torch.randn(3, 4, 5, 5, generator=g)  # (N, C, H, W) as a segmentation
        target = torch.randint(0, 4, (3, 5, 5), generator=g)
        out["samplewise"] = FC.multiclass_accuracy(logits, target, num_classes=4,
                                                   multidim_average="samplewise")
        out["global_nchw"] = FC.multiclass_f1_score(logits, target, num_classes=4)
        out["top2_f1"] = FC.multiclass_f1_score(logits[:, :, 0, 0], target[:, 0, 0],
                                                num_classes=4, top_k=2)
        collection = torchmetrics.MetricCollection(
            [C.MulticlassAccuracy(num_classes=4), C.MulticlassPrecision(num_classes=4),
             C.MulticlassRecall(num_classes=4), C.MulticlassConfusionMatrix(num_classes=4)],
            compute_groups=True)
        for i in range(3):
            collection.update(logits[i:i + 1], target[i:i + 1])
        out["groups"] = dict(collection.compute())
        out["n_groups"] = len(collection.compute_groups)
        return out

    def composition():
        """Arithmetic on metrics (CompositionalMetric) and the state helpers."""
        from torchmetrics.utilities import dim_zero_cat, dim_zero_max, dim_zero_mean
        g = gen(15)
        x, y = torch.randn(10, generator=g), torch.randn(10, generator=g)
        mse, mae = R.MeanSquaredError(), R.MeanAbsoluteError()
        composed = {"sum": mse + mae, "scaled": mse * 2, "power": mae ** 2, "neg": -mae,
                    "abs": abs(mse - 1.0), "ratio": mse / mae, "compare": mse > mae}
        for metric in composed.values():
            metric.update(x, y)
        out = {name: metric.compute() for name, metric in composed.items()}
        parts = [torch.tensor([1.0, 2.0]), torch.tensor([3.0])]
        out["cat"], out["max"] = dim_zero_cat(parts), dim_zero_max(torch.tensor([[1.0, 5.0]]))
        out["mean"] = dim_zero_mean(torch.tensor([[1.0, 5.0], [3.0, 1.0]]))
        return out

    def errors():
        p, t = multiclass(40, 3, softmax=False)
        return dict(
            target_out_of_range=builtin_error(
                lambda: FC.multiclass_accuracy(p, t + 5, num_classes=3)),
            shapes=builtin_error(lambda: TF.mean_squared_error(torch.randn(3), torch.randn(4))),
            not_binary=builtin_error(
                lambda: FC.binary_accuracy(torch.tensor([0.5, 2]), torch.tensor([0, 3]))))

    def image_clustering_nominal():
        g = gen(12)
        out = {}
        img1 = torch.rand(2, 3, 16, 16, generator=g)
        img2 = (img1 + 0.1 * torch.randn(2, 3, 16, 16, generator=g)).clamp(0, 1)
        I = TF.image
        out["psnr"] = I.peak_signal_noise_ratio(img1, img2, data_range=1.0)
        out["ssim"] = I.structural_similarity_index_measure(img1, img2, data_range=1.0)
        out["tv"] = I.total_variation(img1)
        out["uqi"] = I.universal_image_quality_index(img1, img2)
        out["sam"] = I.spectral_angle_mapper(img1, img2)
        out["ergas"] = I.error_relative_global_dimensionless_synthesis(img1, img2)
        out["rmse_sw"] = I.root_mean_squared_error_using_sliding_window(img1, img2)
        out["ms_ssim"] = I.multiscale_structural_similarity_index_measure(
            torch.rand(1, 1, 180, 180, generator=g), torch.rand(1, 1, 180, 180, generator=g),
            data_range=1.0, betas=(0.5, 0.5))
        pred = torch.randint(0, 3, (2, 8, 8), generator=g)
        true = torch.randint(0, 3, (2, 8, 8), generator=g)
        out["dice"] = TF.segmentation.dice_score(pred, true, num_classes=3, input_format="index")
        out["mean_iou"] = TF.segmentation.mean_iou(pred, true, num_classes=3,
                                                   input_format="index")
        a = torch.randint(0, 4, (30,), generator=g)
        b = torch.randint(0, 4, (30,), generator=g)
        for name in ("mutual_info_score", "normalized_mutual_info_score", "adjusted_rand_score",
                     "rand_score"):
            out[name] = getattr(TF.clustering, name)(a, b)
        out["cramers_v"] = TF.nominal.cramers_v(a, b)
        out["tschuprows_t"] = TF.nominal.tschuprows_t(a, b)
        return out

    def pairwise():
        g = gen(14)
        x, y = torch.randn(5, 4, generator=g), torch.randn(3, 4, generator=g)
        out = {name: getattr(TF, "pairwise_" + name)(x, y) for name in (
            "cosine_similarity", "euclidean_distance", "manhattan_distance",
            "linear_similarity")}
        out["minkowski"] = TF.pairwise_minkowski_distance(x, y, exponent=3)
        out["self_cosine"] = TF.pairwise_cosine_similarity(x, zero_diagonal=True)
        return out

    return {f"tm_{check.__name__}": check for check in (
        binary_functional, multiclass_functional, multilabel_functional, regression_functional,
        modular_classification, modular_regression, aggregation, retrieval_checks, text,
        gradients, wrapper_checks, states_and_dtypes, conversions_and_custom, curves_and_layouts,
        composition, errors, image_clustering_nominal, pairwise)}


# ------------------------------------------------------------------ pytorch-metric-learning


def metric_learning_checks(torch) -> dict:
    from pytorch_metric_learning import distances, losses, miners, reducers, regularizers
    from pytorch_metric_learning.utils import loss_and_miner_utils as lmu

    def data(n=16, d=8, c=4, seed=0, dtype=None):
        g = torch.Generator().manual_seed(seed)
        embeddings = torch.randn(n, d, generator=g, dtype=dtype or torch.float32)
        return embeddings.requires_grad_(), torch.randint(0, c, (n,), generator=g)

    def loss_and_grad(loss_fn, *args, **kwargs):
        embeddings = args[0]
        embeddings.grad = None
        loss = loss_fn(*args, **kwargs)
        loss.backward()
        return [loss, embeddings.grad]

    def pair_losses():
        cosine = distances.CosineSimilarity()
        table = dict(
            contrastive=losses.ContrastiveLoss(),
            contrastive_margins=losses.ContrastiveLoss(pos_margin=0.2, neg_margin=1.5),
            contrastive_cos=losses.ContrastiveLoss(distance=cosine, pos_margin=1, neg_margin=0),
            triplet=losses.TripletMarginLoss(margin=0.1),
            triplet_smooth=losses.TripletMarginLoss(smooth_loss=True),
            triplet_all=losses.TripletMarginLoss(margin=0.3, triplets_per_anchor="all"),
            ntxent=losses.NTXentLoss(temperature=0.1), supcon=losses.SupConLoss(temperature=0.2),
            multi_similarity=losses.MultiSimilarityLoss(alpha=2, beta=50, base=0.5),
            lifted_general=losses.GeneralizedLiftedStructureLoss(neg_margin=1),
            lifted=losses.LiftedStructureLoss(), circle=losses.CircleLoss(),
            npairs=losses.NPairsLoss(), margin=losses.MarginLoss(), fastap=losses.FastAPLoss(),
            snr=losses.SignalToNoiseRatioContrastiveLoss(), tuplet=losses.TupletMarginLoss(),
            intra_pair=losses.IntraPairVarianceLoss(),
            multi_similarity_lp=losses.MultiSimilarityLoss(
                distance=distances.LpDistance(normalize_embeddings=False)))
        out = {}
        for name, loss_fn in table.items():
            embeddings, labels = data()
            out[name] = loss_and_grad(loss_fn, embeddings, labels)
        return out

    def more_losses():
        table = dict(
            angular=losses.AngularLoss(), nca=losses.NCALoss(), instance=losses.InstanceLoss(),
            pnp=losses.PNPLoss(), ranked_list=losses.RankedListLoss(margin=0.4, Tn=0),
            dynamic_soft_margin=losses.DynamicSoftMarginLoss(),
            tcm=losses.ThresholdConsistentMarginLoss(),
            p2s=losses.P2SGradLoss(descriptors_dim=8, num_classes=4))
        out = {}
        for name, loss_fn in table.items():
            embeddings, labels = data(seed=6)
            out[name] = loss_and_grad(loss_fn, embeddings, labels)
        g = torch.Generator().manual_seed(7)
        view1 = torch.randn(8, 6, generator=g, requires_grad=True)
        view2 = torch.randn(8, 6, generator=g, requires_grad=True)
        out["vicreg"] = loss_and_grad(losses.VICRegLoss(), view1, ref_emb=view2)
        smooth = losses.SmoothAPLoss(temperature=0.01)
        embeddings, _ = data(n=12, seed=8)
        out["smooth_ap"] = loss_and_grad(smooth, embeddings, torch.arange(4).repeat_interleave(3))
        return out

    def proxy_losses():
        """Losses with learned class weights: their seeded init and three SGD steps."""
        out = {}
        for name in ("ArcFaceLoss", "CosFaceLoss", "ProxyAnchorLoss", "ProxyNCALoss",
                     "NormalizedSoftmaxLoss", "SoftTripleLoss", "SubCenterArcFaceLoss"):
            torch.manual_seed(3)
            extra = dict(centers_per_class=2) if name == "SoftTripleLoss" else {}
            loss_fn = getattr(losses, name)(num_classes=4, embedding_size=8, **extra)
            weight = list(loss_fn.parameters())[0]
            out[name + "_init"] = weight.detach().clone()
            opt = torch.optim.SGD(loss_fn.parameters(), lr=0.1)
            embeddings, labels = data(seed=4)
            steps = []
            for _ in range(3):
                opt.zero_grad()
                steps.append(loss_and_grad(loss_fn, embeddings, labels))
                opt.step()
            out[name] = steps
            out[name + "_weight"] = weight.detach()
        return out

    def large_margin():
        # their __init__ calls scipy.special.binom on tensor elements (a NumPy ufunc on a Tensor)
        out = {}
        for name in ("LargeMarginSoftmaxLoss", "SphereFaceLoss"):
            torch.manual_seed(3)
            loss_fn = getattr(losses, name)(num_classes=4, embedding_size=8, margin=4)
            out[name] = loss_and_grad(loss_fn, *data(seed=4))
        return out

    def histogram_loss():
        # indexes a matrix with a list of two lists (`mat[[rows, cols]]`), which PyTorch reads
        # as the tuple `mat[rows, cols]`
        return loss_and_grad(losses.HistogramLoss(n_bins=10), *data(seed=6))

    def miner_checks():
        embeddings, labels = data(n=20, seed=5)
        table = dict(
            triplet_all=miners.TripletMarginMiner(margin=0.2, type_of_triplets="all"),
            triplet_hard=miners.TripletMarginMiner(margin=0.2, type_of_triplets="hard"),
            triplet_semihard=miners.TripletMarginMiner(margin=0.2, type_of_triplets="semihard"),
            multi_similarity=miners.MultiSimilarityMiner(epsilon=0.1),
            pair_margin=miners.PairMarginMiner(pos_margin=0.2, neg_margin=0.8),
            batch_hard=miners.BatchHardMiner(), batch_easy_hard=miners.BatchEasyHardMiner(),
            angular=miners.AngularMiner(angle=20),
            histogram=miners.UniformHistogramMiner(num_bins=10, pos_per_bin=5, neg_per_bin=5))
        out = {}
        for name, miner in table.items():
            torch.manual_seed(6)
            out[name] = list(miner(embeddings, labels))
        # HDCMiner keeps the closest half of the pairs (torch.topk): (i, j) and (j, i) tie and
        # PyTorch leaves the order of ties unspecified (at the cut either one is kept), so the
        # pairs are compared unordered and sorted.
        a1, p, a2, n = miners.HDCMiner(filter_percentage=0.5)(embeddings, labels)
        for key, (first, second) in {"hdc_pos": (a1, p), "hdc_neg": (a2, n)}.items():
            low, high = torch.minimum(first, second), torch.maximum(first, second)
            out[key] = torch.stack([low, high], 1)[torch.argsort(low * 100 + high)]
        mined = miners.TripletMarginMiner(margin=0.2)(embeddings, labels)
        out["mined_triplet"] = loss_and_grad(losses.TripletMarginLoss(), embeddings, labels,
                                             mined)
        mined = miners.MultiSimilarityMiner()(embeddings, labels)
        out["mined_contrastive"] = loss_and_grad(losses.ContrastiveLoss(), embeddings, labels,
                                                 mined)
        out["all_pairs"] = list(lmu.get_all_pairs_indices(labels))
        out["all_triplets"] = list(lmu.get_all_triplets_indices(labels))
        return out

    def distances_reducers():
        g = torch.Generator().manual_seed(8)
        x, y = torch.randn(6, 5, generator=g), torch.randn(4, 5, generator=g)
        out = {}
        for name, distance in [("lp", distances.LpDistance()),
                               ("lp1", distances.LpDistance(p=1, normalize_embeddings=False)),
                               ("lp_power", distances.LpDistance(power=2)),
                               ("cosine", distances.CosineSimilarity()),
                               ("dot", distances.DotProductSimilarity()),
                               ("snr", distances.SNRDistance())]:
            out[name] = [distance(x, y), distance(x), distance.pairwise_distance(x[:4], y)]
        embeddings, labels = data(seed=9)
        for name, reducer in [("mean", reducers.MeanReducer()),
                              ("avg_non_zero", reducers.AvgNonZeroReducer()),
                              ("threshold", reducers.ThresholdReducer(low=0.1)),
                              ("sum", reducers.SumReducer()),
                              ("per_anchor", reducers.PerAnchorReducer())]:
            out["reducer_" + name] = loss_and_grad(losses.ContrastiveLoss(reducer=reducer),
                                                   embeddings, labels)
        regularized = losses.ContrastiveLoss(embedding_regularizer=regularizers.LpRegularizer())
        out["regularizer"] = loss_and_grad(regularized, embeddings, labels)
        return out

    def wrappers_and_references():
        out = {}
        embeddings, labels = data(seed=10)
        ref, ref_labels = data(n=10, seed=11)
        out["ref"] = loss_and_grad(losses.TripletMarginLoss(), embeddings, labels, ref_emb=ref,
                                   ref_labels=ref_labels) + [ref.grad]
        g = torch.Generator().manual_seed(12)
        view1 = torch.randn(8, 6, generator=g, requires_grad=True)
        view2 = torch.randn(8, 6, generator=g, requires_grad=True)
        both, same = torch.cat([view1, view2]), torch.cat([torch.arange(8), torch.arange(8)])
        loss = losses.NTXentLoss(temperature=0.5)(both, same)
        loss.backward()
        out["simclr"] = [loss, view1.grad]
        out["self_supervised"] = loss_and_grad(
            losses.SelfSupervisedLoss(losses.TripletMarginLoss()), view1, view2)
        torch.manual_seed(13)
        memory = losses.CrossBatchMemory(losses.ContrastiveLoss(), embedding_size=8,
                                         memory_size=12)
        out["cross_batch_memory"] = [memory(*data(n=6, seed=20 + s)).detach() for s in range(3)]
        multiple = losses.MultipleLosses([losses.ContrastiveLoss(), losses.MultiSimilarityLoss()],
                                         weights=[1.0, 0.5])
        out["multiple"] = loss_and_grad(multiple, embeddings, labels)
        out["float64"] = loss_and_grad(losses.TripletMarginLoss(),
                                       *data(seed=14, dtype=torch.float64))
        return out

    def accuracy_calculator():
        from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
        from pytorch_metric_learning.utils.inference import CustomKNN

        g = torch.Generator().manual_seed(17)
        centers = torch.randn(4, 6, generator=g) * 2
        query_labels = torch.randint(0, 4, (30,), generator=g)
        ref_labels = torch.randint(0, 4, (40,), generator=g)
        query = centers[query_labels] + torch.randn(30, 6, generator=g)
        ref = centers[ref_labels] + torch.randn(40, 6, generator=g)
        calculator = AccuracyCalculator(
            include=("precision_at_1", "r_precision", "mean_average_precision_at_r",
                     "mean_reciprocal_rank"),
            k="max_bin_count", knn_func=CustomKNN(distances.LpDistance()),
            device=torch.device("cpu"))
        result = calculator.get_accuracy(query, query_labels, ref, ref_labels)
        return {key: torch.tensor(value, dtype=torch.float64) for key, value in result.items()}

    def training_loop():
        """The README's pattern: a miner feeds a loss, Adam trains an embedding net."""
        torch.manual_seed(15)
        nn = torch.nn
        net = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 8))
        cosine = distances.CosineSimilarity()
        loss_fn = losses.TripletMarginLoss(margin=0.1, distance=cosine,
                                           reducer=reducers.ThresholdReducer(low=0))
        miner = miners.TripletMarginMiner(margin=0.2, distance=cosine,
                                          type_of_triplets="semihard")
        opt = torch.optim.Adam(net.parameters(), lr=0.01)
        g = torch.Generator().manual_seed(16)
        x, y = torch.randn(32, 10, generator=g), torch.randint(0, 4, (32,), generator=g)
        losses_seen = []
        for _ in range(4):
            opt.zero_grad()
            embeddings = net(x)
            loss = loss_fn(embeddings, y, miner(embeddings, y))
            loss.backward()
            opt.step()
            losses_seen.append(loss.detach())
        return dict(losses=losses_seen, weight=net[0].weight.detach(),
                    mined=miner.num_triplets)

    return {f"pml_{check.__name__}": check for check in (
        pair_losses, more_losses, histogram_loss, proxy_losses, large_margin, miner_checks,
        distances_reducers, wrappers_and_references, accuracy_calculator, training_loop)}


def main(argv: list[str]) -> None:
    import numpy as np
    import torch

    _install_shims(torch)
    out, libraries = argv[0], argv[1:]
    checks = {}
    if "torchmetrics" in libraries:
        checks.update(torchmetrics_checks(torch))
    if "pytorch_metric_learning" in libraries:
        checks.update(metric_learning_checks(torch))
    arrays, meta = run_checks(checks, torch)
    meta["shims"] = ",".join(SHIMS)
    np.savez(out + ".npz", **arrays)
    with open(out + ".json", "w") as handle:
        json.dump(meta, handle, indent=0)


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")  # torchmetrics' deprecation notices
    main(sys.argv[1:])
