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
      item("Keras `accuracy`",
        "Keras 3 picks what metrics=[\"accuracy\"] means from the shapes, not from the loss: an ",
        "output with one column gives BinaryAccuracy (s > 0.5); class-id labels [N] against scores ",
        "[N, C] give SparseCategoricalAccuracy; anything else, a multi-label [N, L] output included, ",
        "gives CategoricalAccuracy: argmax(y_true) == argmax(y_pred) per sample, i.e. \u201cis the ",
        "top-scoring label the first positive label\u201d (a row without positives counts as label 0). ",
        "That is the number on the Keras `accuracy` card, equal to the accuracy Keras logs; it does ",
        "not depend on the threshold. Precision@1: the share of samples whose top-scoring label is ",
        "a positive."),
      item("Binary accuracy",
        "Correct (sample, label) cells over all cells at the slider. On sparse labels it is high ",
        "even for a model that predicts nothing: compare it with the all-negative baseline, the ",
        "accuracy of predicting every label negative (differences in percentage points, pp). ",
        "We count s \u2265 t; Keras' BinaryAccuracy counts s > t: they differ only for scores ",
        "exactly on t."),
      item("Exact-match accuracy",
        "Samples whose every label is right (subset accuracy). Much stricter than binary accuracy ",
        "when there are many labels. Its baseline is the share of samples with no positive label: ",
        "what predicting nothing scores."),
      item("Samples or positions",
        "For outputs [N, T, L] or [N, H, W, L] every time step or pixel is one row of the counts: ",
        "the page then says positions. Weighted counts (sample_weight) are sums of weights."),
      item("Micro vs macro",
        "Micro pools the counts of all labels, so frequent labels dominate. Macro averages the ",
        "per-label scores, so every label counts the same and rare labels that fail pull it down. ",
        "Weighted averages per-label scores by support. A large micro\u2013macro gap means rare ",
        "labels are doing badly."),
      item("Best threshold",
        "Per label, the threshold that is best for the chosen objective: F1, F-beta (beta > 1 ",
        "favours recall), the highest recall with precision \u2265 a target, the highest precision ",
        "with recall \u2265 a target, or the lowest cost_fp \u00b7 FP + cost_fn \u00b7 FN. Ties take ",
        "the middle of the first run of tied thresholds. The download holds them as JSON with the ",
        "objective, step, run and tag: tbm.load_best_thresholds(path).predict(scores) applies them. ",
        "A label without positives, or where no threshold reaches the target, has none."),
      item("AP and ROC-AUC",
        "Average precision (scikit-learn's step sum) and the area under the ROC curve over the ",
        "stored thresholds: how well the scores rank positives above negatives, whatever the ",
        "threshold. They equal scikit-learn's when every score lies on a stored threshold, and are ",
        "the binned values otherwise."),
      item("Score distribution",
        "Positive and negative cells per threshold bin. Everything piled near 0 means the model ",
        "collapsed to predicting nothing; cells in the outer bins beyond 0 and 1 mean the scores ",
        "are not probabilities (logits read with from_logits=False)."),
      item("Reliability, ECE",
        "Per score bin, the share of positives against the bin's probability midpoint: on the ",
        "diagonal a score can be read as a probability. ECE is the cell-weighted mean distance."),
      item("Confusion matrix, top-k",
        "For single-label data (class ids [N] with scores [N, C], or one-hot with ",
        "multiclass=True) the counts also keep the C \u00d7 C matrix at argmax: rows are true ",
        "classes, columns predicted ones (first index on tied scores). Row-normalised it shows ",
        "each class's recall, column-normalised its precision. Top-k accuracy: the share of ",
        "samples whose true class is among the k highest scores (ties rank the lower class ",
        "first). Multi-label counts have no such matrix: each label is its own yes/no."),
      item("Support", "Positives of the label in the data of that step (tp + fn)."),
      item("Zero division",
        "A precision, recall or F1 with nothing to divide by (nothing predicted, or no positives) ",
        "counts as 0 (scikit-learn's default), as 1, or leaves the label out of the macro and ",
        "weighted averages: the Zero division choice above the cards.")));
}
