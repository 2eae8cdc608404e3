"""The dashboard in a real browser: Debian's Chromium (Playwright, sync API) against a real
``tensorboard`` process serving runs written with `tb_metrics_plugin.summary.write_counts`.

Screenshots of every test land in test-artifacts/ (gitignored). The README's screenshots are
made with ``python -m tests.test_browser --screenshots docs/screenshots``.
"""
import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time

import numpy as np
import pytest

import tb_metrics_plugin as tbm
from tb_metrics_plugin import summary

from tests.tb_server import TensorBoardServer, wait_until

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARTIFACTS = os.path.join(ROOT, "test-artifacts")
TAG = "threshold_counts"
POLL_MS = 400  # the dashboard's poll interval in these tests (localStorage "tbm.pollMs")
TB_FLAGS = ["--samples_per_plugin=tb_metrics=0", "--reload_interval=1"]

XSS_LABEL = '<img src=x onerror="window.__tbmXss=1">'
XSS_RUN = "zz<b onmouseover=alert(1)>run</b>"


# ---------------------------------------------------------------------------------------------
# Data: sparse multi-label scores whose quality improves with the step, some labels bad


def label_names(num_labels):
    base = ["person", "car", "bicycle", "dog", "cat", "traffic light", "bus", "truck", "bird",
            "boat", "bench", "umbrella", "backpack", "handbag", "skateboard", "kite", "bottle",
            "cup", "chair", "couch", "potted plant", "laptop", "phone", "book", "clock", "vase",
            "scissors", "teddy bear", "toothbrush", "hair drier"]
    return [base[i] if i < len(base) else f"label_{i:05d}" for i in range(num_labels)]


def synth_counts(seed, num_labels, step, num_steps, n=600, thresholds=101, from_logits=False,
                 names=None, train=False, skill_scale=1.0):
    """Counts of a plausible multi-label model at ``step`` of ``num_steps``.

    Label prevalence spans 0.5%..35% (sparse); a few labels stay near chance (bad labels); the
    separation grows with the step; train data separates a little better than validation.
    """
    rng = np.random.default_rng(seed)
    lab = np.random.default_rng(1234 + num_labels)  # per-label traits, same for every run/step
    prevalence = np.exp(lab.uniform(np.log(0.005), np.log(0.35), size=num_labels))
    skill = lab.uniform(1.6, 4.2, size=num_labels)
    bad = lab.random(num_labels) < 0.15
    skill[bad] = lab.uniform(0.1, 0.7, size=bad.sum())
    progress = 1 - math.exp(-(step + 1) / max(1.0, num_steps / 3))
    sep = skill * skill_scale * (0.35 + 0.65 * progress) * (1.25 if train else 1.0)
    y = rng.random((n, num_labels)) < prevalence
    logit = rng.normal(size=(n, num_labels)) + np.log(prevalence / (1 - prevalence)) * 0.6
    logit = logit + y * sep * 1.6
    scores = logit if from_logits else 1 / (1 + np.exp(-logit))
    return tbm.confusion_counts(y, scores.astype(np.float32), thresholds=thresholds,
                                from_logits=from_logits, label_names=names or label_names(num_labels))


def write_run(logdir, run, num_labels, steps, seed=0, thresholds=101, from_logits=False,
              names=None, tag=TAG, n=600, skill_scale=1.0):
    """Writes ``steps`` steps of one run; returns {step: Counts}."""
    out = {}
    train = run.endswith("train")
    for step in range(steps):
        c = synth_counts(seed * 1000 + step, num_labels, step, steps, n=n, thresholds=thresholds,
                         from_logits=from_logits, names=names, train=train,
                         skill_scale=skill_scale)
        summary.write_counts(os.path.join(logdir, run), tag, c, step, wall_time=1.7e9 + 60 * step)
        out[step] = c
    return out


def write_readme_runs(logdir):
    """30 sparse labels, 10 epochs, two runs with train and validation."""
    for i, run in enumerate(["run1/train", "run1/validation", "run2/train", "run2/validation"]):
        run2 = run.startswith("run2")  # a better model, trained on logits
        write_run(logdir, run, 30, 10, seed=i + (7 if run2 else 0), from_logits=run2, n=2000,
                  skill_scale=1.3 if run2 else 1.0)
    summary.close_all()


def write_test_runs(logdir):
    """The runs the tests read: {run: {step: Counts}} (the live test adds steps)."""
    names = label_names(11) + [XSS_LABEL]
    data = {}
    for i, run in enumerate(["exp/train", "exp/validation"]):
        data[run] = write_run(logdir, run, 12, 3, seed=i + 1, thresholds=21, names=names)
    data["logit/validation"] = write_run(logdir, "logit/validation", 12, 2, seed=5, thresholds=21,
                                         from_logits=True, names=names)
    data[XSS_RUN + "/validation"] = write_run(logdir, XSS_RUN + "/validation", 12, 1, seed=6,
                                              thresholds=21, names=names)
    data[LOGITS_AS_PROBS] = write_logits_as_probabilities(logdir, LOGITS_AS_PROBS)
    summary.close_all()
    write_future_tag(os.path.join(logdir, "future"))
    return data


LOGITS_AS_PROBS = "logits_as_probs/validation"


def write_logits_as_probabilities(logdir, run):
    """A run whose logits were counted with from_logits=False (the warning banner's case)."""
    import warnings

    rng = np.random.default_rng(11)
    y = rng.random((300, 5)) < 0.3
    z = rng.normal(size=(300, 5)) * 2 + 2.5 * y - 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        c = tbm.confusion_counts(y, z, thresholds=21, label_names=[f"head_{i}" for i in range(5)])
    summary.write_counts(os.path.join(logdir, run), TAG, c, 0, wall_time=1.7e9)
    return {0: c}


def write_future_tag(run_dir):
    """A tag written by a (pretend) newer tb_metrics_plugin: listed by the `warnings` route."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.util import tensor_util

    from tb_metrics_plugin import metadata

    c = synth_counts(0, 2, 0, 1, n=20, thresholds=3)
    meta = metadata.create_summary_metadata(c)
    content = json.loads(meta.plugin_data.content)
    meta.plugin_data.content = json.dumps(dict(content, version=99)).encode()
    value = summary_pb2.Summary.Value(tag="future_counts", metadata=meta,
                                      tensor=tensor_util.make_tensor_proto(metadata.counts_to_tensor(c)))
    writer = EventFileWriter(run_dir)
    writer.add_event(event_pb2.Event(step=0, wall_time=1.7e9, summary=summary_pb2.Summary(value=[value])))
    writer.close()


# ---------------------------------------------------------------------------------------------
# Numbers as the dashboard prints them


def js_fixed(v, digits=3):
    """``Number.prototype.toFixed`` (ties away from zero on the exact binary value), or the dash."""
    from decimal import ROUND_HALF_UP, Decimal

    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "\u2014"
    return str(Decimal(float(v)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def js_threshold(t):
    """format.js fmtThreshold: the shortest of 2..4 decimals that names the float32 threshold."""
    if t is None or math.isnan(t):
        return "\u2014"
    for d in (2, 3, 4):
        s = js_fixed(t, d)
        if abs(float(s) - t) < 5e-7:
            return s
    return js_fixed(t, 4)


def js_count(v):
    return f"{int(v):,}" if float(v).is_integer() else f"{v:,.2f}"


# ---------------------------------------------------------------------------------------------
# Fixtures


def require_chromium():
    """Skips without Chromium on a developer's machine; CI (CI=true) must never skip."""
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + ": CI must run the browser tests")
        pytest.skip(message)


@pytest.fixture(scope="module")
def data_and_servers(tmp_path_factory):
    require_chromium()
    logdir = tmp_path_factory.mktemp("logs")
    empty = tmp_path_factory.mktemp("empty")
    data = write_test_runs(str(logdir))
    servers = [TensorBoardServer(str(logdir), *TB_FLAGS).start(),
               TensorBoardServer(str(empty), *TB_FLAGS).start()]
    try:
        for s in servers:
            s.wait_ready()
        # the data loader may still be reading: wait until every run is listed
        wait_until(lambda: len(servers[0].get_json("/data/plugin/tb_metrics/tags")) == len(data)
                   and servers[0].get_json("/data/plugin/tb_metrics/warnings")["warnings"],
                   timeout=60, message="all runs listed")
        yield {"data": data, "logdir": str(logdir), "server": servers[0], "empty": servers[1]}
    finally:
        for s in servers:
            s.stop()
        summary.close_all()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


INIT_SCRIPT = "try { localStorage.setItem('tbm.pollMs', '%d'); } catch (e) {}" % POLL_MS


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.add_init_script(INIT_SCRIPT)
    pg = context.new_page()
    errors = []
    pg.on("console", lambda m: errors.append(f"console.{m.type}: {m.text} ({m.location.get('url')})")
          if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    pg.tbm_errors = errors
    yield pg
    os.makedirs(ARTIFACTS, exist_ok=True)
    try:
        pg.screenshot(path=os.path.join(ARTIFACTS, request.node.name + ".png"), full_page=True)
    finally:
        context.close()
    assert errors == [], "errors in the browser console:\n" + "\n".join(errors)


def open_dashboard(pg, server):
    pg.goto(server.url + "/#tb_metrics")
    frame = pg.frame_locator("iframe")
    frame.locator("#tbm-root[data-ready='1']").wait_for(timeout=30000)
    return frame


def plugin_frame(pg):
    return pg.frame(url=lambda u: "plugin_entry.html" in u)


def wait_step(frame, step, timeout=20000):
    frame.locator(f"#tbm-root[data-step='{step}']").wait_for(timeout=timeout)


def table_rows(pg):
    """[(name, support, precision, recall, f1, ap, roc_auc, best_t, best_value)] of the rendered
    table rows."""
    return plugin_frame(pg).evaluate("""() =>
        [...document.querySelectorAll('.tbm-row')]
          .filter((r) => r.style.display !== 'none')
          .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
          .map((r) => {
            const c = [...r.children];
            return [c[0].firstChild.data, ...c.slice(1).map((x) => x.querySelector('em')
              ? x.querySelector('em').textContent : x.textContent)];
          })""")


def expected_rows(counts, ti, zero_division=0, metric="f1", **params):
    p = counts.precision(zero_division=zero_division)[:, ti]
    r = counts.recall(zero_division=zero_division)[:, ti]
    f = counts.f1(zero_division=zero_division)[:, ti]
    ap, auc = counts.average_precision(average=None), counts.roc_auc(average=None)
    best = counts.to_best_thresholds(metric, **params)
    rows = {}
    for l, name in enumerate(counts.label_names):
        value = (js_fixed(best.scores[l]) if metric != "cost" else
                 "\u2014" if math.isnan(best.scores[l]) else js_count(round(best.scores[l], 2)))
        rows[name] = [name, js_count(counts.support[l]), js_fixed(p[l]), js_fixed(r[l]),
                      js_fixed(f[l]), js_fixed(ap[l]), js_fixed(auc[l]),
                      js_threshold(best.thresholds[l]), value]
    return rows


def kpi(frame, key):
    return frame.locator(f"[data-kpi='{key}'] .v").text_content()


def check_explorer_numbers(pg, frame, counts, ti):
    """KPIs, chart legends and every table row equal the Python API's numbers at index ti."""
    assert kpi(frame, "micro_f1") == js_fixed(counts.f1("micro")[ti])
    assert kpi(frame, "macro_f1") == js_fixed(counts.f1("macro")[ti])
    assert kpi(frame, "weighted_f1") == js_fixed(counts.f1("weighted")[ti])
    assert kpi(frame, "binary_accuracy") == js_fixed(counts.binary_accuracy()[ti])
    assert kpi(frame, "exact_match_accuracy") == js_fixed(counts.exact_match_accuracy()[ti])
    assert js_fixed(100 * counts.all_negative_accuracy(), 1) + "%" in frame.locator(
        "[data-kpi='binary_accuracy'] .s").text_content()
    legend = frame.locator("[data-chart='prf'] + .tbm-legend b").all_text_contents()
    assert legend == [js_fixed(v[ti]) for v in (
        counts.f1("micro"), counts.precision("micro"), counts.recall("micro"),
        counts.f1("macro"), counts.precision("macro"), counts.recall("macro"))]
    acc = frame.locator("[data-chart='accuracy'] + .tbm-legend b").all_text_contents()
    assert acc == [js_fixed(counts.binary_accuracy()[ti]), js_fixed(counts.exact_match_accuracy()[ti]),
                   js_fixed(counts.all_negative_accuracy()), js_fixed(counts.all_negative_exact_match())]
    rows = table_rows(pg)
    want = expected_rows(counts, ti)
    assert len(rows) == counts.num_labels
    assert {r[0]: r for r in rows} == want
    # sorted by F1 at the slider, worst first (ties: label order)
    f1 = counts.f1()[:, ti]
    assert [r[0] for r in rows] == [counts.label_names[i] for i in np.argsort(f1, kind="stable")]


def marker_fraction(pg, chart):
    """Horizontal position of the threshold marker in a chart, as a fraction of the plot width."""
    return plugin_frame(pg).evaluate("""(chart) => {
        const over = document.querySelector(`[data-chart='${chart}'] .u-over`);
        const m = over.querySelector('.tbm-marker');
        return parseFloat(m.style.left) / over.clientWidth; }""", chart)


def set_slider(pg, index):
    plugin_frame(pg).evaluate("""(i) => {
        const s = document.querySelector('input[type=range]');
        s.value = String(i);
        s.dispatchEvent(new Event('input', { bubbles: true })); }""", index)


# ---------------------------------------------------------------------------------------------
# Tests


def test_tab_renders_with_python_numbers(page, data_and_servers):
    d = data_and_servers
    frame = open_dashboard(page, d["server"])
    assert frame.locator("[data-picker='run']").input_value() == "exp/validation"
    assert frame.locator("[data-picker='tag']").input_value() == TAG
    wait_step(frame, 2)
    counts = d["data"]["exp/validation"][2]
    ti = counts.threshold_index(0.5)
    assert frame.locator(".tbm-tval").text_content() == "t = 0.50"
    assert "step 2" in frame.locator("[data-kpi='data'] .v").text_content()
    check_explorer_numbers(page, frame, counts, ti)
    assert abs(marker_fraction(page, "prf") - 0.5) < 0.01
    assert frame.locator("[data-picker='step'] option").first.text_content() == "latest (2)"
    href = frame.locator("a.tbm-btn[download]").get_attribute("href")
    assert href.startswith("./best_thresholds?") and "step=2" in href
    # a tag this version cannot read is reported, not hidden
    warn = frame.locator("[data-warnings]")
    warn.wait_for()
    assert "future / future_counts" in warn.text_content() and "newer" in warn.text_content()


def test_slider_updates_table_and_charts(page, data_and_servers):
    d = data_and_servers
    frame = open_dashboard(page, d["server"])
    wait_step(frame, 2)
    counts = d["data"]["exp/validation"][2]
    for ti in (6, 15, 0, 20):
        set_slider(page, ti)
        t = float(counts.thresholds[ti])
        assert frame.locator(".tbm-tval").text_content() == f"t = {js_threshold(t)}"
        check_explorer_numbers(page, frame, counts, ti)
        assert abs(marker_fraction(page, "prf") - t) < 0.01
        assert abs(marker_fraction(page, "accuracy") - t) < 0.01
    # the keyboard moves it one threshold at a time
    frame.locator("input[type=range][aria-label='Decision threshold']").focus()
    page.keyboard.press("ArrowLeft")
    check_explorer_numbers(page, frame, counts, 19)
    # sorting by name, then filtering by name
    frame.locator(".tbm-thead button", has_text="Label").click()
    names = [r[0] for r in table_rows(page)]
    assert names == sorted(names, key=str.lower) and len(names) == 12
    frame.locator("input[type=search]").fill("car")
    assert [r[0] for r in table_rows(page)] == ["car"]
    assert "1 of 12 labels" in frame.locator(".tbm-tablebar").first.text_content()
    # rows select with a click, then with the arrow keys
    frame.locator("input[type=search]").fill("")
    names = [r[0] for r in table_rows(page)]
    frame.locator(".tbm-row").filter(has_text=names[0]).first.click()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert frame.locator(".tbm-row.sel .l").text_content().startswith(names[2])
    assert names[2] in frame.locator("[data-chart='pr'] + .tbm-legend").text_content()


def test_run_and_step_pickers(page, data_and_servers):
    d = data_and_servers
    frame = open_dashboard(page, d["server"])
    wait_step(frame, 2)
    frame.locator("[data-picker='run']").select_option("logit/validation")
    wait_step(frame, 1)
    counts = d["data"]["logit/validation"][1]
    assert frame.locator(".tbm-tval").text_content() == "t = 0.50  (logit 0.000)"
    check_explorer_numbers(page, frame, counts, counts.threshold_index(0.5))
    set_slider(page, 4)
    logit = float(np.float32(math.log(0.2 / 0.8)))
    assert frame.locator(".tbm-tval").text_content() == f"t = 0.20  (logit \u2212{abs(logit):.3f})"
    frame.locator("[data-picker='run']").select_option("exp/validation")
    wait_step(frame, 2)
    frame.locator("[data-picker='step']").select_option("0")
    wait_step(frame, 0)
    check_explorer_numbers(page, frame, d["data"]["exp/validation"][0], 4)
    assert "step=0" in frame.locator("a.tbm-btn[download]").get_attribute("href")
    frame.locator("[data-picker='step']").select_option("")
    wait_step(frame, 2)


def test_html_names_stay_text(page, data_and_servers):
    d = data_and_servers
    frame = open_dashboard(page, d["server"])
    wait_step(frame, 2)
    names = [r[0] for r in table_rows(page)]
    assert XSS_LABEL in names
    run = XSS_RUN + "/validation"
    assert run in frame.locator("[data-picker='run'] option").all_text_contents()
    frame.locator("[data-picker='run']").select_option(run)
    wait_step(frame, 0)
    frame.locator(".tbm-row", has_text="onerror").first.click()
    assert XSS_LABEL in frame.locator("[data-chart='pr'] + .tbm-legend").text_content()
    frame.locator("[data-tab='labels']").click()
    frame.locator("[data-tab='compare']").click()
    frame.locator(".tbm-summary tbody tr").nth(3).wait_for()
    assert run in frame.locator(".tbm-runs").text_content()
    for f in page.frames:
        assert f.evaluate("""() => document.querySelectorAll("img[src='x'], [onerror], [onmouseover]")
            .length""") == 0
        assert f.evaluate("window.__tbmXss") is None


def test_labels_view_ranks_and_selects(page, data_and_servers):
    d = data_and_servers
    frame = open_dashboard(page, d["server"])
    wait_step(frame, 2)
    counts = d["data"]["exp/validation"][2]
    ti = counts.threshold_index(0.5)
    frame.locator("[data-tab='labels']").click()
    f1 = counts.f1()[:, ti]
    order = np.argsort(f1, kind="stable")
    summary_text = frame.locator("[data-summary='labels']").text_content()
    assert f"{int((f1 < 0.5).sum())} of {counts.num_labels} labels have F1 below 0.5" in summary_text
    assert f"macro) {js_fixed(counts.f1('macro')[ti])}" in summary_text
    chips = frame.locator(".tbm-chip").all_text_contents()
    assert chips[0].startswith(counts.label_names[order[0]])
    # the heatmap is drawn: coloured cells right of the bars
    wait_until(lambda: plugin_frame(page).evaluate("""() => {
        const c = document.querySelector('.tbm-rank canvas');
        const dpr = window.devicePixelRatio || 1;
        const px = c.getContext('2d').getImageData(Math.round(392 * dpr), Math.round(43 * dpr), 1, 1).data;
        return px[3] > 0 && !(px[0] > 240 && px[1] > 240 && px[2] > 240); }"""),
        timeout=10, message="heatmap cells")
    # hover shows the label (as text); click selects it everywhere
    canvas = frame.locator(".tbm-rank canvas")
    canvas.hover(position={"x": 100, "y": 34 + 18 * 1 + 9})
    tip = frame.locator(".tbm-tip")
    assert tip.is_visible()
    worst2 = counts.label_names[order[1]]
    assert tip.text_content().startswith(worst2)
    canvas.click(position={"x": 100, "y": 34 + 18 * 1 + 9})
    frame.locator("[data-tab='explorer']").click()
    assert frame.locator(".tbm-row.sel .l").text_content().startswith(worst2)
    assert worst2 in frame.locator("[data-chart='pr'] + .tbm-legend").text_content()
    # ranked at each label's best threshold
    frame.locator("[data-tab='labels']").click()
    frame.get_by_role("button", name="At each label's best").click()
    assert "best threshold" in frame.locator("[data-view='labels'] h3").first.text_content()
    best = counts.to_best_thresholds().scores
    first = counts.label_names[np.argsort(np.where(np.isnan(best), np.inf, best), kind="stable")[0]]
    assert frame.locator(".tbm-chip").first.text_content().startswith(first)


def test_compare_view_runs_and_modes(page, data_and_servers):
    d = data_and_servers
    frame = open_dashboard(page, d["server"])
    wait_step(frame, 2)
    frame.locator("[data-tab='compare']").click()
    rows = frame.locator(".tbm-summary tbody tr")
    rows.nth(len(d["data"]) - 1).wait_for()
    assert rows.count() == len(d["data"])

    def check(mode):
        for run, steps in d["data"].items():
            last = max(steps)
            c = steps[last]
            if mode == "slider":
                micro = c.f1("micro")[c.threshold_index(0.5)]
                macro = c.f1("macro")[c.threshold_index(0.5)]
            else:
                micro, macro = np.nanmax(c.f1("micro")), np.nanmax(c.f1("macro"))
            cells = plugin_frame(page).evaluate(
                "(run) => [...document.querySelectorAll('.tbm-summary tbody tr')]"
                ".find((tr) => tr.dataset.run === run).querySelectorAll('td').length", run)
            assert cells == 10
            texts = frame.locator(".tbm-summary tbody tr", has_text=run).first.locator("td").all_text_contents()
            assert texts[1:4] == [str(last), js_fixed(micro), js_fixed(macro)], (run, mode)

    # every F1 value drawn lies inside its chart's y-axis (shared by the three F1 charts),
    # also after the values change (a new mode, a slider move): no line clipped off the chart
    inside = """() => [...document.querySelectorAll("[data-view='compare'] .uplot")]
        .map((el) => el.parentElement.tbmChart).filter((c) => c)
        .every((c) => { const u = c.u; const ys = u.data.slice(1).flat().filter((v) => v != null);
          return ys.every((v) => v >= u.scales.y.min - 1e-9 && v <= u.scales.y.max + 1e-9); })"""
    check("slider")
    assert plugin_frame(page).evaluate(inside)
    frame.get_by_role("button", name="At best thresholds").click()
    frame.locator(".tbm-view[data-view='compare'] .tbm-small", has_text="own best threshold").wait_for()
    check("best")
    assert plugin_frame(page).evaluate(inside), "a value drawn outside its chart's y-axis"
    # ten charts, one line per run
    assert plugin_frame(page).evaluate(
        "document.querySelectorAll(\"[data-view='compare'] .uplot\").length") == 10
    # unticking a run removes it
    frame.locator(".tbm-runs input[data-run='exp/train']").uncheck()
    wait_until(lambda: rows.count() == len(d["data"]) - 1, timeout=10, message="run removed")


def test_download_best_thresholds(page, data_and_servers, tmp_path):
    d = data_and_servers
    frame = open_dashboard(page, d["server"])
    wait_step(frame, 2)
    with page.expect_download() as info:
        frame.locator("a.tbm-btn[download]").click()
    dl = info.value
    # the server's Content-Disposition name wins over the link's download attribute
    assert dl.suggested_filename.startswith("best_thresholds") and dl.suggested_filename.endswith(".json")
    path = tmp_path / "best.json"
    dl.save_as(str(path))
    got = tbm.load_best_thresholds(str(path))
    want = d["data"]["exp/validation"][2].to_best_thresholds()
    assert got.labels == want.labels
    # thresholds are written as the shortest decimal of their float32 (0.8, not 0.800000011920929)
    np.testing.assert_array_equal(got.thresholds.astype(np.float32), want.thresholds.astype(np.float32))
    np.testing.assert_array_equal(got.scores, want.scores)


def test_new_step_appears_without_reload(page, data_and_servers):
    d = data_and_servers
    frame = open_dashboard(page, d["server"])
    wait_step(frame, 2)
    renders = frame.locator("#tbm-root").get_attribute("data-renders")
    run = "exp/validation"
    c = synth_counts(99, 12, 3, 4, thresholds=21, names=d["data"][run][0].label_names)
    summary.write_counts(os.path.join(d["logdir"], run), TAG, c, 3, wall_time=1.7e9 + 999)
    d["data"][run][3] = c
    wait_step(frame, 3, timeout=30000)  # TensorBoard reloads every 1 s, the page polls every 0.4 s
    assert frame.locator("#tbm-root").get_attribute("data-renders") != renders
    check_explorer_numbers(page, frame, c, c.threshold_index(0.5))
    frame.locator("[data-picker='step'] option[value='3']").wait_for(state="attached")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1


def test_empty_state_shows_the_two_lines(page, data_and_servers):
    pg = page
    pg.goto(data_and_servers["empty"].url + "/#tb_metrics")
    frame = pg.frame_locator("iframe")
    empty = frame.locator("[data-empty]")
    empty.wait_for(timeout=30000)
    text = empty.text_content()
    assert "metrics=[tbm.ThresholdCounts(" in text
    assert 'callbacks=[tbm.CountsCallback("logs/run1")]' in text
    assert frame.locator(".tbm-main").is_hidden()


def test_js_fixtures_are_current():
    """The node tests' fixtures (tests/js/fixtures) are what the Python metrics code computes now."""
    import subprocess

    script = os.path.join(ROOT, "tests", "js", "make_fixtures.py")
    res = subprocess.run([sys.executable, script, "--check"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr + res.stdout


# ---------------------------------------------------------------------------------------------
# Explorer additions (issues 9-11): Keras accuracy, warnings, zero_division, objectives, ranking,
# distributions, calibration, runs overlaid


def test_keras_accuracy_card_and_baselines(page, data_and_servers):
    d = data_and_servers
    frame = open_dashboard(page, d["server"])
    last = max(d["data"]["exp/validation"])  # test_new_step_appears_without_reload adds one
    wait_step(frame, last)
    counts = d["data"]["exp/validation"][last]
    assert kpi(frame, "keras_accuracy") == js_fixed(counts.categorical_accuracy())
    card = frame.locator("[data-kpi='keras_accuracy']")
    assert "Keras `accuracy`" in card.locator(".k").text_content()
    assert f"precision@1 {js_fixed(counts.precision_at_1())}" in card.locator(".s").text_content()
    assert "argmax(y_true) == argmax(y_pred)" in card.get_attribute("title")
    exact = frame.locator("[data-kpi='exact_match_accuracy'] .s").text_content()
    assert js_fixed(100 * counts.all_negative_exact_match(), 1) + "%" in exact
    assert "pp" in exact and "-0.0" not in exact and "\u22120.0" not in exact
    ranking = frame.locator("[data-kpi='ranking']")
    assert ranking.locator(".v").text_content() == js_fixed(counts.average_precision("macro"))
    assert js_fixed(counts.roc_auc("macro")) in ranking.locator(".s").text_content()
    assert "600 samples" in frame.locator("[data-kpi='data'] .s").text_content()
    # the help says which Keras metric `accuracy` becomes, and s > t against s >= t
    help_text = frame.locator(".tbm-help").text_content()
    assert "SparseCategoricalAccuracy" in help_text and "BinaryAccuracy counts s > t" in help_text
    assert "what Keras calls binary accuracy" not in help_text
    # at t = 1 nothing is predicted: the trap sentence, said plainly
    set_slider(page, 20)
    trap = frame.locator("[data-trap]")
    assert trap.is_visible() and "predicts almost no positives" in trap.text_content()
    set_slider(page, 10)


def test_warnings_banner_for_logits_read_as_probabilities(page, data_and_servers):
    d = data_and_servers
    frame = open_dashboard(page, d["server"])
    wait_step(frame, max(d["data"]["exp/validation"]))
    assert frame.locator("[data-data-warnings]").is_hidden()
    frame.locator("[data-picker='run']").select_option(LOGITS_AS_PROBS)
    wait_step(frame, 0)
    counts = d["data"][LOGITS_AS_PROBS][0]
    banner = frame.locator("[data-data-warnings] li[data-kind='out_of_range']")
    banner.wait_for()
    text = banner.text_content()
    assert f"{100 * counts.out_of_range_share():.3g}%" in text and "from_logits=True" in text
    # the distribution shows the out-of-range scores in the outer bins
    note = frame.locator("[data-dist-note]")
    wait_until(lambda: "outside [0, 1]" in note.text_content(), timeout=10, message="dist note")


def test_zero_division_switch_survives_reload(page, data_and_servers):
    d = data_and_servers
    frame = open_dashboard(page, d["server"])
    last = max(d["data"]["exp/validation"])  # test_new_step_appears_without_reload adds one
    wait_step(frame, last)
    counts = d["data"]["exp/validation"][last]
    set_slider(page, 20)  # t = 1: labels predict nothing, precision divides by zero
    renders = frame.locator("#tbm-root").get_attribute("data-renders")
    frame.locator("[data-zero-division] select, select[data-zero-division]").select_option("nan")
    wait_until(lambda: frame.locator("#tbm-root").get_attribute("data-renders") != renders,
               timeout=10, message="explorer reloaded")
    ti = 20
    assert kpi(frame, "macro_f1") == js_fixed(counts.f1("macro", zero_division=np.nan)[ti])
    assert kpi(frame, "micro_f1") == js_fixed(counts.f1("micro", zero_division=np.nan)[ti])
    want = expected_rows(counts, ti, zero_division=np.nan)
    assert {r[0]: r for r in table_rows(page)} == want
    time.sleep(0.5)  # the choice is saved once the page settles
    page.reload()
    frame = page.frame_locator("iframe")
    frame.locator("#tbm-root[data-ready='1']").wait_for(timeout=30000)
    wait_step(frame, last)
    assert frame.locator("select[data-zero-division]").input_value() == "nan"
    assert kpi(frame, "macro_f1") == js_fixed(counts.f1("macro", zero_division=np.nan)[ti])


def test_objective_picker_drives_best_column_download_and_survives_reload(page, data_and_servers):
    d = data_and_servers
    frame = open_dashboard(page, d["server"])
    last = max(d["data"]["exp/validation"])  # test_new_step_appears_without_reload adds one
    wait_step(frame, last)
    counts = d["data"]["exp/validation"][last]
    ti = counts.threshold_index(0.5)
    frame.locator("select[data-objective='metric']").select_option("cost")
    frame.locator("input[data-objective-param='cost_fn']").fill("5")
    frame.locator("input[data-objective-param='cost_fn']").dispatch_event("change")
    header = frame.locator(".tbm-thead button").nth(8)
    wait_until(lambda: header.text_content().startswith("Best cost"), timeout=10, message="header")
    wait_until(lambda: {r[0]: r for r in table_rows(page)} == expected_rows(
        counts, ti, metric="cost", cost_fp=1.0, cost_fn=5.0), timeout=10, message="best column")
    href = frame.locator("a.tbm-btn[download]").get_attribute("href")
    assert "metric=cost" in href and "cost_fn=5" in href and f"step={last}" in href
    # a bad parameter is refused in place, naming the fix; nothing is requested
    frame.locator("input[data-objective-param='cost_fp']").fill("-1")
    frame.locator("input[data-objective-param='cost_fp']").dispatch_event("change")
    assert "cost_fp >= 0" in frame.locator(".tbm-err").text_content()
    # the slider jumps to a label's best threshold
    name = counts.label_names[3]
    frame.locator(".tbm-row", has_text=name).first.click()
    frame.locator("[data-jump-best]").click()
    best = counts.best_thresholds("cost", cost_fp=1.0, cost_fn=5.0)[3]
    assert frame.locator(".tbm-tval").text_content() == f"t = {js_threshold(best)}"
    time.sleep(0.5)
    page.reload()
    frame = page.frame_locator("iframe")
    frame.locator("#tbm-root[data-ready='1']").wait_for(timeout=30000)
    wait_step(frame, last)
    assert frame.locator("select[data-objective='metric']").input_value() == "cost"
    assert frame.locator("input[data-objective-param='cost_fn']").input_value() == "5"
    ti = counts.threshold_index(best)
    wait_until(lambda: {r[0]: r for r in table_rows(page)} == expected_rows(
        counts, ti, metric="cost", cost_fp=1.0, cost_fn=5.0), timeout=10, message="after reload")
    with page.expect_download() as info:
        frame.locator("a.tbm-btn[download]").click()
    path = os.path.join(tempfile.mkdtemp(), "best.json")
    info.value.save_as(path)
    got = tbm.load_best_thresholds(path)
    want = counts.to_best_thresholds("cost", cost_fp=1.0, cost_fn=5.0)
    assert got.metric == "cost" and got.params == {"cost_fp": 1.0, "cost_fn": 5.0}
    assert got.step == last and got.run == "exp/validation" and got.tag == TAG
    np.testing.assert_array_equal(got.thresholds.astype(np.float32), want.thresholds.astype(np.float32))


def test_roc_distribution_reliability_and_overlay_render(page, data_and_servers):
    d = data_and_servers
    frame = open_dashboard(page, d["server"])
    last = max(d["data"]["exp/validation"])  # test_new_step_appears_without_reload adds one
    wait_step(frame, last)
    counts = d["data"]["exp/validation"][last]
    name = counts.label_names[1]
    frame.locator(".tbm-row", has_text=name).first.click()
    roc_legend = frame.locator("[data-chart='roc'] + .tbm-legend")
    wait_until(lambda: f"AUC {js_fixed(counts.roc_auc(None)[1])}" in roc_legend.text_content(),
               timeout=10, message="ROC legend")
    assert f"AUC {js_fixed(counts.roc_auc('micro'))}" in roc_legend.text_content()
    rel = frame.locator("[data-chart='reliability'] + .tbm-legend")
    wait_until(lambda: f"ECE {js_fixed(counts.expected_calibration_error()[1])}" in rel.text_content(),
               timeout=10, message="reliability legend")
    assert f"ECE {js_fixed(counts.expected_calibration_error('micro'))}" in rel.text_content()
    hist = frame.locator("[data-chart='distribution'] + .tbm-legend b").all_text_contents()
    pos, neg = counts.score_histogram()
    assert hist == [js_count(pos[1].sum()), js_count(neg[1].sum())]
    frame.locator("[data-card='distribution'] button[data-value='log']").click()
    frame.locator("[data-card='distribution'] button[data-value='pooled']").click()
    hist = frame.locator("[data-chart='distribution'] + .tbm-legend b").all_text_contents()
    assert hist == [js_count(pos.sum()), js_count(neg.sum())]
    # the slider's threshold is a line over the histogram
    set_slider(page, 15)
    assert frame.locator("[data-chart='distribution'] .tbm-marker").is_visible()
    # the runs overlaid: each run's AP and ROC-AUC, micro then the selected label
    legend = frame.locator("[data-overlay-legend]")
    want = {run: steps[max(steps)] for run, steps in d["data"].items()}
    wait_until(lambda: legend.locator("span").count() == len(want), timeout=15, message="overlay")
    for run, c in want.items():
        text = legend.locator("span").filter(has_text=f"(step {max(d['data'][run])})").all_text_contents()
        assert any(t.startswith(run) and f"micro AP {js_fixed(c.average_precision('micro'))}" in t
                   and f"micro ROC-AUC {js_fixed(c.roc_auc('micro'))}" in t for t in text), run
    frame.locator("[data-card='overlay'] button[data-value='label']").click()
    c = want["exp/train"]
    wait_until(lambda: f"ROC-AUC {js_fixed(c.roc_auc(None)[1])}" in legend.text_content(),
               timeout=15, message="overlay of the label")
    assert "micro" not in legend.text_content()  # the selected label's own AP and ROC-AUC
    # a run without the label: named once, and the note's counts add up to the runs listed
    drawn = frame.locator("[data-overlay-drawn]")
    wait_until(lambda: f"has no label '{name}'" in drawn.text_content(), timeout=15,
               message="the run without the label")
    note = drawn.text_content()
    assert note.startswith(f"Drawing {len(want) - 1} runs")
    assert f"1 run has no label '{name}': {LOGITS_AS_PROBS}." in note, note
    assert note.count(LOGITS_AS_PROBS) == 1, note
    status = frame.locator("[data-overlay-status]").text_content()
    assert LOGITS_AS_PROBS not in status, status
    assert legend.locator("span").count() == len(want) - 1
    frame.locator("[data-card='overlay']").screenshot(path=os.path.join(ARTIFACTS, "overlay_run_without_label.png"))
    for chart in ("roc", "distribution", "reliability", "overlay-pr", "overlay-roc"):
        assert frame.locator(f"[data-chart='{chart}'] canvas").count() == 1, chart
    os.makedirs("/tmp/shots", exist_ok=True)
    page.screenshot(path="/tmp/shots/explorer_test.png", full_page=True)


def test_invalid_regex_filter_names_the_pattern(page, data_and_servers):
    d = data_and_servers
    frame = open_dashboard(page, d["server"])
    wait_step(frame, max(d["data"]["exp/validation"]))
    frame.locator("input[type=search]").fill("/car(/")
    status = frame.locator("[data-filter-status]").text_content()
    assert status.startswith("Invalid /regex/ /car(/")
    assert "No label matches" not in frame.locator(".tbm-empty-rows").text_content()
    frame.locator("input[type=search]").fill("/^car$/")
    assert [r[0] for r in table_rows(page)] == ["car"]


# ---------------------------------------------------------------------------------------------
# README screenshots: python -m tests.test_browser --screenshots docs/screenshots


def make_screenshots(out_dir):
    from playwright.sync_api import sync_playwright

    os.makedirs(out_dir, exist_ok=True)
    logdir = tempfile.mkdtemp(prefix="tbm-shots-")
    try:
        write_readme_runs(logdir)
        with TensorBoardServer(logdir, *TB_FLAGS) as server, sync_playwright() as p:
            wait_until(lambda: len(server.get_json("/data/plugin/tb_metrics/tags")) == 4, timeout=60)
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            ctx = b.new_context(viewport={"width": 1400, "height": 1180}, device_scale_factor=1)
            ctx.add_init_script("try { localStorage.setItem('tbm.pollMs', 'off'); } catch (e) {}")
            pg = ctx.new_page()
            frame = open_dashboard(pg, server)
            set_slider(pg, 65)
            # clicks through the DOM, so that the page stays scrolled to the top
            frame.locator(".tbm-row", has_text="bicycle").first.evaluate("(el) => el.click()")
            pg.mouse.move(0, 0)
            time.sleep(1.0)  # the distribution and the runs overlaid load after the click
            pg.screenshot(path=os.path.join(out_dir, "explorer.png"))
            # ranking, score distribution and calibration; the runs overlaid
            frame.locator("[data-card='roc']").scroll_into_view_if_needed()
            frame.locator(".tbm-grid3").nth(1).screenshot(
                path=os.path.join(out_dir, "explorer_ranking.png"))
            frame.locator("[data-card='overlay'] button[data-value='label']").click()
            frame.locator("[data-overlay-legend] span").nth(3).wait_for()
            time.sleep(0.5)
            frame.locator("[data-card='overlay']").screenshot(
                path=os.path.join(out_dir, "explorer_overlay.png"))
            frame.locator("[data-card='overlay'] button[data-value='micro']").click()
            pg.set_viewport_size({"width": 1400, "height": 930})
            frame.locator("[data-tab='labels']").click()
            time.sleep(1.0)
            canvas = frame.locator(".tbm-rank canvas")
            canvas.hover(position={"x": 560, "y": 34 + 18 * 2 + 9})
            pg.screenshot(path=os.path.join(out_dir, "labels.png"))
            pg.set_viewport_size({"width": 1400, "height": 900})
            frame.locator("[data-tab='compare']").click()
            frame.locator(".tbm-summary tbody tr").nth(3).wait_for()
            time.sleep(0.5)
            frame.locator("[data-chart='macro_f1'] .u-over").hover(position={"x": 200, "y": 60})
            pg.screenshot(path=os.path.join(out_dir, "compare.png"))
            # logits read as probabilities: the banner, and the scores in the outer bins
            write_logits_as_probabilities(logdir, "run3_forgot_from_logits/validation")
            summary.close_all()
            wait_until(lambda: len(server.get_json("/data/plugin/tb_metrics/tags")) == 5, timeout=60)
            pg.set_viewport_size({"width": 1400, "height": 1180})
            frame.locator("[data-tab='explorer']").click()
            frame.locator("button", has_text="Refresh").click()
            frame.locator("[data-picker='run'] option[value='run3_forgot_from_logits/validation']").wait_for(
                state="attached")
            frame.locator("[data-picker='run']").select_option("run3_forgot_from_logits/validation")
            frame.locator("[data-data-warnings] li").first.wait_for()
            frame.locator(".tbm-row", has_text="head_2").first.evaluate("(el) => el.click()")
            frame.locator("[data-card='distribution'] button[data-value='log']").evaluate(
                "(el) => el.click()")
            time.sleep(1.0)
            pg.mouse.move(0, 0)
            pg.screenshot(path=os.path.join(out_dir, "logits_warning.png"))
            b.close()
    finally:
        summary.close_all()
        shutil.rmtree(logdir, ignore_errors=True)
    print("wrote", ", ".join(sorted(os.listdir(out_dir))))





# ---------------------------------------------------------------------------------------------
# Confusion matrix (single-label multi-class), ranking by AP, fitted heatmap scale, compare
# additions (issues 9, 10, 12)

BIG_CLASSES = 1000
SMALL_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck", "bus", "tiger"]


def write_multiclass_test_runs(logdir):
    """{run: {step: Counts}}: 1,000 classes (3 steps), 12 named classes (train and validation,
    3 steps each) and a multi-label run."""
    from demo import fixtures

    data = fixtures.write_multiclass_runs(logdir, runs=("big/validation",),
                                          num_classes=BIG_CLASSES, steps=3, n=4000,
                                          thresholds=11)
    data.update(fixtures.write_multiclass_runs(
        logdir, runs=("small/train", "small/validation"), num_classes=len(SMALL_NAMES), steps=3,
        n=600, thresholds=21, class_names=SMALL_NAMES))
    data["multilabel/validation"] = write_run(logdir, "multilabel/validation", 12, 2, seed=3,
                                              thresholds=21)
    summary.close_all()
    return data


@pytest.fixture(scope="module")
def mc_server(tmp_path_factory):
    require_chromium()
    logdir = tmp_path_factory.mktemp("mc_logs")
    data = write_multiclass_test_runs(str(logdir))
    server = TensorBoardServer(str(logdir), *TB_FLAGS).start()
    try:
        server.wait_ready()
        wait_until(lambda: len(server.get_json("/data/plugin/tb_metrics/tags")) == len(data),
                   timeout=60, message="all runs listed")
        yield {"data": data, "server": server}
    finally:
        server.stop()
        summary.close_all()


def open_confusion(pg, server, run):
    frame = open_dashboard(pg, server)
    frame.locator("[data-picker='run']").select_option(run)
    frame.locator("[data-tab='confusion']").click()
    return frame


def cm_drawn(pg):
    return int(plugin_frame(pg).evaluate(
        "Number(document.querySelector(\"[data-view='confusion']\").dataset.drawn || 0)"))


def cm_geometry(pg, num_classes):
    """(left, top, cell) of the matrix inside the canvas, in CSS px (as the view lays it out)."""
    rect = plugin_frame(pg).evaluate("""() => {
        const r = document.querySelector('[data-cm-overlay]').getBoundingClientRect();
        return [r.width, r.height]; }""")
    names = (min(760, rect[0] - 130) / num_classes) >= 9
    margin = 120 if names else 22
    side = rect[1] - margin - 4
    return margin, margin, side / num_classes


def test_confusion_view_thousand_classes(page, mc_server):
    d = mc_server["data"]["big/validation"]
    frame = open_confusion(page, mc_server["server"], "big/validation")
    wait_until(lambda: cm_drawn(page) > 0, timeout=30, message="matrix drawn")
    c = d[2]
    m = c.confusion_matrix
    assert kpi(frame, "categorical_accuracy") == js_fixed(c.categorical_accuracy())
    assert kpi(frame, "top_5") == js_fixed(c.top_k_accuracy(5))
    assert kpi(frame, "samples") == js_count(c.n)
    # the top confusion is the largest off-diagonal cell (ties: lower true, then predicted class)
    off = m.copy()
    np.fill_diagonal(off, -1)
    flat = np.lexsort((np.arange(off.size), -off.ravel()))[0]
    t, p = divmod(int(flat), BIG_CLASSES)
    first = frame.locator("[data-top-confusions] li").first.text_content()
    assert first.startswith(f"{c.label_names[t]} \u2192 {c.label_names[p]}") and str(m[t, p]) in first
    # the percentages say their rule: the share of the true class's samples
    heading = frame.locator("[data-view='confusion'] h3", has=frame.locator("[data-top-rule]"))
    assert heading.text_content().endswith("count, % of the true class's samples"), heading.text_content()
    assert "share of all the true class's samples" in heading.get_attribute("title")
    pct = frame.locator("[data-top-confusions] li").first.locator(".tbm-muted").first
    assert pct.get_attribute("title") == \
        f"{pct.text_content()} of the true {c.label_names[t]} samples ({js_count(m[t].sum())})"
    # hover over the diagonal cell of class 500 (label order): its numbers, as text
    x0, y0, cell = cm_geometry(page, BIG_CLASSES)
    canvas = frame.locator("[data-cm-overlay]")
    k = 500
    pos = {"x": x0 + (k + 0.5) * cell, "y": y0 + (k + 0.5) * cell}
    canvas.hover(position=pos)
    tip = frame.locator(".tbm-tip").text_content()
    assert tip.startswith(f"true {c.label_names[k]} \u2192 predicted {c.label_names[k]} (correct)")
    assert f"step 2: {js_count(m[k, k])} samples" in tip
    assert f"of true {c.label_names[k]} ({js_count(m[k].sum())})" in tip
    # the matrix is painted at one pixel per cell: a non-empty cell is coloured, an empty one white
    empty = np.argwhere(m == 0)[0]
    pixel = """([x, y]) => [...document.querySelector('[data-cm-matrix]').getContext('2d')
        .getImageData(x, y, 1, 1).data]"""
    assert m[k, k] > 0 and plugin_frame(page).evaluate(pixel, [k, k])[:3] != [255, 255, 255]
    assert plugin_frame(page).evaluate(pixel, [int(empty[1]), int(empty[0])]) == [255, 255, 255, 255]
    # clicking selects the two classes: the explorer shows the true class selected
    canvas.click(position=pos)
    frame.locator("[data-tab='explorer']").click()
    assert c.label_names[k] in frame.locator("[data-chart='pr'] + .tbm-legend").text_content()
    frame.locator("[data-tab='confusion']").click()
    # the step slider redraws another step's numbers
    plugin_frame(page).evaluate("""() => {
        const s = document.querySelector('[data-confusion-step]');
        s.value = '0';
        s.dispatchEvent(new Event('input', { bubbles: true })); }""")
    c0 = d[0]
    wait_until(lambda: kpi(frame, "categorical_accuracy") == js_fixed(c0.categorical_accuracy()),
               timeout=20, message="step 0 drawn")
    assert "step 0" in frame.locator("[data-cm-step]").text_content()


def test_confusion_view_diff_cluster_and_multilabel(page, mc_server):
    data = mc_server["data"]
    frame = open_confusion(page, mc_server["server"], "small/validation")
    wait_until(lambda: cm_drawn(page) > 0, timeout=30, message="matrix drawn")
    c2, c0 = data["small/validation"][2], data["small/validation"][0]
    frame.locator("[data-against]").select_option("step:0")
    sub = frame.locator("[data-kpi='categorical_accuracy'] .s")
    wait_until(lambda: "vs step 0" in sub.text_content(), timeout=20, message="difference drawn")
    delta = round((c2.categorical_accuracy() - c0.categorical_accuracy()) * 1000) / 10
    assert sub.text_content() == (f"vs step 0: {js_fixed(c0.categorical_accuracy())} "
                                  f"({'+' if delta > 0 else chr(0x2212)}{abs(delta):.1f} pp)")
    assert "difference in samples" in frame.locator("[data-view='confusion'] .tbm-scale").text_content()
    # hover a cell: both steps' counts
    x0, y0, cell = cm_geometry(page, len(SMALL_NAMES))
    t, p = 3, 5
    frame.locator("[data-cm-overlay]").hover(position={"x": x0 + (p + 0.5) * cell,
                                                        "y": y0 + (t + 0.5) * cell})
    tip = frame.locator(".tbm-tip").text_content()
    assert f"step 2: {c2.confusion_matrix[t, p]} samples" in tip
    assert f"step 0: {c0.confusion_matrix[t, p]} (" in tip
    # another run at the same step
    frame.locator("[data-against]").select_option("run:small/train")
    wait_until(lambda: "vs small/train step 2" in sub.text_content(), timeout=20, message="run diff")
    # clustered order and row normalisation redraw
    before = cm_drawn(page)
    frame.get_by_role("button", name="Clustered").click()
    frame.get_by_role("button", name="Rows (recall)").click()
    wait_until(lambda: cm_drawn(page) >= before + 2, timeout=10, message="redrawn")
    assert frame.get_by_role("button", name="Clustered").get_attribute("aria-pressed") == "true"
    # a top confusion selects both classes
    item = frame.locator("[data-top-confusions] button").first
    pair = [int(v) for v in item.get_attribute("data-pair").split(",")]
    item.click()
    assert "sel" in item.get_attribute("class") or \
        "sel" in frame.locator("[data-top-confusions] button").first.get_attribute("class")
    frame.locator("[data-tab='explorer']").click()
    assert SMALL_NAMES[pair[0]] in frame.locator("[data-chart='pr'] + .tbm-legend").text_content()
    # multi-label: says why there is no matrix, and how to get one
    frame.locator("[data-picker='run']").select_option("multilabel/validation")
    frame.locator("[data-tab='confusion']").click()
    reason = frame.locator("[data-reason='confusion']")
    reason.wait_for(state="visible", timeout=20000)
    assert "multiclass=True" in reason.text_content() and "class ids" in reason.text_content()
    assert frame.locator(".tbm-cm").is_hidden()
    assert frame.locator(".tbm-threshold").first.is_hidden()  # argmax: no threshold


def test_compare_view_keras_accuracy_baselines_and_ranking(page, data_and_servers):
    d = data_and_servers
    frame = open_dashboard(page, d["server"])
    wait_step(frame, max(d["data"]["exp/validation"]))  # a live test may have added a step
    frame.locator("[data-tab='compare']").click()
    rows = frame.locator(".tbm-summary tbody tr")
    rows.nth(len(d["data"]) - 1).wait_for()
    for run, steps in d["data"].items():
        c = steps[max(steps)]
        texts = frame.locator(".tbm-summary tbody tr", has_text=run).first.locator("td").all_text_contents()
        assert texts[7:10] == [js_fixed(c.categorical_accuracy()),
                               js_fixed(c.average_precision("macro")), js_count(c.nan.sum())]
    heads = frame.locator(".tbm-summary thead th").all_text_contents()
    assert "macro AP" in heads  # says which AP the column holds
    head = frame.locator("[data-view='compare'] h3", has_text="Keras `accuracy`")
    assert head.count() == 1
    assert frame.locator("[data-view='compare'] h3", has_text="predict nothing").count() == 2
    assert frame.locator("[data-view='compare'] h3", has_text="Macro ROC-AUC").count() == 1
    # the tooltip of binary accuracy names the all-negative baseline of each run
    frame.locator("[data-chart='binary_accuracy'] .u-over").hover(position={"x": 5, "y": 40})
    tip = tip_text(frame.locator(".tbm-tip"))
    step = int(tip.splitlines()[0].rsplit(" ", 1)[1])
    c = d["data"]["exp/validation"][step]
    assert f"exp/validation: {js_fixed(c.binary_accuracy()[c.threshold_index(0.5)])}" in tip
    assert f"predicting nothing: {js_fixed(c.all_negative_accuracy())}" in tip
    # full run names, never cut
    cell = frame.locator(".tbm-summary tbody tr td.l", has_text="zz<b").first
    assert plugin_frame(page).evaluate(
        "(el) => el.scrollWidth <= el.clientWidth", cell.element_handle())


def test_labels_view_ap_best_thresholds_and_fitted_scale(page, data_and_servers):
    d = data_and_servers
    frame = open_dashboard(page, d["server"])
    counts = d["data"]["exp/validation"]
    latest = max(counts)  # a live test may have added a step
    wait_step(frame, latest)
    c = counts[latest]
    frame.locator("[data-tab='labels']").click()
    legend = frame.locator("[data-legend='heat']")
    assert legend.text_content() == "F10.001.00"
    frame.get_by_role("button", name="Fitted").click()
    ti = c.threshold_index(0.5)
    f1 = np.concatenate([counts[s].f1(zero_division=np.nan)[:, ti] for s in sorted(counts)])
    want = f"F1{js_fixed(np.nanmin(f1), 2)}{js_fixed(np.nanmax(f1), 2)}"
    wait_until(lambda: legend.text_content() == want, timeout=10, message="fitted legend")
    # at each label's best: the slider hides, each label's threshold is shown
    frame.get_by_role("button", name="At each label's best").click()
    assert frame.locator(".tbm-threshold").first.is_hidden()
    best = c.to_best_thresholds()
    order = np.argsort(np.where(np.isnan(best.scores), np.inf, best.scores), kind="stable")
    canvas = frame.locator(".tbm-rank canvas")
    wait_until(lambda: "best threshold" in frame.locator("[data-view='labels'] h3").first.text_content(),
               timeout=10, message="best mode")
    canvas.hover(position={"x": 100, "y": 34 + 9})
    tip = frame.locator(".tbm-tip").text_content()
    l0 = order[0]
    assert tip.startswith(c.label_names[l0])
    assert f"F1 {js_fixed(best.scores[l0])} at its best t = {js_threshold(best.thresholds[l0])}" in tip
    # ranked by average precision (threshold-free): the worst AP label first
    frame.get_by_role("button", name="AP", exact=True).click()
    ap = c.average_precision(average=None)
    worst = c.label_names[np.argsort(np.where(np.isnan(ap), np.inf, ap), kind="stable")[0]]
    chip = frame.locator(".tbm-chip").first
    wait_until(lambda: chip.text_content().startswith(worst), timeout=10, message="AP ranking")
    assert "Labels ranked by AP" == frame.locator("[data-view='labels'] h3").first.text_content()
    summary_text = frame.locator("[data-summary='labels']").text_content()
    assert f"mean AP (macro) {js_fixed(np.nanmean(ap))}" in summary_text


def make_confusion_screenshots(out_dir):
    """confusion.png (12 classes, clustered, a cell hovered) and confusion_1000.png."""
    from playwright.sync_api import sync_playwright

    from demo import fixtures

    os.makedirs(out_dir, exist_ok=True)
    logdir = tempfile.mkdtemp(prefix="tbm-shots-cm-")
    try:
        fixtures.write_multiclass_runs(logdir, runs=("softmax/train", "softmax/validation"),
                                       num_classes=len(SMALL_NAMES), steps=6, n=1500,
                                       class_names=SMALL_NAMES)
        fixtures.write_multiclass_runs(logdir, runs=("imagenet_like/validation",),
                                       num_classes=BIG_CLASSES, steps=3, n=20000, thresholds=11)
        summary.close_all()
        with TensorBoardServer(logdir, *TB_FLAGS) as server, sync_playwright() as p:
            wait_until(lambda: len(server.get_json("/data/plugin/tb_metrics/tags")) == 3, timeout=60)
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            ctx = b.new_context(viewport={"width": 1400, "height": 1180}, device_scale_factor=1)
            ctx.add_init_script("try { localStorage.setItem('tbm.pollMs', 'off'); } catch (e) {}")
            pg = ctx.new_page()
            frame = open_confusion(pg, server, "softmax/validation")
            wait_until(lambda: cm_drawn(pg) > 0, timeout=30)
            frame.get_by_role("button", name="Clustered").click()
            frame.locator("[data-confusion-step]").fill("3")
            time.sleep(1.0)
            x0, y0, cell = cm_geometry(pg, len(SMALL_NAMES))
            frame.locator("[data-top-confusions] button").first.click()
            pair = [int(v) for v in frame.locator("[data-top-confusions] button").first
                    .get_attribute("data-pair").split(",")]
            frame.locator("[data-cm-overlay]").hover(position={"x": x0 + 2.5 * cell,
                                                                 "y": y0 + 3.5 * cell})
            pg.screenshot(path=os.path.join(out_dir, "confusion.png"))
            frame.locator("[data-picker='run']").select_option("imagenet_like/validation")
            frame.locator("[data-tab='confusion']").click()
            time.sleep(2.0)
            frame.get_by_role("button", name="Rows (recall)").click()
            frame.locator("[data-offdiag]").check()
            time.sleep(0.5)
            pg.mouse.move(0, 0)
            pg.screenshot(path=os.path.join(out_dir, "confusion_1000.png"))
            b.close()
            assert pair
    finally:
        summary.close_all()
        shutil.rmtree(logdir, ignore_errors=True)
    print("wrote confusion.png, confusion_1000.png")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Screenshots of the dashboard for the README.")
    parser.add_argument("--screenshots", default=os.path.join(ROOT, "docs", "screenshots"))
    parser.add_argument("--only", choices=["all", "confusion"], default="all")
    out = parser.parse_args()
    if out.only == "all":
        make_screenshots(out.screenshots)
    make_confusion_screenshots(out.screenshots)


def test_heatmap_reloads_only_when_its_run_advances(page, data_and_servers):
    """Issue 9: a new step of another run does not re-download the selected run's heatmap."""
    d = data_and_servers

    def fetched(route):  # resource timing sees every fetch of the plugin frame
        return plugin_frame(page).evaluate(
            "(r) => performance.getEntriesByType('resource')"
            ".filter((e) => e.name.includes('/tb_metrics/' + r)).length", route)

    frame = open_dashboard(page, d["server"])
    plugin_frame(page).evaluate("performance.setResourceTimingBufferSize(100000)")
    frame.locator("[data-tab='labels']").click()
    wait_until(lambda: fetched("heatmap?") >= 1, timeout=20, message="heatmap loaded")
    time.sleep(1.0)
    before = fetched("heatmap?")
    names = d["data"]["exp/validation"][0].label_names
    other = "exp/train"
    step = max(d["data"][other]) + 1
    c = synth_counts(77, 12, step, step + 1, thresholds=21, names=names)
    summary.write_counts(os.path.join(d["logdir"], other), TAG, c, step, wall_time=1.7e9 + 5000)
    d["data"][other][step] = c
    server = d["server"]
    wait_until(lambda: server.get_json("/data/plugin/tb_metrics/tags")[other][TAG]["max_step"] == step,
               timeout=30, message="new step of the other run listed")
    polls = fetched("tags")
    wait_until(lambda: fetched("tags") >= polls + 3, timeout=20, message="the page polled")
    assert fetched("heatmap?") == before
    # a new step of the selected run does reload it
    run = "exp/validation"
    step = max(d["data"][run]) + 1
    c = synth_counts(78, 12, step, step + 1, thresholds=21, names=names)
    summary.write_counts(os.path.join(d["logdir"], run), TAG, c, step, wall_time=1.7e9 + 6000)
    d["data"][run][step] = c
    wait_until(lambda: fetched("heatmap?") > before, timeout=30, message="heatmap reloaded")
    wait_step(frame, step, timeout=30000)


def test_compare_view_with_thirteen_runs_says_how_many_it_draws(page, tmp_path):
    """Issue 9: with 13 runs the comparison draws the first 8 and says so; names stay whole."""
    require_chromium()
    runs = [f"sweep/lr_{i:02d}_a_rather_long_experiment_name_{i}/validation" for i in range(13)]
    for i, run in enumerate(runs):
        write_run(str(tmp_path), run, 3, 2, seed=40 + i, thresholds=11, n=100)
    summary.close_all()
    with TensorBoardServer(str(tmp_path), *TB_FLAGS) as server:
        wait_until(lambda: len(server.get_json("/data/plugin/tb_metrics/tags")) == 13, timeout=60)
        frame = open_dashboard(page, server)
        frame.locator("[data-tab='compare']").click()
        rows = frame.locator(".tbm-summary tbody tr")
        rows.nth(7).wait_for()
        assert rows.count() == 8
        note = frame.locator("[data-view='compare'] .tbm-runs + .tbm-small").text_content()
        assert "Showing 8 of 13 runs (the first 8 by default; tick the others to add them)." in note
        assert frame.locator(".tbm-runs input").count() == 13
        # ticking a ninth run draws it, and the note follows
        frame.locator(f".tbm-runs input[data-run='{runs[12]}']").check()
        wait_until(lambda: rows.count() == 9, timeout=10, message="ninth run drawn")
        wait_until(lambda: "Showing 9 of 13 runs" in frame.locator(
            "[data-view='compare'] .tbm-runs + .tbm-small").text_content(), timeout=10,
            message="note updated")
        try:
            shown = [plugin_frame(page).evaluate(
                "(el) => [el.textContent.trim(), el.scrollWidth <= el.clientWidth]",
                cell.element_handle()) for cell in frame.locator(".tbm-summary tbody td.l").all()]
            assert [name for name, _ in shown] == runs[:8] + [runs[12]]  # whole names
            assert all(fits for _, fits in shown), shown  # nothing cut off
        finally:
            page.goto("about:blank")  # stop polling before the server goes


def test_explorer_leads_with_argmax_and_top_k_for_single_label(page, mc_server):
    """Issue 12: a softmax model's explorer leads with argmax (Keras) accuracy and top-k, says
    why, and hides exact match at a threshold; a multi-label run does not."""
    d = mc_server["data"]["small/validation"]
    frame = open_dashboard(page, mc_server["server"])
    frame.locator("[data-picker='run']").select_option("small/validation")
    last = max(d)
    wait_step(frame, last)
    counts = d[last]
    note = frame.locator("[data-single]")
    want = f"accuracy (argmax, what Keras logs) {js_fixed(counts.categorical_accuracy())}"
    # the run switch lands after the first run's page (same step numbers): wait for its numbers
    wait_until(lambda: note.is_visible() and want in note.text_content(), timeout=20,
               message="single-label note of small/validation")
    text = note.text_content()
    for k in (1, 2, 5):
        assert f"top-{k} {js_fixed(counts.top_k_accuracy(k))}" in text
    assert "one-vs-rest" in text and "Confusion matrix" in text
    assert not frame.locator("[data-kpi='exact_match_accuracy']").is_visible()
    first = frame.locator(".tbm-kpis > *").first
    assert first.get_attribute("data-kpi") == "keras_accuracy"
    frame.locator("[data-picker='run']").select_option("multilabel/validation")
    wait_step(frame, max(mc_server["data"]["multilabel/validation"]))
    frame.locator("[data-single]").wait_for(state="hidden", timeout=20000)
    assert frame.locator("[data-kpi='exact_match_accuracy']").is_visible()


# ---------------------------------------------------------------------------------------------
# New-user trial, 2026-11-29: one colour per run, single-step runs drawn, whole step ticks


def hex_rgb(color):
    return "rgb({}, {}, {})".format(*(int(color[i:i + 2], 16) for i in (1, 3, 5)))


COMPARE_DRAWN = """(chart) => {
    const el = document.querySelector(`[data-view='compare'] [data-chart='${chart}']`);
    const u = el.tbmChart.u;
    return { series: u.series.slice(1).map((s, i) => [s.label, s.stroke(u, i + 1)]),
             splits: u.axes[0]._splits };
}"""

COLOR_PIXELS = """([chart, rgb]) => {
    const c = document.querySelector(`[data-view='compare'] [data-chart='${chart}'] canvas`);
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4) {
        const d = Math.abs(px[i] - rgb[0]) + Math.abs(px[i + 1] - rgb[1]) + Math.abs(px[i + 2] - rgb[2]);
        if (px[i + 3] > 200 && d < 40) n++;
    }
    return n;
}"""


def test_compare_view_one_colour_per_run_and_single_step_runs_drawn(page, tmp_path):
    """Two of nine runs ticked: each run's lines, checkbox swatch and table swatch share one
    colour (its place among all runs); a one-step run is drawn as a point; steps tick whole."""
    require_chromium()
    runs = [f"r{i}/validation" for i in range(9)]
    for i, run in enumerate(runs):
        write_run(str(tmp_path), run, 3, 1 if i == 4 else 3, seed=70 + i, thresholds=11, n=200)
    summary.close_all()
    with TensorBoardServer(str(tmp_path), *TB_FLAGS) as server:
        wait_until(lambda: len(server.get_json("/data/plugin/tb_metrics/tags")) == 9, timeout=60)
        frame = open_dashboard(page, server)
        try:
            frame.locator("[data-tab='compare']").click()
            rows = frame.locator(".tbm-summary tbody tr")
            rows.nth(7).wait_for()
            ticked = [runs[4], runs[7]]  # 5th and 8th of all runs, 1st and 2nd of the ticked
            for run in runs[:8]:
                if run not in ticked:
                    frame.locator(f".tbm-runs input[data-run='{run}']").uncheck()
            frame.locator(f".tbm-runs input[data-run='{runs[8]}']").uncheck()
            wait_until(lambda: rows.count() == 2, timeout=20, message="two runs drawn")
            swatch = "(el) => getComputedStyle(el).borderTopColor"
            for run in ticked:
                box = frame.locator(".tbm-runs label", has=frame.locator(f"input[data-run='{run}']"))
                legend_color = box.locator(".tbm-swatch").evaluate(swatch)
                row = frame.locator(f".tbm-summary tbody tr[data-run='{run}']")
                assert row.locator(".tbm-swatch").evaluate(swatch) == legend_color, run
                for chart in ("micro_f1", "binary_accuracy"):
                    drawn = plugin_frame(page).evaluate(COMPARE_DRAWN, chart)
                    strokes = {label: hex_rgb(c) for label, c in drawn["series"]}
                    assert strokes[run] == legend_color, (run, chart, strokes)
                    if chart == "binary_accuracy":
                        assert strokes[f"{run}: predict nothing"] == legend_color
            # whole steps only on the step axis
            splits = plugin_frame(page).evaluate(COMPARE_DRAWN, "micro_f1")["splits"]
            assert splits and all(float(s).is_integer() for s in splits), splits
            # the one-step run is drawn (a point), and so is its dotted baseline
            rgb = [int(v) for v in legend_color_of(frame, runs[4]).strip("rgb()").split(",")]
            one = plugin_frame(page).evaluate(COLOR_PIXELS, ["micro_f1", rgb])
            assert one > 10, one
            two = plugin_frame(page).evaluate(COLOR_PIXELS, ["binary_accuracy", rgb])
            assert two > one + 5, (one, two)  # its point and its baseline's point
            # run names wrap only after "/", never mid-word; the full name is the title
            cell = frame.locator(f".tbm-summary tbody tr[data-run='{runs[4]}'] td.l")
            assert cell.get_attribute("title") == runs[4]
            assert plugin_frame(page).evaluate("""(td) => [...td.childNodes]
                .filter((n) => n.nodeType === 3 && n.data.trim())
                .every((n) => { const r = document.createRange(); r.selectNodeContents(n);
                                return r.getClientRects().length === 1; })""", cell.element_handle())
            page.screenshot(path=os.path.join(ARTIFACTS, "compare_two_of_nine.png"), full_page=True)
            frame.locator(".tbm-summary").screenshot(path=os.path.join(ARTIFACTS, "compare_two_of_nine_table.png"))
        finally:
            page.goto("about:blank")


def tip_text(tip):
    """The hover text without the break controls (word joiners, zero-width spaces) of run names."""
    return tip.text_content().replace("\u2060", "").replace("\u200b", "")


def legend_color_of(frame, run):
    box = frame.locator(".tbm-runs label", has=frame.locator(f"input[data-run='{run}']"))
    return box.locator(".tbm-swatch").evaluate("(el) => getComputedStyle(el).borderTopColor")


def test_explorer_single_label_hides_exact_match_series_and_cards_say_their_rule(page, mc_server):
    """A softmax tag's accuracy chart draws no exact match (its card is hidden): neither the line
    nor its baseline nor their legend entries; F1 and data cards carry their rule as a title."""
    d = mc_server["data"]["small/validation"]
    frame = open_dashboard(page, mc_server["server"])
    frame.locator("[data-picker='run']").select_option("small/validation")
    wait_step(frame, max(d))
    counts = d[max(d)]
    note = frame.locator("[data-single]")
    wait_until(lambda: note.is_visible(), timeout=20, message="single-label note")
    shown = """() => { const u = document.querySelector("[data-chart='accuracy']").tbmChart.u;
        return u.series.slice(1).map((s) => [s.label, s.show]); }"""
    legend = frame.locator("[data-chart='accuracy'] + .tbm-legend > span")

    def visible_legend():
        return [legend.nth(i).text_content().rsplit(" ", 1)[0] for i in range(legend.count())
                if legend.nth(i).is_visible()]

    wait_until(lambda: plugin_frame(page).evaluate(shown) == [
        ["binary", True], ["exact-match", False], ["binary: predicting nothing", True],
        ["exact-match: predicting nothing", False]], timeout=10, message="exact match hidden")
    assert visible_legend() == ["binary", "binary: predicting nothing"]
    titles = {k: frame.locator(f"[data-kpi='{k}']").get_attribute("title")
              for k in ("micro_f1", "macro_f1", "weighted_f1", "data")}
    assert "pooled over all labels" in titles["micro_f1"]
    assert "mean of the per-label F1" in titles["macro_f1"] and "zero_division=0" in titles["macro_f1"]
    assert "weights = support" in titles["weighted_f1"]
    assert titles["data"].startswith("n counts the samples")
    assert f"{counts.num_labels} labels" in frame.locator("[data-kpi='data'] .s").text_content()
    frame.locator("[data-view='explorer'] .tbm-grid3").first.screenshot(
        path=os.path.join(ARTIFACTS, "explorer_softmax_accuracy.png"))
    # a multi-label tag draws exact match again
    frame.locator("[data-picker='run']").select_option("multilabel/validation")
    wait_step(frame, max(mc_server["data"]["multilabel/validation"]))
    note.wait_for(state="hidden", timeout=20000)
    wait_until(lambda: all(s for _, s in plugin_frame(page).evaluate(shown)), timeout=10,
               message="exact match drawn for multi-label")
    assert len(visible_legend()) == 4


def test_invalid_regex_message_says_the_pattern_once(page, data_and_servers):
    d = data_and_servers
    frame = open_dashboard(page, d["server"])
    wait_step(frame, max(d["data"]["exp/validation"]))
    frame.locator("input[type=search]").fill("/lab[/")
    status = frame.locator("[data-filter-status]")
    assert status.text_content() == "Invalid /regex/ /lab[/: Unterminated character class"
    frame.locator(".tbm-tablebar").first.screenshot(path=os.path.join(ARTIFACTS, "explorer_regex_fixed.png"))


def test_confusion_multilabel_keras_accuracy_says_categorical_rule(page, mc_server):
    """A multi-label tag has no matrix: its Keras `accuracy` card gives CategoricalAccuracy's
    rule, argmax(y_true) == argmax(y_pred), never a trace."""
    c = mc_server["data"]["multilabel/validation"]
    c = c[max(c)]
    frame = open_confusion(page, mc_server["server"], "multilabel/validation")
    frame.locator("[data-reason='confusion']").wait_for(state="visible", timeout=20000)
    card = frame.locator("[data-kpi='categorical_accuracy']")
    wait_until(lambda: kpi(frame, "categorical_accuracy") == js_fixed(c.categorical_accuracy()),
               timeout=20, message="multi-label accuracy shown")
    assert card.locator(".s").text_content() == \
        "share of samples with argmax(y_true) == argmax(y_pred) (CategoricalAccuracy)"
    assert "first positive label" in card.get_attribute("title")
    frame.locator("[data-view='confusion']").screenshot(
        path=os.path.join(ARTIFACTS, "confusion_multilabel_fixed.png"))


def test_compare_view_colours_follow_a_run_listed_later(page, tmp_path):
    """A new run listed before a drawn one shifts the checkbox colours; the drawn lines and the
    table follow them (one colour per run, also while runs appear)."""
    require_chromium()
    for i, run in enumerate(["b/validation", "c/validation"]):
        write_run(str(tmp_path), run, 3, 2, seed=90 + i, thresholds=11, n=100)
    summary.close_all()
    with TensorBoardServer(str(tmp_path), *TB_FLAGS) as server:
        wait_until(lambda: len(server.get_json("/data/plugin/tb_metrics/tags")) == 2, timeout=60)
        frame = open_dashboard(page, server)
        try:
            frame.locator("[data-tab='compare']").click()
            rows = frame.locator(".tbm-summary tbody tr")
            rows.nth(1).wait_for()
            frame.locator(".tbm-runs input[data-run='b/validation']").uncheck()
            wait_until(lambda: rows.count() == 1, timeout=20, message="one run drawn")
            before = legend_color_of(frame, "c/validation")
            write_run(str(tmp_path), "a/validation", 3, 2, seed=99, thresholds=11, n=100)
            summary.close_all()
            frame.locator(".tbm-runs input[data-run='a/validation']").wait_for(timeout=30000)
            after = legend_color_of(frame, "c/validation")
            assert after != before  # c is now the third group

            def drawn():
                series = plugin_frame(page).evaluate(COMPARE_DRAWN, "micro_f1")["series"]
                return {label: hex_rgb(c) for label, c in series}

            wait_until(lambda: drawn().get("c/validation") == after, timeout=10,
                       message="line recoloured")
            row = frame.locator(".tbm-summary tbody tr[data-run='c/validation']")
            assert row.locator(".tbm-swatch").evaluate(
                "(el) => getComputedStyle(el).borderTopColor") == after
        finally:
            page.goto("about:blank")


# ---------------------------------------------------------------------------------------------
# New-user trial 2: the runs overlaid tell kinds apart; no two runs share a line style; long run
# names fit the latest-step table


OVERLAY_DRAWN = """(chart) => {
    const u = document.querySelector(`[data-card='overlay'] [data-chart='${chart}']`).tbmChart.u;
    return u.series.slice(1).map((s, i) => [s.label, s.stroke(u, i + 1), s.dash || null]);
}"""

OVERLAY_POINT = """([chart, run]) => {
    // the pixel (frame viewport) of a mid-curve point of `run`'s curve
    const u = document.querySelector(`[data-card='overlay'] [data-chart='${chart}']`).tbmChart.u;
    const si = u.series.findIndex((s) => s.label === run);
    const [xs, ys] = u.data[si];
    const j = Math.floor(xs.length / 2);
    const r = u.over.getBoundingClientRect();
    return [r.left + u.valToPos(xs[j], 'x'), r.top + u.valToPos(ys[j], 'y')];
}"""


def test_overlay_says_which_runs_it_draws_and_tells_kinds_apart(page, tmp_path):
    """Train and validation runs of two experiments: the overlay says what it draws, train is
    dashed and validation solid (one colour per experiment), every legend entry names its run
    in full, a kind filter draws validation only, and hovering a curve names its run."""
    require_chromium()
    runs = ["exp_alpha/train", "exp_alpha/validation", "exp_beta/train", "exp_beta/validation"]
    for i, run in enumerate(runs):
        write_run(str(tmp_path), run, 4, 2, seed=120 + i, thresholds=21, n=300)
    summary.close_all()
    with TensorBoardServer(str(tmp_path), *TB_FLAGS) as server:
        wait_until(lambda: len(server.get_json("/data/plugin/tb_metrics/tags")) == 4, timeout=60)
        frame = open_dashboard(page, server)
        try:
            legend = frame.locator("[data-overlay-legend] > span")
            wait_until(lambda: legend.count() == 4, timeout=20, message="four runs overlaid")
            drawn = frame.locator("[data-overlay-drawn]")
            assert drawn.text_content().startswith("Drawing 4 runs (2 validation, 2 train).")
            assert "dashed: train" in drawn.text_content() and "solid: validation" in drawn.text_content()
            for chart in ("overlay-pr", "overlay-roc"):
                series = plugin_frame(page).evaluate(OVERLAY_DRAWN, chart)
                assert [label for label, _, _ in series] == runs
                style = {label: (color, dash) for label, color, dash in series}
                assert style["exp_alpha/train"][0] == style["exp_alpha/validation"][0]
                assert style["exp_alpha/train"][0] != style["exp_beta/train"][0]
                assert all((dash is not None) == run.endswith("train") for run, (_, dash) in style.items())
            # every legend entry: the full run name, its swatch in the drawn colour and dash
            for run, (color, dash) in style.items():
                entry = frame.locator(f"[data-overlay-legend] > span[data-run='{run}']")
                assert entry.text_content().startswith(run + " (step 1)")
                assert entry.get_attribute("title").startswith(run + "\n")
                sw = entry.locator(".tbm-swatch")
                assert sw.evaluate("(el) => getComputedStyle(el).borderTopColor") == hex_rgb(color)
                assert ("dash" in sw.get_attribute("class").split()) == (dash is not None)
            frame.locator("[data-card='overlay']").screenshot(path=os.path.join(ARTIFACTS, "overlay_kinds_all.png"))
            # hovering a curve names its run
            box = page.locator("iframe").bounding_box()
            x, y = plugin_frame(page).evaluate(OVERLAY_POINT, ["overlay-roc", "exp_beta/train"])
            page.mouse.move(box["x"] + x, box["y"] + y)
            tip = frame.locator(".tbm-tip")
            wait_until(lambda: tip.is_visible() and tip.text_content().startswith("exp_beta/train (step 1)"),
                       timeout=5, message="tooltip names the run")
            frame.locator("[data-card='overlay']").screenshot(path=os.path.join(ARTIFACTS, "overlay_kinds_hover.png"))
            page.mouse.move(0, 0)
            # the kind filter: validation runs only, and the card says what it hides
            frame.locator("[data-overlay-kinds] button[data-value='validation']").click()
            wait_until(lambda: legend.count() == 2, timeout=10, message="validation only")
            assert [legend.nth(i).get_attribute("data-run") for i in range(2)] == \
                ["exp_alpha/validation", "exp_beta/validation"]
            assert [s[0] for s in plugin_frame(page).evaluate(OVERLAY_DRAWN, "overlay-pr")] == \
                ["exp_alpha/validation", "exp_beta/validation"]
            assert "2 of 4 hidden by the kind filter" in drawn.text_content()
            frame.locator("[data-card='overlay']").screenshot(path=os.path.join(ARTIFACTS, "overlay_kinds_validation.png"))
        finally:
            page.goto("about:blank")


def test_no_two_runs_share_a_line_style_past_the_palette(page, tmp_path):
    """Eleven runs of ten experiments (the palette has 8 colours): in the comparison charts and
    the runs overlaid no two runs share a colour+dash, and the note says how the extra runs are
    drawn."""
    require_chromium()
    runs = [f"exp{i:02d}/validation" for i in range(10)] + ["exp00/train"]
    for i, run in enumerate(runs):
        write_run(str(tmp_path), run, 3, 2, seed=150 + i, thresholds=11, n=100)
    summary.close_all()
    with TensorBoardServer(str(tmp_path), *TB_FLAGS) as server:
        wait_until(lambda: len(server.get_json("/data/plugin/tb_metrics/tags")) == 11, timeout=60)
        frame = open_dashboard(page, server)
        try:
            frame.locator("[data-tab='compare']").click()
            rows = frame.locator(".tbm-summary tbody tr")
            rows.nth(7).wait_for()
            for run in runs:  # the first 8 listed are drawn by default: tick the others
                frame.locator(f".tbm-runs input[data-run='{run}']").check()
            wait_until(lambda: rows.count() == 11, timeout=20, message="eleven runs drawn")

            def styles():
                el = "[data-view='compare'] [data-chart='micro_f1']"
                return plugin_frame(page).evaluate(f"""() => {{
                    const u = document.querySelector("{el}").tbmChart.u;
                    return u.series.slice(1).map((s, i) => [s.label, s.stroke(u, i + 1), s.dash || null]); }}""")

            drawn = styles()
            assert sorted(label for label, _, _ in drawn) == sorted(runs)
            pairs = [(color, json.dumps(dash)) for _, color, dash in drawn]
            assert len(set(pairs)) == len(pairs), drawn
            # the checkbox swatches show the drawn colour
            for label, color, _ in drawn:
                assert legend_color_of(frame, label) == hex_rgb(color), label
            note = frame.locator("[data-view='compare'] .tbm-runs + .tbm-small").text_content()
            assert "past the palette's 8 colours take another dash" in note, note
            frame.locator("[data-view='compare']").screenshot(path=os.path.join(ARTIFACTS, "compare_eleven_runs.png"))
            # the runs overlaid draw the same runs, with the same styles
            frame.locator("[data-tab='explorer']").click()
            legend = frame.locator("[data-overlay-legend] > span")
            wait_until(lambda: legend.count() == 11, timeout=20, message="eleven runs overlaid")
            over = plugin_frame(page).evaluate(OVERLAY_DRAWN, "overlay-pr")
            assert {label: (c, d) for label, c, d in over} == {label: (c, d) for label, c, d in drawn}
            frame.locator("[data-card='overlay']").screenshot(path=os.path.join(ARTIFACTS, "overlay_eleven_runs.png"))
        finally:
            page.goto("about:blank")


TIP_LINES = """() => {
    // where the tooltip's text wraps (not at its newlines): [text before, text after] of each break
    const tip = document.querySelector('.tbm-tip');
    const node = tip.firstChild, s = node.data, r = document.createRange();
    const breaks = [];
    let top = null;
    for (let i = 0; i < s.length; i++) {
        if (s[i] === '\\n' || s[i] === '\\u2060' || s[i] === '\\u200b') continue;
        r.setStart(node, i); r.setEnd(node, i + 1);
        const rects = r.getClientRects();
        if (!rects.length) continue;
        const t = Math.round(rects[0].top);
        if (top !== null && t > top && s[i - 1] !== '\\n') breaks.push([s.slice(Math.max(0, i - 12), i), s.slice(i, i + 12)]);
        top = t;
    }
    return { breaks, fits: tip.scrollWidth <= tip.clientWidth, width: tip.getBoundingClientRect().width };
}"""
SIXTY_CHAR_RUN = "sweeps/resnet50_lr3e-3_batch64_wd1e-4_mixup0.2_s7/validation"


def test_long_run_names_fit_the_latest_step_table_at_1280px(page, tmp_path):
    """Long run names (one part with no "/" to break at) wrap inside the latest-step table: no
    horizontal scroll at 1280 px, every name shown whole, the full name in the cell's title."""
    require_chromium()
    runs = ["sweeps/resnet152_imagenet_finetune_lr0.0003_wd0.05_mixup0.2_cutmix1.0_ema0.9999_seed42/validation",
            "resnet152_imagenet_finetune_lr0.0003_wd0.05_mixup0.2_cutmix1.0_ema0.9999_seed42_no_slash_at_all"
            "_and_then_some_more_hyperparameters_warmup5_cosine_labelsmoothing0.1_dropout0.3_droppath0.2",
            "short/validation", SIXTY_CHAR_RUN]
    for i, run in enumerate(runs):
        write_run(str(tmp_path), run, 3, 2, seed=170 + i, thresholds=11, n=100)
    summary.close_all()
    page.set_viewport_size({"width": 1280, "height": 900})
    with TensorBoardServer(str(tmp_path), *TB_FLAGS) as server:
        wait_until(lambda: len(server.get_json("/data/plugin/tb_metrics/tags")) == len(runs), timeout=60)
        frame = open_dashboard(page, server)
        try:
            # the Run picker: a ~60-character name shows whole, the full name is its title
            picker = frame.locator("[data-picker='run']")
            picker.select_option(SIXTY_CHAR_RUN)
            wait_until(lambda: picker.get_attribute("title") == SIXTY_CHAR_RUN, timeout=10,
                       message="run picker title")
            assert sorted(picker.evaluate("(s) => [...s.options].map((o) => o.text)")) == sorted(runs)
            room = picker.evaluate("""(s) => { const c = document.createElement('canvas').getContext('2d');
                const cs = getComputedStyle(s); c.font = `${cs.fontSize} ${cs.fontFamily}`;
                return [s.clientWidth, c.measureText(s.value).width]; }""")
            assert room[0] >= room[1] + 20, room  # the text plus the drop-down arrow
            picker.select_option("short/validation")
            wait_until(lambda: picker.get_attribute("title") == "short/validation", timeout=10,
                       message="title follows the selection")
            frame.locator(".tbm-toolbar").screenshot(path=os.path.join(ARTIFACTS, "run_picker_long_name.png"))
            frame.locator("[data-tab='compare']").click()
            rows = frame.locator(".tbm-summary tbody tr")
            rows.nth(len(runs) - 1).wait_for()
            fit = plugin_frame(page).evaluate("""() => {
                const t = document.querySelector('.tbm-summary');
                const card = t.closest('.tbm-card');
                const scroll = t.parentElement;
                const c = card.getBoundingClientRect(), r = t.getBoundingClientRect();
                return { scroll: [scroll.scrollWidth, scroll.clientWidth],
                         table: [r.left, r.right], card: [c.left, c.right],
                         cells: [...t.querySelectorAll('tbody td.l')].map((td) =>
                           [td.textContent, td.title, td.scrollWidth <= td.clientWidth,
                            getComputedStyle(td).textOverflow]) }; }""")
            assert fit["scroll"][0] <= fit["scroll"][1], fit  # no horizontal scroll
            assert fit["card"][0] <= fit["table"][0] and fit["table"][1] <= fit["card"][1], fit
            assert sorted(name for name, _, _, _ in fit["cells"]) == sorted(runs)  # whole names
            for name, title, fits, overflow in fit["cells"]:
                assert title == name and fits and overflow != "ellipsis", (name, title, fits)
            frame.locator(".tbm-summary").screenshot(path=os.path.join(ARTIFACTS, "compare_long_names_table.png"))
            # the hover text: run names wrap at "/" only (never "lr3e-" | "3_batch64"), inside the card
            for run in runs[:2]:  # parts wider than the tooltip: those break where they must
                frame.locator(f".tbm-runs input[data-run='{run}']").uncheck()
            wait_until(lambda: rows.count() == len(runs) - 2, timeout=20, message="two runs drawn")
            chart = frame.locator("[data-view='compare'] [data-chart='micro_f1']")
            chart.locator(".u-over").hover(position={"x": 5, "y": 40})
            tip = frame.locator(".tbm-tip")
            wait_until(lambda: tip.is_visible() and SIXTY_CHAR_RUN in tip_text(tip),
                       timeout=10, message="tooltip with the long run")
            lines = plugin_frame(page).evaluate(TIP_LINES)
            assert lines["fits"] and lines["width"] <= chart.evaluate(
                "(el) => el.closest('.tbm-card').getBoundingClientRect().width"), lines
            for before, after in lines["breaks"]:
                assert before.endswith(("/\u200b", " ")) or after.startswith(" "), lines["breaks"]
            assert any(b.endswith("s7/\u200b") for b, _ in lines["breaks"]), lines  # 60 chars wrap
            frame.locator("[data-view='compare'] .tbm-grid3").first.screenshot(
                path=os.path.join(ARTIFACTS, "compare_long_name_tooltip.png"))
            page.mouse.move(0, 0)
            page.screenshot(path=os.path.join(ARTIFACTS, "compare_long_names_1280.png"), full_page=True)
        finally:
            page.goto("about:blank")
