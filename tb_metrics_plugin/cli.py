"""`tb-metrics`: reports and deployable thresholds from stored counts, on the command line.

    tb-metrics runs LOGDIR
    tb-metrics report PATH [--run R] [--tag T] [--step S] [--threshold 0.5 | --best METRIC]
    tb-metrics thresholds PATH --metric recall_at_precision --precision 0.9 -o best.json

PATH is a run directory (holding event files, e.g. ``logs/run1/validation``) or a logdir with
``--run`` (e.g. ``logs --run run1/validation``); ``--tag`` defaults to the only tag and
``--step`` to the latest. Reading needs no TensorFlow: TensorBoard's own loader reads the event
files (with its pure-Python reader, even when TensorFlow is installed).

Bad input (a missing path, an unknown run, tag or step, a parameter out of range) prints one
line, ``tb-metrics: error: Expected ..., received ...``, on stderr and exits with status 2.
"""
import argparse
import logging
import os
import sys

from tb_metrics_plugin import logdir
from tb_metrics_plugin.logdir import CliError, listing, load

__all__ = ["main", "build_parser", "CliError"]

PROG = "tb-metrics"
# CLI flag -> objective parameter (selection.OBJECTIVES)
PARAM_FLAGS = {"beta": "--beta", "precision": "--precision", "recall": "--recall",
               "cost_fp": "--cost-fp", "cost_fn": "--cost-fn"}


EXAMPLES = """examples:
  tb-metrics runs logs
  tb-metrics report logs --run run1/validation
  tb-metrics report logs/run1/validation --step 7 --threshold 0.3 --format markdown
  tb-metrics report logs/run1/validation --best recall_at_precision --precision 0.9
  tb-metrics thresholds logs/run1/validation --metric fbeta --beta 0.5 -o best.json
  tb-metrics thresholds logs/run1/validation --metric cost --cost-fp 1 --cost-fn 5 --global

bad input prints one line on stderr and exits with status 2."""


_HELP = {"epilog": EXAMPLES, "formatter_class": argparse.RawDescriptionHelpFormatter}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block) that point at --help."""

    def error(self, message):
        raise CliError(f"{message} (see `{self.prog} --help`)")


# -- argument types -------------------------------------------------------------------------------


def _probability(text):
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(
            f"expected a probability in [0, 1] (e.g. 0.5); received {text!r}")
    return value


def _number(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; received {text!r}") from None


def _int(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer; received {text!r}") from None


def _digits(text):
    value = _int(text)
    if not 0 <= value <= 17:
        raise argparse.ArgumentTypeError(f"expected digits in 0..17; received {text!r}")
    return value


def _zero_division(text):
    values = {"0": 0, "1": 1, "nan": float("nan")}
    if text.lower() not in values:
        raise argparse.ArgumentTypeError(f"expected 0, 1 or nan; received {text!r}")
    return values[text.lower()]


# -- parser ----------------------------------------------------------------------------------------


def _add_source(p):
    p.add_argument("path", metavar="PATH",
                   help="a run directory (holding event files) or a logdir with --run")
    p.add_argument("--run", help="run inside the logdir PATH, e.g. run1/validation")
    p.add_argument("--tag", help="tag to read (default: the only tb_metrics tag)")
    p.add_argument("--step", type=_int, help="step to read (default: the latest)")


def _add_params(p):
    g = p.add_argument_group("objective parameters")
    g.add_argument("--beta", type=_number, help="for fbeta: weight of recall (e.g. 0.5 or 2)")
    g.add_argument("--precision", type=_number, help="for recall_at_precision: target precision")
    g.add_argument("--recall", type=_number, help="for precision_at_recall: target recall")
    g.add_argument("--cost-fp", type=_number, help="for cost: cost of one false positive")
    g.add_argument("--cost-fn", type=_number, help="for cost: cost of one false negative")
    g.add_argument("--global", dest="global_", action="store_true",
                   help="one threshold for all labels, best for the micro (pooled) objective")


def build_parser():
    """The `tb-metrics` argument parser (subcommands runs, report, thresholds)."""
    from tb_metrics_plugin import report, selection

    metrics = selection.METRICS
    parser = _Parser(prog=PROG, description=__doc__.split("\n\n")[0].replace("`", ""), **_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("runs", **_HELP,
                       help="runs, tags, steps, labels and thresholds under a logdir",
                       description="List every run under LOGDIR that holds tb_metrics counts.")
    p.add_argument("logdir", metavar="LOGDIR")
    p.add_argument("--format", choices=report.FORMATS, default="text")

    p = sub.add_parser(
        "report", **_HELP, help="per-label precision, recall, F1, support, AP, ROC-AUC",
        description="A classification report (as scikit-learn's) from the stored counts of one "
                    "step: per label and micro / macro / weighted averages.")
    _add_source(p)
    rule = p.add_mutually_exclusive_group()
    rule.add_argument("--threshold", type=_probability,
                      help="one threshold for every label (default 0.5; the nearest stored)")
    _add_params(p)
    rule.add_argument("--best", choices=metrics, metavar="METRIC",
                      help=f"each label at its own best threshold for METRIC "
                           f"({', '.join(metrics)})")
    p.add_argument("--format", choices=report.FORMATS, default="text")
    p.add_argument("--zero-division", type=_zero_division, default=0, metavar="{0,1,nan}",
                   help="value of an undefined ratio, as in scikit-learn (nan: leave out of macro)")
    p.add_argument("--digits", type=_digits, default=4, help="decimals in text and markdown")

    p = sub.add_parser(
        "thresholds", **_HELP,
        help="best thresholds per label as JSON (tbm.load_best_thresholds reads it)",
        description="Choose thresholds to deploy from the stored counts of one step.")
    _add_source(p)
    p.add_argument("--metric", required=True, choices=metrics, metavar="METRIC",
                   help=f"objective: {', '.join(metrics)}")
    _add_params(p)
    p.add_argument("-o", "--output", help="write the JSON here (default: print it)")
    return parser


def objective_params(args, metric):
    """The objective parameters given on the command line, checked against ``metric``."""
    from tb_metrics_plugin import selection

    given = {key: getattr(args, key) for key in PARAM_FLAGS if getattr(args, key) is not None}
    if metric is None:
        if given or args.global_:
            flags = [PARAM_FLAGS[k] for k in given] + (["--global"] if args.global_ else [])
            raise CliError(f"Expected --best METRIC with {', '.join(flags)}; received no --best.")
        return {}
    allowed = selection.OBJECTIVES[metric][0]
    wrong = [PARAM_FLAGS[k] for k in given if k not in allowed]
    if wrong:
        expected = ", ".join(PARAM_FLAGS[k] for k in allowed) or "no parameter"
        raise CliError(f"Expected {expected} for metric {metric!r}; received {', '.join(wrong)}.")
    try:
        selection.check_objective(metric, given)
    except ValueError as e:
        raise CliError(str(e)) from None
    return given


# -- commands -------------------------------------------------------------------------------------


def _header(run, tag, step, counts, rule):
    kind = "single-label multi-class" if counts.multiclass else "multi-label / binary"
    return [("run", run), ("tag", tag), ("step", str(step)), ("thresholds", rule),
            ("n", f"{counts.n} {counts.sample_unit}{' (weighted)' if counts.weighted else ''}"),
            ("labels", f"{counts.num_labels} ({kind}; scores read as "
                       f"{'logits' if counts.from_logits else 'probabilities'})")]


def cmd_report(args, out):
    from tb_metrics_plugin import report, selection

    params = objective_params(args, args.best)
    run, tag, step, counts = load(args.path, args.run, args.tag, args.step)
    try:
        r = report.classification_report(
            counts, threshold=args.threshold, metric=args.best, per_label=not args.global_,
            zero_division=args.zero_division, **params)
    except ValueError as e:
        raise CliError(str(e)) from None
    if args.best is None:
        used = selection.shortest_float32(r["rule"]["threshold"])
        rule = f"{used} for every label"
        if args.threshold is not None and used != args.threshold:
            rule += f" (the stored threshold nearest {args.threshold})"
    else:
        shown = ", ".join(f"{k}={v:g}" for k, v in r["rule"]["params"].items())
        what = f"{args.best}({shown})" if shown else args.best
        if args.global_:
            shared = r["averages"][0]["threshold"]
            rule = f"{selection.shortest_float32(shared)} for every label, best micro {what}"
        else:
            rule = f"best {what} per label"
        if r["fallback"]:
            rule += (f"; labels with no qualifying threshold use {report.FALLBACK_THRESHOLD}, "
                     f"as BestThresholds.predict does: {listing(r['fallback'], 6)}")
    header = _header(run, tag, step, counts, rule)
    header += [(k.replace("_", " "), f"{v:.{args.digits}f}") for k, v in r["accuracy"].items()]
    columns = ["label"]
    if args.best is not None:
        columns.append("threshold")
    columns += ["precision", "recall", "f1-score", "support", "average_precision", "roc_auc"]
    if args.best in ("fbeta", "cost"):  # the other objectives are a column already
        columns.append(args.best)
    rows = r["rows"] + r["averages"]
    document = dict(run=run, tag=tag, step=step, **r)
    out.write(report.render(args.format, header, columns, rows, digits=args.digits,
                            breaks=(len(r["rows"]),), document=document))


def cmd_thresholds(args, out):
    from tb_metrics_plugin import selection

    params = objective_params(args, args.metric)
    run, tag, step, counts = load(args.path, args.run, args.tag, args.step)
    try:
        best = counts.to_best_thresholds(args.metric, per_label=not args.global_, step=step,
                                         run=run, tag=tag, **params)
    except ValueError as e:
        raise CliError(str(e)) from None
    if args.output is None:
        import json

        out.write(json.dumps(best.to_json(), indent=1) + "\n")
        return
    try:
        selection.save_best_thresholds(args.output, best)
    except OSError as e:
        raise CliError(f"Expected a writable file for -o; could not write {args.output!r}: "
                       f"{e.strerror or e}.") from None
    chosen = int((best.thresholds == best.thresholds).sum())
    out.write(f"Wrote {args.output}: {args.metric} thresholds for {chosen} of "
              f"{len(best.labels)} labels (run {run}, tag {tag}, step {step}).\n")


def cmd_runs(args, out):
    from tb_metrics_plugin import report, selection

    if not os.path.isdir(args.logdir):
        what = "is a file" if os.path.exists(args.logdir) else "does not exist"
        raise CliError(f"Expected LOGDIR to be a directory; {args.logdir!r} {what}.")
    rows = []
    logdir.choose_reader(args.logdir, recursive=True)
    for run in logdir.find_runs(args.logdir):
        try:
            data = logdir.read(os.path.join(args.logdir, run))
        except CliError as e:
            logging.getLogger(__name__).warning("skipping run %s: %s", run, e)
            continue
        for tag, steps in data.items():
            last = steps[-1][1]
            t = last.thresholds
            rows.append({
                "run": run, "tag": tag, "steps": len(steps), "first_step": steps[0][0],
                "latest_step": steps[-1][0], "labels": last.num_labels,
                "thresholds": len(t),
                "range": f"{selection.shortest_float32(t[0])}..{selection.shortest_float32(t[-1])}",
                "from_logits": last.from_logits, "multiclass": last.multiclass,
                "label_names": listing(last.label_names, 6),
                "all_label_names": list(last.label_names),
            })
    if not rows:
        raise CliError(f"Expected tb_metrics counts under {args.logdir!r} (written by "
                       "CountsCallback or tbm.write_counts); found none.")
    columns = ["run", "tag", "steps", "first_step", "latest_step", "labels", "thresholds",
               "range", "from_logits", "multiclass", "label_names"]
    document = {"runs": [{**{k: r[k] for k in columns if k != "label_names"},
                          "label_names": r["all_label_names"]} for r in rows]}
    out.write(report.render(args.format, [], columns, rows, document=document))


COMMANDS = {"runs": cmd_runs, "report": cmd_report, "thresholds": cmd_thresholds}


def main(argv=None, stdout=None, stderr=None):
    """Runs `tb-metrics`; returns the exit status (0, or 2 for bad input).

    ``argv=None`` reads ``sys.argv`` (the console script); tests pass a list.
    """
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    if argv is None:
        logdir.choose_reader_on_first_read()
        argv = sys.argv[1:]
    handler = logging.StreamHandler(stderr)
    handler.setFormatter(logging.Formatter(f"{PROG}: warning: %(message)s"))
    root = logging.getLogger("tb_metrics_plugin")
    root.addHandler(handler)
    try:
        args = build_parser().parse_args(argv)
        COMMANDS[args.command](args, stdout)
        stdout.flush()
    except CliError as e:
        stderr.write(f"{PROG}: error: {e}\n")
        return 2
    except BrokenPipeError:  # `tb-metrics report ... | head`: stop quietly
        if stdout is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:  # an unwritable -o, an unreadable file
        stderr.write(f"{PROG}: error: {e}\n")
        return 2
    except SystemExit as e:  # --help
        return e.code if isinstance(e.code, int) else 0
    finally:
        root.removeHandler(handler)
        logdir.choose_reader_on_first_read(False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
