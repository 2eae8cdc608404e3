// The dashboard's stylesheet, injected as <style> text (TensorBoard's CSP allows inline styles).
// Colours follow TensorBoard: orange accent, blue for selection, its run palette for series.

export const COLORS = {
  accent: "#f57c00",
  blue: "#1976d2",
  text: "#212121",
  muted: "#616161",
  faint: "#9e9e9e",
  grid: "#eceff1",
  border: "#e0e0e0",
  precision: "#12b5cb",
  recall: "#e8710a",
  f1: "#425066",
  binary: "#1976d2",
  exact: "#e52592",
  allNegative: "#9e9e9e",
  label: "#f57c00",
};

/** TensorBoard's run colour palette, for runs in the comparison view. */
export const RUN_COLORS = [
  "#425066", "#12b5cb", "#e52592", "#f9ab00", "#9334e6", "#7cb342", "#e8710a", "#1976d2",
];

export const CSS = `
:root { color-scheme: light; }
html, body { margin: 0; padding: 0; background: #f5f5f5; }
.tbm {
  font-family: Roboto, "Helvetica Neue", "Segoe UI", Arial, sans-serif;
  font-size: 13px; color: ${COLORS.text}; line-height: 1.4;
  padding: 12px 16px 24px; box-sizing: border-box; min-height: 100vh;
}
.tbm *, .tbm *::before, .tbm *::after { box-sizing: border-box; }
.tbm h2 { font-size: 15px; font-weight: 500; margin: 0; }
.tbm h3 { font-size: 13px; font-weight: 500; margin: 0 0 6px; color: ${COLORS.text}; }
.tbm-muted { color: ${COLORS.muted}; }
.tbm-small { font-size: 12px; }

/* toolbar */
.tbm-toolbar {
  display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px;
  background: #fff; border: 1px solid ${COLORS.border}; border-radius: 4px; padding: 8px 12px;
}
.tbm-field { display: flex; align-items: center; gap: 6px; }
.tbm-field > span { color: ${COLORS.muted}; font-size: 12px; }
.tbm select, .tbm input[type=search], .tbm input[type=text] {
  font: inherit; font-size: 13px; padding: 4px 6px; border: 1px solid #bdbdbd; border-radius: 3px;
  background: #fff; color: ${COLORS.text}; max-width: 260px;
}
.tbm select[data-picker=run] { max-width: min(520px, 100%); } /* run names up to ~60 chars whole */
.tbm select:focus, .tbm input:focus { outline: 2px solid ${COLORS.blue}33; border-color: ${COLORS.blue}; }
.tbm-spacer { flex: 1; }
.tbm-btn {
  font: inherit; font-size: 12px; font-weight: 500; letter-spacing: .02em; text-transform: uppercase;
  color: ${COLORS.accent}; background: #fff; border: 1px solid ${COLORS.accent}; border-radius: 3px;
  padding: 5px 10px; cursor: pointer; text-decoration: none; display: inline-flex; align-items: center;
  gap: 4px; white-space: nowrap;
}
.tbm-btn:hover { background: #fff3e0; }
.tbm-btn[aria-disabled=true] { color: #bdbdbd; border-color: #e0e0e0; pointer-events: none; }
.tbm-live { font-size: 12px; color: ${COLORS.muted}; display: flex; align-items: center; gap: 6px; }
.tbm-dot { width: 8px; height: 8px; border-radius: 50%; background: #bdbdbd; display: inline-block; }
.tbm-live.on .tbm-dot { background: #43a047; }
.tbm-live.err .tbm-dot { background: #e53935; }

/* tabs */
.tbm-tabs { display: flex; gap: 4px; margin: 12px 0 0; border-bottom: 1px solid ${COLORS.border}; }
.tbm-tab {
  font: inherit; font-size: 13px; font-weight: 500; background: none; border: 0; cursor: pointer;
  padding: 8px 14px; color: ${COLORS.muted}; border-bottom: 2px solid transparent; margin-bottom: -1px;
}
.tbm-tab[aria-selected=true] { color: ${COLORS.accent}; border-bottom-color: ${COLORS.accent}; }
.tbm-tab:hover { color: ${COLORS.text}; }

/* threshold bar */
.tbm-threshold {
  display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px; margin: 12px 0;
  background: #fff; border: 1px solid ${COLORS.border}; border-radius: 4px; padding: 8px 12px;
}
.tbm-threshold input[type=range] { flex: 1; min-width: 200px; accent-color: ${COLORS.accent}; }
.tbm-tval { font-variant-numeric: tabular-nums; font-weight: 500; min-width: 190px; white-space: pre; }
.tbm-seg { display: inline-flex; border: 1px solid #bdbdbd; border-radius: 3px; overflow: hidden; }
.tbm-seg button {
  font: inherit; font-size: 12px; border: 0; background: #fff; padding: 4px 10px; cursor: pointer;
  color: ${COLORS.muted};
}
.tbm-seg button + button { border-left: 1px solid #bdbdbd; }
.tbm-seg button[aria-pressed=true] { background: ${COLORS.accent}; color: #fff; }

/* cards */
.tbm-card { contain: layout style; background: #fff; border: 1px solid ${COLORS.border}; border-radius: 4px; padding: 10px 12px; }
.tbm-kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 8px; margin-bottom: 12px; }
.tbm-kpi .v { font-size: 22px; font-weight: 400; font-variant-numeric: tabular-nums; }
.tbm-kpi .k { font-size: 12px; color: ${COLORS.muted}; }
.tbm-kpi .s { font-size: 11px; color: ${COLORS.faint}; font-variant-numeric: tabular-nums; }
.tbm-kpi.warn .s { color: #d84315; }
.tbm-grid3 { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 12px; margin-bottom: 12px; }
.tbm-grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 12px; margin-bottom: 12px; }
.tbm-chart { position: relative; min-height: 220px; }
.tbm-legend { display: flex; flex-wrap: wrap; gap: 4px 12px; font-size: 12px; color: ${COLORS.muted}; margin-top: 4px; }
.tbm-legend i { display: inline-block; width: 16px; height: 0; border-top: 2px solid; vertical-align: middle; margin-right: 4px; }
.tbm-legend i.dash { border-top-style: dashed; }
.tbm-legend b { font-weight: 500; color: ${COLORS.text}; font-variant-numeric: tabular-nums; }
.tbm-marker { position: absolute; top: 0; bottom: 0; width: 0; border-left: 1.5px solid rgba(33,33,33,.6); pointer-events: none; }
.tbm-mdot { position: absolute; width: 8px; height: 8px; margin: -4px 0 0 -4px; border-radius: 50%; border: 2px solid #fff; pointer-events: none; box-shadow: 0 0 0 1px rgba(0,0,0,.15); }
.tbm-tip {
  font-family: Roboto, "Helvetica Neue", "Segoe UI", Arial, sans-serif; line-height: 1.45;
  position: fixed; z-index: 10; pointer-events: none; background: rgba(33,33,33,.92); color: #fff;
  font-size: 12px; padding: 6px 8px; border-radius: 3px; max-width: 320px; white-space: pre-line;
  font-variant-numeric: tabular-nums; display: none;
  /* names wrap at their own break points ("/", spaces), mid-word only when one part alone is
     wider than the tip (compare.js keeps hyphens unbroken) */
  overflow-wrap: break-word; word-break: normal;
}

/* per-label table (virtualised) */
.tbm-tablebar { display: flex; align-items: center; gap: 12px; margin-bottom: 8px; flex-wrap: wrap; }
.tbm-table { border: 1px solid ${COLORS.border}; border-radius: 3px; overflow: hidden; }
.tbm-thead, .tbm-row {
  display: grid; grid-template-columns: minmax(140px, 2.2fr) 0.8fr 0.8fr 0.8fr 1.4fr 0.8fr 1.4fr;
  align-items: center; column-gap: 8px; padding: 0 10px;
}
.tbm-thead { background: #fafafa; border-bottom: 1px solid ${COLORS.border}; height: 32px; }
.tbm-thead button {
  font: inherit; font-size: 12px; font-weight: 500; color: ${COLORS.muted}; background: none; border: 0;
  cursor: pointer; text-align: right; padding: 0; white-space: nowrap;
}
.tbm-thead button.l, .tbm-row .l { text-align: left; }
.tbm-thead button[aria-sort=ascending]::after { content: " \\25B2"; font-size: 9px; color: ${COLORS.accent}; }
.tbm-thead button[aria-sort=descending]::after { content: " \\25BC"; font-size: 9px; color: ${COLORS.accent}; }
.tbm-body { position: relative; overflow-y: auto; max-height: 460px; background: #fff; }
.tbm-rows { position: relative; }
.tbm-row {
  position: absolute; left: 0; right: 0; height: 26px; border-bottom: 1px solid #f3f3f3; contain: strict;
  font-variant-numeric: tabular-nums; cursor: pointer;
}
.tbm-row:hover { background: #fafafa; }
.tbm-row.sel { background: #e3f2fd; }
.tbm-row > span { text-align: right; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.tbm-row .l { font-variant-numeric: normal; }
.tbm-row .nanw { color: #d84315; font-size: 11px; margin-left: 4px; }
.tbm-bar { display: flex; align-items: center; gap: 6px; justify-content: flex-end; }
.tbm-bar > i { display: block; height: 8px; border-radius: 2px; flex: 0 0 auto; }
.tbm-bar > em { font-style: normal; min-width: 38px; text-align: right; }
.tbm-barbg { flex: 1; max-width: 70px; height: 8px; background: #f1f1f1; border-radius: 2px; position: relative; }
.tbm-barbg > i { position: absolute; left: 0; top: 0; bottom: 0; border-radius: 2px; }
.tbm-empty-rows { padding: 16px; color: ${COLORS.muted}; }

/* per-label F1 view */
.tbm-rank { position: relative; overflow-y: auto; overflow-x: hidden; max-height: 560px; border: 1px solid ${COLORS.border}; border-radius: 3px; background: #fff; }
.tbm-rank canvas { position: sticky; top: 0; left: 0; display: block; }
.tbm-rank-spacer { width: 1px; }
.tbm-chips { display: flex; flex-wrap: wrap; gap: 6px; margin: 6px 0 10px; }
.tbm-chip { font-size: 12px; border-radius: 12px; padding: 2px 10px; background: #fbe9e7; color: #bf360c; cursor: pointer; border: 0; font-family: inherit; }
.tbm-chip:hover { background: #ffccbc; }
.tbm-scale { display: flex; align-items: center; gap: 6px; font-size: 11px; color: ${COLORS.muted}; }
.tbm-scale canvas { border-radius: 2px; }

/* compare view */
.tbm-fixed3 { grid-template-columns: repeat(3, minmax(0, 1fr)); }
@media (max-width: 900px) { .tbm-fixed3 { grid-template-columns: minmax(0, 1fr); } }
.tbm-summary { width: 100%; border-collapse: collapse; font-size: 12px; font-variant-numeric: tabular-nums; }
.tbm-summary th { font-weight: 500; color: ${COLORS.muted}; text-align: right; padding: 4px 4px; border-bottom: 1px solid ${COLORS.border}; white-space: nowrap; }
.tbm-summary td { text-align: right; padding: 5px 4px; border-bottom: 1px solid #f3f3f3; white-space: nowrap; }
.tbm-summary th:first-child, .tbm-summary td.l { text-align: left; max-width: 150px; overflow: hidden; text-overflow: ellipsis; }
.tbm-summary td.warn { color: #d84315; font-weight: 500; }
.tbm-runs { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 6px 0 10px; }
.tbm-runs label { display: inline-flex; align-items: center; gap: 6px; font-size: 12px; cursor: pointer; }
.tbm-swatch { display: inline-block; width: 18px; height: 0; border-top: 3px solid; }
.tbm-swatch.dash, .tbm-legend i.tbm-swatch.dash { border-top-width: 0; height: 3px; } /* dash: run_styles.dashBackground */
.tbm-legend i.tbm-swatch { width: 22px; border-top-width: 2px; }
.tbm-legend i.tbm-swatch.dash { height: 2px; }
.tbm-runlegend { flex-direction: column; gap: 2px; }
.tbm-runlegend > span { overflow-wrap: anywhere; transition: opacity .1s; }
.tbm-runlegend > span b { font-variant-numeric: normal; }
.tbm-faded { opacity: .35; }

/* confusion matrix view */
.tbm-cm { display: grid; grid-template-columns: minmax(0, 1fr) 340px; gap: 12px; margin-bottom: 12px; align-items: start; }
@media (max-width: 900px) { .tbm-cm { grid-template-columns: minmax(0, 1fr); } }
.tbm-cm-box { position: relative; min-height: 120px; }
.tbm-cm-matrix { position: absolute; image-rendering: pixelated; }
.tbm-cm-overlay { position: relative; display: block; }
.tbm-cm-top { list-style: none; margin: 0; padding: 0; font-size: 12px; font-variant-numeric: tabular-nums; }
.tbm-cm-item { display: grid; grid-template-columns: minmax(0, 1fr) auto auto auto; gap: 8px; width: 100%;
  font: inherit; text-align: right; background: none; border: 0; border-bottom: 1px solid #f3f3f3; padding: 4px 2px; cursor: pointer; color: ${COLORS.text}; }
.tbm-cm-item .l { text-align: left; overflow-wrap: anywhere; }
.tbm-cm-slider { display: flex; align-items: center; gap: 8px 16px; margin: 4px 0 0; }
.tbm-cm-slider input[type=range] { flex: 1; min-width: 200px; accent-color: ${COLORS.accent}; }
.tbm-cm-step { font-variant-numeric: tabular-nums; font-weight: 500; min-width: 90px; }
.tbm-cm-item:hover { background: #fafafa; }
.tbm-cm-item.sel { background: #e3f2fd; }
.tbm-cm-item .up { color: #d84315; }
.tbm-cm-item .down { color: #2e7d32; }
/* run names wrap after "/" (<wbr>), and inside a part only where it alone is wider than the
   column: the table fits its card (which spans the grid's row), never scrolls, never cuts a name */
.tbm-summary td.l { white-space: normal; overflow-wrap: anywhere; word-break: normal; max-width: none; overflow: visible; text-overflow: clip; }
.tbm-summary-scroll { overflow-x: auto; }
.tbm-span-all { grid-column: 1 / -1; }
.tbm-summary th { white-space: normal; vertical-align: bottom; }
.tbm-summary td, .tbm-summary th { padding-left: 3px; padding-right: 3px; }
/* the swatch hangs left of the name, so a wrapped name's lines start under each other */
.tbm-summary td.l, .tbm-summary th:first-child { padding-left: 27px; }
.tbm-summary td.l > .tbm-swatch { float: left; margin: 7px 0 0 -24px; }

/* messages */
.tbm-banner { margin: 10px 0; padding: 8px 12px; border-radius: 4px; background: #fff3e0; color: #e65100; border: 1px solid #ffe0b2; }
.tbm-banner.err { background: #ffebee; color: #c62828; border-color: #ffcdd2; }
.tbm-emptystate { max-width: 760px; margin: 40px auto; }
.tbm-emptystate pre, .tbm-help pre {
  background: #263238; color: #eceff1; padding: 12px 14px; border-radius: 4px; overflow-x: auto;
  font-family: "Roboto Mono", Menlo, Consolas, monospace; font-size: 12.5px; line-height: 1.5;
}
.tbm-emptystate .hl { color: #ffb74d; }
.tbm-help { margin-top: 16px; }
.tbm-help summary { cursor: pointer; color: ${COLORS.blue}; font-weight: 500; }
.tbm-help dl { display: grid; grid-template-columns: 170px 1fr; gap: 6px 16px; margin: 10px 0 0; }
.tbm-help dt { font-weight: 500; }
.tbm-help dd { margin: 0; color: #424242; }
.tbm-hidden { display: none !important; }
.tbm-loading { opacity: .55; transition: opacity .15s; }
/* explorer: options, trap sentence, card bars, data warnings, 9-column table */
.tbm-options { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 20px; margin: 0 0 10px; }
.tbm-params { display: inline-flex; gap: 10px; }
.tbm-num { font: inherit; font-size: 13px; width: 70px; padding: 3px 5px; border: 1px solid #bdbdbd; border-radius: 3px; }
.tbm-num.bad { border-color: #e53935; }
.tbm-err, .tbm-warntext { color: #d84315; }
.tbm-single { margin: 0 0 12px; padding: 8px 12px; border-radius: 4px; background: #e3f2fd; color: #0d47a1; border: 1px solid #bbdefb; }
.tbm-trap { margin: -4px 0 12px; padding: 8px 12px; border-radius: 4px; background: #fbe9e7; color: #bf360c; border: 1px solid #ffccbc; font-weight: 500; }
.tbm-cardbar { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; margin-bottom: 6px; }
.tbm-cardbar h3 { margin: 0; flex: 1; }
.tbm-warnlist { margin: 0; padding-left: 18px; }
.tbm-warnlist li + li { margin-top: 4px; }
.tbm-btn:disabled { color: #bdbdbd; border-color: #e0e0e0; cursor: default; background: #fff; }
.tbm-view[data-view=explorer] .tbm-thead, .tbm-view[data-view=explorer] .tbm-row {
  grid-template-columns: minmax(140px, 2.2fr) 0.9fr 0.8fr 0.8fr 1.4fr 0.7fr 0.8fr 0.7fr 1.4fr;
}
`;
