// Line styles of runs (colour + dash), shared by every chart that draws several runs: the
// comparison view and the explorer's "Runs overlaid" card. DOM-free except runSwatch.
//
// The rule, as a TensorBoard user reads it: the runs of one experiment (`exp/train`,
// `exp/validation`) share a colour, and the run's last path component says the dash:
// validation (and runs without a train/validation suffix) solid, train dashed, test dash-dot.
// Colours come from TensorBoard's palette (RUN_COLORS, 8). Two runs drawn in one chart never
// share a colour+dash combination: an experiment whose colour is taken takes the next free
// colour; past 8 experiments the runs take the long dash, then any free combination; only past
// STYLE_COUNT runs drawn do runs share a style, and `shared` lists them so the view says so.

import { RUN_COLORS } from "./style.js";
import { splitRun } from "./state.js";

/** Dash patterns (canvas setLineDash, px): solid, dashed, dash-dot, and long dash (overflow). */
export const RUN_DASHES = [null, [6, 4], [10, 3, 2, 3], [16, 5]];
export const DASH_NAMES = ["solid", "dashed", "dash-dot", "long dash"];
/** Distinct colour+dash combinations: more runs than this in one chart share styles. */
export const STYLE_COUNT = RUN_COLORS.length * RUN_DASHES.length;
const OVERFLOW_DASH = 3;

/**
 * The kind of a run from its last path component: "train", "validation", "test" or "" (none of
 * them). `val` and `eval` read as validation, `training` as train (state.splitRun's suffixes).
 */
export function runKind(run) {
  const split = splitRun(run).split.toLowerCase();
  if (!split) return "";
  if (split.startsWith("train")) return "train";
  if (split === "test") return "test";
  return "validation";
}

const KIND_DASH_NAME = { validation: "solid", train: "dashed", test: "dash-dot" };

/** Which dash a kind prefers: train dashed, test dash-dot, validation and others solid. */
function kindDash(kind) {
  return kind === "train" ? 1 : kind === "test" ? 2 : 0;
}

/**
 * Styles of `listed` runs (every run the page lists, in display order: a run keeps its style
 * whichever others are drawn), such that the `drawn` ones (default: all listed) never share a
 * colour+dash combination while there are at most STYLE_COUNT of them.
 *
 * Returns {styles: {run: {color, dash, dashName, kind, train}}, shared: [drawn runs whose style
 * another drawn run also has]} (shared is empty unless more than STYLE_COUNT runs are drawn).
 *
 *   runStyles(["a/train", "a/validation", "b/validation"]).styles["a/train"]
 *   // {color: "#425066", dash: [6, 4], dashName: "dashed", kind: "train", train: true}
 */
export function runStyles(listed, drawn) {
  const all = [...listed];
  const show = drawn === undefined ? all : drawn;
  for (const r of show) if (!all.includes(r)) all.push(r);
  let styles = assign(all, all);
  if (hasClash(styles, show)) {
    // only when more than STYLE_COUNT runs are listed: the drawn runs choose first
    styles = assign(all, show.concat(all.filter((r) => !show.includes(r))));
  }
  return { styles, shared: clashing(styles, show) };
}

function assign(all, order) {
  const C = RUN_COLORS.length;
  const D = RUN_DASHES.length;
  // experiments (colour groups) numbered in the order the page lists their runs
  const groups = [];
  for (const r of all) {
    const g = splitRun(r).group;
    if (!groups.includes(g)) groups.push(g);
  }
  const members = new Map();
  for (const r of order) {
    const g = splitRun(r).group;
    if (!members.has(g)) members.set(g, []);
    members.get(g).push(r);
  }
  const taken = new Set();
  const out = {};
  const put = (r, ci, di) => {
    taken.add(ci * D + di);
    const kind = runKind(r);
    out[r] = { color: RUN_COLORS[ci], dash: RUN_DASHES[di], dashName: DASH_NAMES[di], kind,
      train: kind === "train" };
  };
  for (const [g, runs] of members) {
    const home = groups.indexOf(g) % C;
    const dashes = runs.map((r) => kindDash(runKind(r)));
    const distinctKinds = new Set(dashes).size === dashes.length;
    // 1. one colour for the whole experiment, each run the dash of its kind
    let colour = -1;
    for (let k = 0; k < C && distinctKinds; k++) {
      const ci = (home + k) % C;
      if (dashes.every((di) => !taken.has(ci * D + di))) {
        colour = ci;
        break;
      }
    }
    runs.forEach((r, i) => {
      if (colour >= 0) return put(r, colour, dashes[i]);
      // 2. run by run: its kind's dash in any colour, then the long dash, then anything free
      const prefs = [dashes[i], OVERFLOW_DASH, ...RUN_DASHES.keys()];
      for (const di of prefs) {
        for (let k = 0; k < C; k++) {
          const ci = (home + k) % C;
          if (!taken.has(ci * D + di)) return put(r, ci, di);
        }
      }
      // 3. every combination is taken: share the experiment's own style (reported as shared)
      return put(r, home, dashes[i]);
    });
  }
  return out;
}

function key(s) {
  return `${s.color}\u0000${s.dashName}`;
}

function clashing(styles, runs) {
  const count = new Map();
  for (const r of runs) count.set(key(styles[r]), (count.get(key(styles[r])) || 0) + 1);
  return runs.filter((r) => count.get(key(styles[r])) > 1);
}

function hasClash(styles, runs) {
  return clashing(styles, runs).length > 0;
}

/**
 * What the drawn runs' line styles mean, in words: "Colour: experiment; solid: validation,
 * dashed: train." (only the kinds drawn), plus how many runs past the palette take another dash.
 * "" when every run is its own solid line (nothing to explain). styles: [style] as runStyles.
 */
export function styleNote(styles) {
  const parts = [];
  for (const [kind, dash] of Object.entries(KIND_DASH_NAME)) {
    if (styles.some((s) => s.kind === kind && s.dashName === dash)) parts.push(`${dash}: ${kind}`);
  }
  const kinds = new Set(styles.map((s) => s.kind));
  let text = kinds.size > 1 || parts.length > 1 ? `Colour: experiment; ${parts.join(", ")}.` : "";
  const off = styles.filter((s) => s.dashName !== (KIND_DASH_NAME[s.kind] || "solid")).length;
  if (off) {
    text += ` ${off} run${off > 1 ? "s" : ""} past the palette's ${RUN_COLORS.length} colours ` +
      `take${off > 1 ? "" : "s"} another dash: see the swatch beside each name.`;
  }
  return text.trim();
}

/** The sentence that says `n` of the `total` drawn runs share a line style with another. */
export function sharedNote(n, total) {
  return `${n} of the ${total} runs drawn share a line style (there are only ${STYLE_COUNT} ` +
    "colour and dash combinations): the legend, the tooltip and the table name each run.";
}

/** CSS background that draws `dash` in `color` along a swatch ("none" for a solid line). */
export function dashBackground(color, dash) {
  if (!dash) return "none";
  const stops = [];
  let x = 0;
  dash.forEach((len, i) => {
    const c = i % 2 === 0 ? color : "transparent";
    stops.push(`${c} ${x}px ${x + len}px`);
    x += len;
  });
  return `repeating-linear-gradient(to right, ${stops.join(", ")})`;
}

/** A legend swatch (.tbm-swatch, a span or `tag`) drawn with the style's colour and dash. */
export function runSwatch(style, tag = "span") {
  const sw = document.createElement(tag);
  sw.className = "tbm-swatch" + (style.dash ? " dash" : "");
  sw.style.borderTopColor = style.color; // tests and readers take the colour from here
  if (style.dash) sw.style.backgroundImage = dashBackground(style.color, style.dash);
  sw.title = style.dashName;
  return sw;
}
