// Static text: the empty state (the two lines to add to a Keras script) and the short
// "what these numbers mean" note.

import { h } from "../dom.js";

function code(lines) {
  // each line: string, or [string, highlighted?] pieces
  return h("pre", null, lines.map((line) => [
    ...(Array.isArray(line) ? line : [line]).map((piece) => (typeof piece === "string"
      ? piece : h("span", { class: "hl" }, piece.hl))),
    "\n",
  ]));
}

export function emptyState() {
  return h("div", { class: "tbm-emptystate tbm-card", dataset: { empty: "1" } },
    h("h2", null, "No threshold metrics yet"),
    h("p", null, "Add two lines to your Keras script: one metric in ", h("code", null, "compile"),
      " and one callback in ", h("code", null, "fit"), ". Every epoch then writes exact per-label ",
      "confusion counts at 101 thresholds, and this tab updates while training runs."),
    code([
      "import tb_metrics_plugin as tbm",
      "",
      "model.compile(optimizer=\"adam\", loss=\"binary_crossentropy\",",
      ["              ", { hl: "metrics=[tbm.ThresholdCounts(label_names=names)]" }, ")"],
      "model.fit(x, y, validation_data=(x_val, y_val), epochs=10,",
      ["          ", { hl: "callbacks=[tbm.CountsCallback(\"logs/run1\")]" }, ")"],
    ]),
    h("p", null, "Then run ", h("code", null, "tensorboard --logdir logs"),
      ". Models that output logits: ", h("code", null, "tbm.ThresholdCounts(from_logits=True)"), "."),
    h("p", null, "Without Keras (PyTorch, JAX, a notebook), no TensorFlow needed:"),
    code([
      "counts = tbm.confusion_counts(y_true, y_score, thresholds=101, label_names=names)",
      "tbm.write_counts(\"logs/run1/validation\", \"threshold_counts\", counts, step=epoch)",
    ]));
}

export function helpNote() {
  const item = (term, ...text) => [h("dt", null, term), h("dd", null, ...text)];
  return h("details", { class: "tbm-help tbm-card" },
    h("summary", null, "What these numbers mean"),
    h("dl", null,
      item("Threshold",
        "A label is predicted positive when its score is at least the threshold (a probability). ",
        "Precision, recall and F1 are computed exactly at each stored threshold, from the counts ",
        "of true and false positives."),
      item("Logits",
        "When the model outputs logits (from_logits=True), a logit z is positive at threshold t ",
        "when z \u2265 log(t / (1 \u2212 t)): the slider shows both. t = 0.5 is logit 0."),
      item("Binary accuracy",
        "Correct (sample, label) cells over all cells: what Keras calls binary accuracy. On sparse ",
        "labels it is high even for a model that predicts nothing: compare it with the ",
        "all-negative baseline, the accuracy of predicting every label negative."),
      item("Exact-match accuracy",
        "Samples whose every label is right (subset accuracy). Much stricter than binary accuracy ",
        "when there are many labels."),
      item("Micro vs macro",
        "Micro pools the counts of all labels, so frequent labels dominate. Macro averages the ",
        "per-label scores, so every label counts the same and rare labels that fail pull it down. ",
        "Weighted averages per-label scores by support. A large micro\u2013macro gap means rare ",
        "labels are doing badly."),
      item("Best threshold",
        "Per label, the threshold of highest F1 (the middle of the first run of ties). ",
        "The download holds them as JSON: tbm.load_best_thresholds(path).predict(scores) applies them. ",
        "A label without positives has none."),
      item("Support", "Positives of the label in the data of that step (tp + fn)."),
      item("Zero division",
        "A precision or recall with nothing to divide by counts as 0, as in scikit-learn's default.")));
}
