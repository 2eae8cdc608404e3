// The data warnings banner: what the explorer answer says about the data itself (scores outside
// [0, 1] read as probabilities, scores all in [0, 1] read as logits, NaN scores) and steps that
// could not be read. Text only.

import { h } from "../dom.js";

const TITLES = {
  out_of_range: "These look like logits",
  probabilities_as_logits: "These look like probabilities",
  nan: "NaN scores",
  read: "Unreadable steps",
};

/** -> {el, set(warnings: [{kind, message}])} */
export function warningsBanner() {
  const list = h("ul", { class: "tbm-warnlist" });
  const el = h("div", { class: "tbm-banner tbm-hidden", role: "alert", dataset: { dataWarnings: "1" } }, list);
  return {
    el,
    set(warnings) {
      const items = (warnings || []).filter((w) => w && w.message);
      list.replaceChildren(...items.map((w) => h("li", { dataset: { kind: w.kind || "" } },
        h("b", null, `${TITLES[w.kind] || "Note"}: `), w.message)));
      el.classList.toggle("tbm-hidden", items.length === 0);
    },
  };
}
