"""The `deltagrad` command line: parses arguments, builds a config, calls one function, reports."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

__all__ = ["main"]


class CliError(Exception):
    """A user-facing problem: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad command line is a CliError: one line, not usage + error + exit."""

    def error(self, message):
        raise CliError(f"{message} (see '{self.prog} --help')")


def _train_arguments(parser: argparse.ArgumentParser) -> None:
    from deltagrad.ner.config import OPTIMIZERS, SCHEDULES, TOPICS, TrainConfig

    d = TrainConfig()
    add = parser.add_argument
    add("--train", metavar="FILE", help="CoNLL training file (default: embedded CoNLL-2003 train)")
    add("--dev", metavar="FILE", help="CoNLL dev file (default: embedded CoNLL-2003 dev)")
    add("--vectors", default=d.vectors, metavar="glove-50d|PATH|none",
        help="pretrained word vectors (default: %(default)s)")
    add("--embeddings", default=d.embeddings, choices=["finetune", "frozen"],
        help="fine-tune the pretrained vectors or keep them frozen (default: %(default)s)")
    add("--word-lr-scale", type=float, default=d.word_lr_scale, metavar="S",
        help="fine-tuned word vectors learn at S times --lr (default: %(default)s)")
    add("--unseen-map", default=d.unseen_map, choices=["none", "linear"],
        help="give words unseen in training their GloVe vector through the linear map from the "
             "seen words' GloVe to their fine-tuned vectors (default: %(default)s)")
    add("--unseen-map-ridge", type=float, default=d.unseen_map_ridge, metavar="R",
        help="pull that map towards the identity (default: %(default)s: least squares)")
    add("--freeze-rare", type=int, default=d.freeze_rare, metavar="K",
        help="pretrained vectors of words seen fewer than K times in training stay frozen "
             "(default: %(default)s: all fine-tuned)")
    add("--window", type=int, default=d.window, help="words each side (default: %(default)s)")
    add("--hidden", type=int, default=d.hidden, help="hidden units (default: %(default)s)")
    add("--activation", default=d.activation, choices=["relu", "tanh", "hardtanh"])
    add("--dropout", type=float, default=d.dropout, metavar="P")
    add("--word-dropout", type=float, default=d.word_dropout, metavar="P",
        help="chance to replace a rare word without a vector by <unk> in training")
    add("--casing-dim", type=int, default=d.casing_dim)
    add("--suffix-dim", type=int, default=d.suffix_dim, help="0 turns the suffix feature off")
    add("--word-dim", type=int, default=d.word_dim, help="word vector width with --vectors none")
    add("--chars", default=d.chars, choices=["cnn", "ngrams", "none"],
        help="each word's spelling by a character CNN or as hashed character n-grams "
             "(default: %(default)s)")
    add("--char-dim", type=int, default=d.char_dim, help="width of the spelling vectors")
    add("--char-buckets", type=int, default=d.char_buckets, help="rows of the n-gram table")
    add("--char-window", type=int, default=d.char_window,
        help="positions each side of the centre whose spelling is an input")
    add("--document", default=d.document, choices=["context", "none"],
        help="words around a word's other mentions in its document (default: %(default)s)")
    add("--gazetteer", default=d.gazetteer, choices=["train", "none"],
        help="the training split's entities as a gazetteer (default: %(default)s)")
    add("--topic", default=d.topic, choices=list(TOPICS),
        help="mean word vectors of each token's sentence and/or document (default: "
             "%(default)s)")
    add("--history", default=d.history, choices=["none", "predictions"],
        help="a second stage that also sees the first stage's predicted types of each word's "
             "other mentions in its document (default: %(default)s)")
    add("--history-folds", type=int, default=d.history_folds,
        help="folds of training documents for the first stage's jackknifed predictions")
    add("--history-epochs", type=int, default=d.history_epochs,
        help="epochs of each fold model")
    add("--optimizer", default=d.optimizer, choices=list(OPTIMIZERS))
    add("--lr", type=float, default=d.lr)
    add("--weight-decay", type=float, default=d.weight_decay, help="(adamw)")
    add("--schedule", default=d.schedule, choices=list(SCHEDULES))
    add("--clip", type=float, default=d.clip, help="gradient norm clipping, 0 = off")
    add("--epochs", type=int, default=d.epochs)
    add("--patience", type=int, default=d.patience, help="early-stopping patience in epochs")
    add("--batch-size", type=int, default=d.batch_size)
    add("--seed", type=int, default=d.seed)
    add("--decode", default=d.decode, choices=["auto", "viterbi", "argmax"])
    add("--loss", default=d.loss, choices=["softmax", "crf"],
        help="per-token softmax, or sentence-level linear-chain CRF (default: %(default)s)")
    add("--checkpoint-every", type=int, default=d.checkpoint_every, metavar="STEPS",
        help="checkpoint every STEPS steps as well as after each epoch (default: epochs only)")
    add("--ensemble", type=int, default=d.ensemble, metavar="N",
        help="train N models from seeds SEED, SEED+1, ... side by side (one process each, as "
             "many at once as there are cores) and average their scores (default: %(default)s)")
    add("--no-progress", action="store_true", help="no progress bar")
    add("--distributed", action="store_true",
        help="train data-parallel over MPI (start with mpiexec -n N; see docs/distributed.md)")
    add("--collective-timeout", type=float, default=120.0, metavar="SECONDS",
        help="how long an MPI collective may wait for the other processes (default: 120)")


def _config_from(args) -> object:
    from deltagrad.ner.config import TrainConfig

    names = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in vars(args).items() if k in names})


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="deltagrad", description="deltagrad: backpropagation as software, and its NER demo")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    ner = commands.add_parser("ner", help="window-based named-entity recognition")
    ner_commands = ner.add_subparsers(dest="ner_command", metavar="ACTION")

    train = ner_commands.add_parser("train", help="train a tagger (default: CoNLL-2003 + GloVe)")
    _train_arguments(train)
    train.add_argument("--out", default="runs/ner", metavar="DIR",
                       help="model directory to write (default: %(default)s)")
    train.add_argument("--resume", metavar="DIR",
                       help="continue the interrupted run whose checkpoint is in DIR (its "
                            "settings are used; other options are ignored)")

    evaluate = ner_commands.add_parser("evaluate", help="entity-level P/R/F1 of a model")
    evaluate.add_argument("--model", required=True, metavar="DIR")
    evaluate.add_argument("--data", metavar="FILE",
                          help="CoNLL file to score (default: the embedded dev split)")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")

    predict = ner_commands.add_parser(
        "predict", help="tag text: arguments, stdin or a file; entities with offsets and "
                        "confidences")
    predict.add_argument("--model", required=True, metavar="DIR")
    predict.add_argument("text", nargs="*",
                         help="texts, one document each; without them (and --input) one "
                              "document per line of stdin")
    predict.add_argument("--input", metavar="FILE",
                         help="read documents from FILE ('-': stdin) in --input-format")
    predict.add_argument("--input-format", default="auto",
                         choices=["auto", "text", "lines", "jsonl", "conll"],
                         help="text: one document per paragraph; lines: one per line; jsonl: "
                              "objects with a 'text'; conll: a token per line (default: from "
                              "the file name, .jsonl or .conll/.iob/.bio/.tsv, else text)")
    predict.add_argument("--format", default="inline", choices=["jsonl", "conll", "inline"],
                         help="jsonl: tokens, offsets, tags, entities with character offsets "
                              "and confidence; conll: token [gold] tag; inline: [EU](ORG) "
                              "rejects ... (default: %(default)s)")
    predict.add_argument("--json", action="store_true", help="the same as --format jsonl")
    predict.add_argument("--batch-tokens", type=int, default=50_000, metavar="N",
                         help="tokens tagged together (default: %(default)s)")
    predict.add_argument("--stats", action="store_true",
                         help="print counts and tokens/s to stderr at the end")

    serve = ner_commands.add_parser(
        "serve", help="serve a model over HTTP: a JSON API and a page that shows its decisions")
    serve.add_argument("--model", required=True, metavar="DIR")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default: %(default)s, this machine only)")
    serve.add_argument("--port", type=int, default=8000, help="(default: %(default)s; 0: any)")
    serve.add_argument("--max-bytes", type=int, default=1 << 20, metavar="N",
                       help="largest request body accepted (default: %(default)s)")

    compare = ner_commands.add_parser(
        "compare", help="random vs frozen vs fine-tuned GloVe, with and without character, "
                        "document, gazetteer and topic features")
    _train_arguments(compare)
    compare.add_argument("--out", default="runs/compare", metavar="DIR",
                         help="where the table, plot and models go (default: %(default)s)")
    compare.add_argument("--train-fraction", type=float, default=1.0, metavar="F",
                         help="train on the first fraction F of the training sentences")
    compare.add_argument("--holdout", type=float, default=0.1, metavar="F",
                         help="score on the last fraction F of the training documents, kept "
                              "out of training (default: %(default)s)")
    compare.add_argument("--variants", metavar="NAMES",
                         help="comma-separated variants to run (default: all): random, "
                              "glove-frozen, glove-finetuned, chars+document, chars-only, "
                              "document-only, no-chars-no-document, no-chars, chars-ngrams, "
                              "chars-cnn, gazetteer-only, "
                              "topic-only, gazetteer+topic, no-gazetteer-no-topic, "
                              "one-model, ensemble-of-2, ensemble-of-3, map-unseen, "
                              "freeze-rare-2, freeze-rare-5")

    graph = ner_commands.add_parser("graph", help="draw the model's training-step graph")
    graph.add_argument("--model", required=True, metavar="DIR")
    graph.add_argument("--out", default="ner-graph.dot", metavar="FILE",
                       help="DOT file to write; .svg/.png render with graphviz if installed")
    graph.add_argument("--batch", type=int, default=2, help="examples in the drawn batch")

    run = commands.add_parser(
        "run", help="run a PyTorch script unchanged on deltagrad (`import torch` is deltagrad)")
    run.add_argument("script", help="the Python file to run as __main__")
    run.add_argument("script_args", nargs=argparse.REMAINDER, metavar="ARGS",
                     help="the script's own arguments")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except CliError as error:
        return _fail(error)
    if args.command == "run":
        return _run_script(args.script, args.script_args)
    if args.command != "ner" or not getattr(args, "ner_command", None):
        parser.print_help()
        return 2
    try:
        return _run(args)
    except CliError as error:
        return _fail(error)
    except KeyboardInterrupt:
        print("deltagrad: interrupted", file=sys.stderr)
        return 130
    except MemoryError as error:  # sizes too large to allocate (NumPy names the array)
        return _fail(f"out of memory: {error or 'a size is too large'}")
    except (OSError, ValueError, ImportError) as error:
        return _fail(error)


def _fail(error) -> int:
    """Prints an error as one line (a message of several lines is joined with '; ')."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    print(f"deltagrad: error: {'; '.join(lines)}", file=sys.stderr)
    return 2


def _run(args) -> int:
    from deltagrad.ner import checkpoint, conll, model_dir, predict, training

    if args.ner_command == "train":
        if args.resume:
            try:
                config = checkpoint.checkpoint_config(args.resume)
            except model_dir.ModelError as error:
                raise CliError(str(error)) from None
            config.out = args.resume
            training.train(config, progress=not args.no_progress, resume=True,
                           distributed=args.distributed,
                           collective_timeout=args.collective_timeout)
        else:
            training.train(_config_from(args), progress=not args.no_progress,
                           distributed=args.distributed,
                           collective_timeout=args.collective_timeout)
        return 0
    if args.ner_command == "evaluate":
        loaded = _load(args.model)
        sentences = conll.load_sentences(args.data, "dev")
        scores = predict.evaluate(loaded, sentences)
        print(json.dumps(scores) if args.json else _format_scores(scores))
        return 0
    if args.ner_command == "predict":
        return _predict(args)
    if args.ner_command == "serve":
        from deltagrad.ner.serve import serve

        loaded = _load(args.model)
        if not 0 <= args.port <= 65535 or args.max_bytes < 1:
            raise CliError("--port must be in 0..65535 and --max-bytes positive")
        serve(loaded, host=args.host, port=args.port, max_bytes=args.max_bytes,
              log=lambda line: print(line, file=sys.stderr, flush=True))
        return 0
    if args.ner_command == "compare":
        from deltagrad.ner.compare import compare

        config = _config_from(args)
        variants = args.variants.split(",") if args.variants else None
        compare(config, Path(args.out), train_fraction=args.train_fraction,
                holdout=args.holdout, variants=variants, progress=not args.no_progress)
        return 0
    if args.ner_command == "graph":
        from deltagrad.ner.graph import draw_training_graph

        loaded = _load(args.model)
        path = draw_training_graph(loaded, Path(args.out), batch=args.batch)
        print(f"wrote {path}")
        return 0
    raise CliError(f"unknown command {args.ner_command!r}")


def _run_script(script: str, script_args: list[str]) -> int:
    """Runs `script` as __main__ with `import torch` giving deltagrad, as `python script` would
    (argv, the script's folder first on sys.path); the script's own errors propagate."""
    import importlib.machinery
    import io
    import os
    import types

    from deltagrad.torch_alias import install

    if not os.path.isfile(script):
        return _fail(f"no such script: {script}")
    try:
        install()
    except RuntimeError as error:
        return _fail(error)
    sys.argv = [script, *script_args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    # As runpy.run_path(script, run_name="__main__"), but with a __spec__ naming
    # deltagrad._alias_main: multiprocessing's spawn / forkserver children rebuild this
    # __main__ by importing that module, which installs the alias first (its docstring).
    os.environ["DELTAGRAD_RUN_SCRIPT"] = os.path.abspath(script)
    with io.open_code(script) as file:
        code = compile(file.read(), script, "exec")
    main = types.ModuleType("__main__")
    main.__dict__.update(__file__=script, __cached__=None, __loader__=None, __package__="",
                         __spec__=importlib.machinery.ModuleSpec("deltagrad._alias_main", None))
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = main
    try:
        exec(code, main.__dict__)
    finally:
        sys.modules["__main__"] = saved
    return 0


def _load(directory):
    from deltagrad.ner.model_dir import ModelError, load_model

    try:
        return load_model(directory)
    except ModelError as error:
        raise CliError(str(error)) from None


def _predict(args) -> int:
    from deltagrad.ner import formats
    from deltagrad.ner.predict import Document

    if args.text and args.input:
        raise CliError("give texts as arguments or --input FILE, not both")
    if args.batch_tokens < 1:
        raise CliError("--batch-tokens must be positive")
    output_format = "jsonl" if args.json else args.format
    input_format = "lines"  # texts given as arguments: one document each
    if args.text:
        for text in args.text:
            problem = formats.check_text(text)
            if problem is not None:
                raise CliError(f"argument {text[:40]!r}: {problem}")
        documents = (Document.from_text(text) for text in args.text)
    else:
        if args.input is None:  # stdin, one document per line (as before --input existed)
            source, guessed = sys.stdin.buffer, "lines"
        elif args.input == "-":
            source, guessed = sys.stdin.buffer, "text"
        else:
            source, guessed = args.input, formats.guess_input_format(args.input)
        input_format = guessed if args.input_format == "auto" else args.input_format
        documents = formats.read_documents(source, input_format)
    loaded = _load(args.model)
    separator = "\n\n" if input_format == "text" else "\n"
    stats = formats.run_predict(loaded, documents, output_format, sys.stdout,
                                batch_tokens=args.batch_tokens, separator=separator)
    if args.stats:
        print(f"deltagrad: {stats}", file=sys.stderr)
    return 0


def _format_scores(scores: dict) -> str:
    lines = [f"entity-level ({scores['decode']} decoding): precision {scores['precision']:.4f}  "
             f"recall {scores['recall']:.4f}  F1 {scores['f1']:.4f}  "
             f"token accuracy {scores['accuracy']:.4f}",
             f"{'type':6s} {'precision':>9s} {'recall':>9s} {'F1':>9s} {'support':>8s}"]
    for name, s in scores["per_type"].items():
        lines.append(f"{name:6s} {s['precision']:9.4f} {s['recall']:9.4f} {s['f1']:9.4f} "
                     f"{s['support']:8d}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
