// Pickers of the explorer's options: the objective that defines each label's "best threshold"
// (with its parameter) and scikit-learn's zero_division. Both write the store (state keys
// `objective` = {metric, params} and `zeroDivision` = "0" | "1" | "nan"); other views read them.

import { h } from "../dom.js";
import { OBJECTIVES, normalizeObjective, objectiveParamError } from "../objectives.js";

const PARAM_LABELS = {
  beta: "beta", precision: "precision \u2265", recall: "recall \u2265", cost_fp: "cost of a FP",
  cost_fn: "cost of a FN",
};

export class ObjectivePicker {
  /** onChange({metric, params}) is called with a valid objective only. */
  constructor(onChange) {
    this.onChange = onChange;
    this.value = normalizeObjective(null);
    this.select = h("select", { "aria-label": "Best threshold objective", dataset: { objective: "metric" },
      onchange: () => this._metric(this.select.value) },
    Object.entries(OBJECTIVES).map(([k, o]) => h("option", { value: k }, o.title)));
    this.paramsEl = h("span", { class: "tbm-params" });
    this.errEl = h("span", { class: "tbm-err tbm-small", role: "status" });
    this.el = h("span", { class: "tbm-field", title: "What each label's best threshold maximises " +
      "(or, for cost, minimises): drives the Best t / Best value columns, the download and " +
      "\u201cat each label's best\u201d in the other views" },
    h("span", null, "Best threshold by"), this.select, this.paramsEl, this.errEl);
    this._renderParams();
  }

  set(objective) {
    const o = normalizeObjective(objective);
    if (JSON.stringify(o) === JSON.stringify(this.value)) return;
    this.value = o;
    this.select.value = o.metric;
    this._renderParams();
  }

  _metric(metric) {
    this.value = normalizeObjective({ metric, params: {} });
    this._renderParams();
    this.onChange(this.value);
  }

  _renderParams() {
    const { metric, params } = this.value;
    this.select.value = metric;
    this.errEl.textContent = "";
    this.paramsEl.replaceChildren(...Object.keys(OBJECTIVES[metric].params).map((k) => {
      const input = h("input", { type: "number", step: "any", value: String(params[k]),
        "aria-label": k, dataset: { objectiveParam: k }, class: "tbm-num" });
      input.addEventListener("change", () => {
        const err = objectiveParamError(k, input.value);
        this.errEl.textContent = err || "";
        input.classList.toggle("bad", !!err);
        if (err) return;
        this.value = { metric, params: { ...this.value.params, [k]: Number(input.value) } };
        this.onChange(this.value);
      });
      return h("label", { class: "tbm-field" }, h("span", null, PARAM_LABELS[k] || k), input);
    }));
  }
}

export class ZeroDivisionPicker {
  constructor(onChange) {
    this.select = h("select", { "aria-label": "Zero division", dataset: { zeroDivision: "1" },
      onchange: () => onChange(this.select.value) },
    h("option", { value: "0" }, "0"),
    h("option", { value: "1" }, "1"),
    h("option", { value: "nan" }, "leave the label out"));
    this.el = h("label", { class: "tbm-field", title: "Precision, recall or F1 with nothing to " +
      "divide by (nothing predicted, or no positives): 0 or 1, or leave the label out of the " +
      "macro and weighted averages (scikit-learn's zero_division=0, 1 or nan)" },
    h("span", null, "Zero division"), this.select);
  }

  set(value) {
    this.select.value = value;
  }
}
