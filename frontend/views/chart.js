// Thin wrapper over the vendored uPlot: line charts sized to their container, a threshold
// marker (a DOM line and dots over the plot, so moving it never redraws the canvas) and a hover
// tooltip that writes text only.

import uPlot from "../vendor/uPlot-1.6.32.esm.js";
import { COLORS } from "../style.js";

const AXIS = {
  stroke: COLORS.muted,
  grid: { stroke: COLORS.grid, width: 1 },
  ticks: { stroke: COLORS.border, width: 1, size: 4 },
  font: '11px Roboto, "Helvetica Neue", Arial, sans-serif',
  labelFont: '11px Roboto, "Helvetica Neue", Arial, sans-serif',
};

function axis(extra) {
  return { ...AXIS, grid: { ...AXIS.grid }, ticks: { ...AXIS.ticks }, ...extra };
}

function seriesOpts(s, facets) {
  const o = {
    label: s.label,
    stroke: s.color,
    width: s.width || 1.5,
    dash: s.dash || undefined,
    spanGaps: true,
    points: { show: false },
  };
  if (facets) {
    o.facets = [{ scale: "x", auto: false }, { scale: "y", auto: false }];
    o.paths = uPlot.paths.linear();
  }
  if (s.stepped) o.paths = uPlot.paths.stepped({ align: 1 }); // histogram: value held to next x
  if (s.fill) o.fill = s.fill;
  if (s.lonePoints && !facets) {
    // a series with a single defined value draws no line: show its point (size lonePoints)
    o.points = { show: (u, si) => definedCount(u.data[si]) === 1, size: s.lonePoints, width: 1,
      stroke: s.color, fill: s.color };
  }
  if (s.points) {
    // scatter (reliability diagram): dots only, sized by s.points
    o.points = { show: true, size: s.points, width: 1, stroke: s.color, fill: s.color };
    o.paths = () => null;
  }
  return o;
}

function definedCount(values) {
  let n = 0;
  for (const v of values || []) if (v !== null && v !== undefined && v === v) n++;
  return n;
}

function tipEl() {
  let tip = document.querySelector(".tbm-tip");
  if (!tip) {
    tip = document.createElement("div");
    tip.className = "tbm-tip";
    document.body.appendChild(tip);
  }
  return tip;
}

/**
 * new LineChart(container, {series: [{label, color, dash, width}], height, xRange, yRange
 *   ([min, max], or a function returning it, asked again on every setData),
 *   xLabel, yLabel, facets (PR curve: each series its own x), xIncrs (tick spacings), xTicks,
 *   tooltip(idx) -> text}); a series' lonePoints (px) draws its point when it has one value.
 * The container keeps the chart as `container.tbmChart` (tests read the drawn series from it).
 */
export class LineChart {
  constructor(container, opts) {
    this.el = container;
    this.opts = opts;
    this.marker = null;
    this.markerX = null;
    this.markerPts = [];
    const facets = !!opts.facets;
    const width = Math.max(200, container.clientWidth || 300);
    const uopts = {
      width,
      height: opts.height || 220,
      mode: facets ? 2 : 1,
      legend: { show: false },
      cursor: facets
        ? { show: false }
        : { drag: { x: false, y: false }, points: { show: false }, y: false },
      select: { show: false },
      scales: {
        // A fixed [min, max] range stays; a range function (e.g. a y-axis shared by several
        // charts) is asked again on every setData, so the axis always holds the data drawn.
        x: { time: false, auto: !opts.xRange || typeof opts.xRange === "function",
          range: opts.xRange || undefined },
        y: { auto: !opts.yRange || typeof opts.yRange === "function",
          range: opts.yRange || undefined },
      },
      axes: [
        axis({ label: opts.xLabel, labelSize: opts.xLabel ? 14 : 0, size: 26, values: opts.xValues,
          splits: opts.xSplits, incrs: opts.xIncrs }),
        axis({ label: opts.yLabel, labelSize: opts.yLabel ? 18 : 0, size: opts.ySize || 40,
          values: opts.yValues, splits: opts.ySplits }),
      ],
      series: [facets ? {} : { label: opts.xLabel || "x" },
        ...opts.series.map((s) => seriesOpts(s, facets))],
      hooks: {
        setSize: [() => this._placeMarker()],
        setScale: [() => this._placeMarker()],
        setCursor: opts.tooltip ? [(u) => this._cursor(u)] : [],
      },
    };
    const empty = facets ? [null, ...opts.series.map(() => [[], []])]
      : [[], ...opts.series.map(() => [])];
    this.u = new uPlot(uopts, empty, container);
    container.tbmChart = this;
    if (opts.tooltip) {
      this.u.over.addEventListener("mouseleave", () => {
        tipEl().style.display = "none";
      });
    }
    this._ro = new ResizeObserver(() => this.resize());
    this._ro.observe(container);
  }

  resize() {
    const w = Math.floor(this.el.clientWidth);
    if (w > 0 && Math.abs(w - this.u.width) > 1) {
      this.u.setSize({ width: w, height: this.opts.height || 220 });
    }
  }

  setData(data, resetScales = true) {
    this.u.setData(data, resetScales);
    this._placeMarker();
  }

  /** Vertical marker at x (null hides it) and dots at [{x?, y, color}] (y null: no dot). */
  setMarker(x, points) {
    this.markerX = x;
    this.markerPts = points || [];
    this._placeMarker();
  }

  _placeMarker() {
    const u = this.u;
    if (!u || !u.over) return;
    if (!this.marker) {
      this.marker = document.createElement("div");
      this.marker.className = "tbm-marker";
      u.over.appendChild(this.marker);
      this.dots = [];
    }
    const facets = !!this.opts.facets;
    if (this.markerX === null || this.markerX === undefined || facets) {
      this.marker.style.display = "none";
    } else {
      this.marker.style.display = "";
      this.marker.style.left = `${u.valToPos(this.markerX, "x")}px`;
    }
    const pts = this.markerPts;
    while (this.dots.length < pts.length) {
      const d = document.createElement("div");
      d.className = "tbm-mdot";
      u.over.appendChild(d);
      this.dots.push(d);
    }
    for (let i = 0; i < this.dots.length; i++) {
      const d = this.dots[i];
      const p = pts[i];
      const px = p ? (p.x !== undefined ? p.x : this.markerX) : null;
      if (!p || p.y === null || p.y !== p.y || px === null || px !== px) {
        d.style.display = "none";
        continue;
      }
      d.style.display = "";
      d.style.left = `${u.valToPos(px, "x")}px`;
      d.style.top = `${u.valToPos(p.y, "y")}px`;
      d.style.background = p.color;
    }
  }

  _cursor(u) {
    const tip = tipEl();
    const idx = u.cursor.idx;
    if (idx === null || idx === undefined || u.cursor.left < 0) {
      tip.style.display = "none";
      return;
    }
    const text = this.opts.tooltip(idx);
    if (!text) {
      tip.style.display = "none";
      return;
    }
    tip.textContent = text; // never HTML: run and label names are user data
    tip.style.display = "block";
    const rect = u.over.getBoundingClientRect();
    const x = rect.left + u.cursor.left + 14;
    const y = rect.top + u.cursor.top + 10;
    const w = tip.offsetWidth;
    tip.style.left = `${x + w > window.innerWidth ? x - w - 28 : x}px`;
    tip.style.top = `${Math.min(y, window.innerHeight - tip.offsetHeight - 4)}px`;
  }

  destroy() {
    this._ro.disconnect();
    this.u.destroy();
  }
}

/** Shared tooltip for canvas views (text only). */
export function showTip(text, clientX, clientY) {
  const tip = tipEl();
  if (!text) {
    tip.style.display = "none";
    return;
  }
  tip.textContent = text;
  tip.style.display = "block";
  const w = tip.offsetWidth;
  const x = clientX + 14 + w > window.innerWidth ? clientX - w - 14 : clientX + 14;
  tip.style.left = `${x}px`;
  tip.style.top = `${Math.min(clientY + 12, window.innerHeight - tip.offsetHeight - 4)}px`;
}

/** A legend (DOM, text only): items [{label, color, dash}] -> {el, values: [span...]}. */
export function legend(items) {
  const el = document.createElement("div");
  el.className = "tbm-legend";
  const values = items.map((it) => {
    const span = document.createElement("span");
    const sw = document.createElement("i");
    if (it.dash) sw.className = "dash";
    sw.style.borderTopColor = it.color;
    span.appendChild(sw);
    span.appendChild(document.createTextNode(`${it.label} `));
    const b = document.createElement("b");
    span.appendChild(b);
    el.appendChild(span);
    return b;
  });
  return { el, values };
}
