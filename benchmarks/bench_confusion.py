"""Confusion-matrix view in Chromium: the redraw after a step-slider move at 1,000 classes.

Writes one single-label run of C classes (default 1,000; class ids + softmax scores, so the
counts keep the C x C matrix) over S steps, serves it with a real ``tensorboard`` and opens the
"Confusion matrix" tab in Debian's Chromium (Playwright). Every step is loaded once (the view
keeps the parsed matrices of recent steps), then ``window.__tbmBench.confusionStep(i)`` times
the synchronous redraw of a slider move with ``performance.now()``: colour the C*C cells into
an ImageData (one fill for the zero cells, then the non-zero ones at their reordered place), put
it on the matrix canvas (scaled by CSS, no smoothing), the KPIs, the legend and the list of top
confusions. A loaded step keeps what was derived from it (normalised values, their non-zero
cells, the top confusions); the rows "values recomputed" drop that first, so they time the first
draw of a loaded step: normalise, difference (if asked), scan for non-zero cells, top
confusions, then the draw; "with a forced layout" adds the style and
layout of what the move changed (KPIs, top-confusion list) by reading ``offsetHeight``. Also
reported: the `confusion` route's time and
bytes for one step.

Goal: redraw within a 16 ms frame.

    python benchmarks/bench_confusion.py                  # 1,000 classes, 6 steps
    python benchmarks/bench_confusion.py --classes 2000
"""
import argparse
import gzip
import os
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from demo import fixtures  # noqa: E402
from tb_metrics_plugin import summary  # noqa: E402
from tests.tb_server import TensorBoardServer, wait_until  # noqa: E402
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, TAG  # noqa: E402

MOVE_JS = """([moves, fresh]) => {
  const b = window.__tbmBench;
  const S = b.confusionSteps;
  const times = [];
  const draws = [];
  const laid = [];
  for (let k = 0; k < moves; k++) {
    const t0 = performance.now();
    const ms = b.confusionStep(k % S, fresh);
    if (ms !== null) {
      times.push(ms);
      draws.push(b.confusionDrawMs);
      void document.body.offsetHeight; // style and layout of what the move changed
      laid.push(performance.now() - t0);
    }
  }
  return [times, draws, laid];
}"""


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--moves", type=int, default=120)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    logdir = tempfile.mkdtemp(prefix="tbm-bench-cm-")
    try:
        t0 = time.perf_counter()
        fixtures.write_multiclass_runs(logdir, runs=("bench/validation",),
                                       num_classes=args.classes, steps=args.steps,
                                       n=args.samples, thresholds=11)
        summary.close_all()
        print(f"wrote {args.classes} classes x {args.steps} steps in "
              f"{time.perf_counter() - t0:.1f} s")
        flags = ["--samples_per_plugin=tb_metrics=0", "--reload_interval=1"]
        with TensorBoardServer(logdir, *flags) as server, sync_playwright() as p:
            wait_until(lambda: len(server.get_json("/data/plugin/tb_metrics/tags")) == 1,
                       timeout=120)
            route = f"/data/plugin/tb_metrics/confusion?run=bench/validation&tag={TAG}&step=0"
            t0 = time.perf_counter()
            status, _, body = server.get(route, headers={"Accept-Encoding": "gzip"})
            first = time.perf_counter() - t0
            assert status == 200, body[:300]
            raw = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
            print(f"confusion route, one step: {first * 1000:.0f} ms first request, "
                  f"{len(body):,} bytes gzipped, {len(raw):,} bytes of JSON")

            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            ctx = b.new_context(viewport={"width": 1400, "height": 1100})
            ctx.add_init_script("try { localStorage.setItem('tbm.pollMs', 'off'); "
                                "localStorage.removeItem('tbm.ui'); } catch (e) {}")
            pg = ctx.new_page()
            pg.goto(server.url + "/#tb_metrics")
            frame = pg.frame_locator("iframe")
            frame.locator("#tbm-root[data-ready='1']").wait_for(timeout=60000)
            frame.locator("[data-tab='confusion']").click()
            plugin = pg.frame(url=lambda u: "plugin_entry.html" in u)
            wait_until(lambda: plugin.evaluate("window.__tbmBench.confusionSteps") == args.steps,
                       timeout=60)
            for i in range(args.steps):  # load (and parse) every step once
                plugin.evaluate(f"window.__tbmBench.confusionStep({i})")
                wait_until(lambda: plugin.evaluate(
                    f"window.__tbmBench.confusionStep({i}) !== null"), timeout=60)
            plugin.evaluate(MOVE_JS, [args.moves, False])  # warm-up (JIT)
            rows = []
            for name, setup in [
                ("counts, label order", []),
                ("rows (recall), clustered", ["Rows (recall)", "Clustered"]),
                ("mistakes only, columns (precision)", ["Columns (precision)", "Mistakes only"]),
            ]:
                for label in setup:
                    if label == "Mistakes only":
                        frame.locator("[data-offdiag]").check()
                    else:
                        frame.get_by_role("button", name=label).click()
                for fresh in (False, True):
                    times, draws, laid = plugin.evaluate(MOVE_JS, [args.moves, fresh])
                    label = name + (", values recomputed" if fresh else "")
                    rows.append((label, statistics.median(times), pct(times, 0.95), max(times),
                                 statistics.median(draws), statistics.median(laid), len(times)))
            b.close()
        print(f"\nstep-slider redraw, {args.classes} classes ({args.classes ** 2:,} cells), "
              "Chromium headless:")
        print("| matrix | slider move median | p95 | max | of which the canvas draw (median) "
              "| with a forced layout (median) | moves |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, med, p95, mx, draw, laid, n in rows:
            print(f"| {name} | {med:.1f} ms | {p95:.1f} ms | {mx:.1f} ms | {draw:.1f} ms "
                  f"| {laid:.1f} ms | {n} |")
        print("\ngoal: within a 16 ms frame")
    finally:
        summary.close_all()
        shutil.rmtree(logdir, ignore_errors=True)


if __name__ == "__main__":
    main()
