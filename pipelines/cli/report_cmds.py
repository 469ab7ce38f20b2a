"""``prm-factory report RUN_DIR``: calibration and balance plots plus an HTML summary of a label run."""
from __future__ import annotations


def cmd_report(args) -> None:
    from pipelines.report import write_label_report

    index = write_label_report(args.run_dir, bins=args.bins)
    print(index.resolve())


def add_subcommands(sub) -> None:
    p = sub.add_parser("report", help="render a label run's calibration/balance plots and an HTML summary",
                       description="Write RUN_DIR/report/{calibration.png,balance.png,index.html} from the "
                                   "labels, stats.json and rejections of a `prm-factory label` run, and print "
                                   "the path of index.html.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="output directory of `prm-factory label`")
    p.add_argument("--bins", type=int, default=10, help="soft-label bins of the reliability diagram (default 10)")
    p.set_defaults(func=cmd_report)
