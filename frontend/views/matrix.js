// Pure helpers of the confusion-matrix view (DOM-free, tested in node): normalisation, the
// difference of two matrices, the clustered class order and the top confusions. A matrix is a
// flat row-major array of C*C numbers: rows are the true class, columns the predicted class
// (as the `confusion` route sends it and as scikit-learn's confusion_matrix lays it out).

export const NORMALISE = ["counts", "recall", "precision"];

/** Row sums [C] (samples of each true class) and column sums [C] (predictions of each class). */
export function sums(matrix, C) {
  const rows = new Float64Array(C);
  const cols = new Float64Array(C);
  for (let r = 0; r < C; r++) {
    let s = 0;
    const o = r * C;
    for (let c = 0; c < C; c++) {
      const v = matrix[o + c];
      s += v;
      cols[c] += v;
    }
    rows[r] = s;
  }
  return { rows, cols };
}

/**
 * The matrix as drawn: "counts" (a copy), "recall" (each row divided by its sum: the share of
 * the true class predicted as each class; the diagonal is per-class recall) or "precision"
 * (each column divided by its sum; the diagonal is per-class precision). A row or column with
 * sum 0 gives NaN (nothing to divide), never 0. Returns a Float64Array of C*C.
 */
export function normalise(matrix, C, mode = "counts") {
  if (!NORMALISE.includes(mode)) {
    throw new Error(`Expected normalise mode in ${NORMALISE.join(", ")}; received ${mode}.`);
  }
  const out = Float64Array.from(matrix);
  if (mode === "counts") return out;
  const { rows, cols } = sums(matrix, C);
  for (let r = 0; r < C; r++) {
    const o = r * C;
    for (let c = 0; c < C; c++) {
      const den = mode === "recall" ? rows[r] : cols[c];
      out[o + c] = den > 0 ? out[o + c] / den : NaN;
    }
  }
  return out;
}

/** a - b elementwise (both already normalised the same way); NaN where either is NaN. */
export function diff(a, b) {
  if (a.length !== b.length) {
    throw new Error(`Expected matrices of one size to subtract; received ${a.length} and ${b.length} cells.`);
  }
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] - b[i];
  return out;
}

/**
 * Class order that puts classes confused with each other next to each other.
 *
 * Rule (greedy chaining of the symmetrised off-diagonal matrix S = M + M^T, diagonal 0): start
 * a chain with the class of largest total confusion sum_j S[i, j]; then repeatedly attach, to
 * whichever end of the chain it binds more strongly, the unplaced class with the largest S to
 * that end; when no unplaced class is confused with either end (S = 0), start a new chain with
 * the unplaced class of largest total confusion. Ties take the lower class index. Classes with
 * no confusion at all come last, in label order. O(C^2) time, O(C) extra memory.
 */
export function clusterOrder(matrix, C) {
  const s = (i, j) => matrix[i * C + j] + matrix[j * C + i];
  const total = new Float64Array(C);
  for (let i = 0; i < C; i++) {
    let t = 0;
    for (let j = 0; j < C; j++) if (j !== i) t += s(i, j);
    total[i] = t;
  }
  const placed = new Uint8Array(C);
  const order = [];
  const seed = () => {
    let best = -1;
    for (let i = 0; i < C; i++) {
      if (!placed[i] && total[i] > 0 && (best < 0 || total[i] > total[best])) best = i;
    }
    return best;
  };
  let left = [];
  let right = [];
  const flush = () => {
    for (let i = left.length - 1; i >= 0; i--) order.push(left[i]);
    for (const x of right) order.push(x);
    left = [];
    right = [];
  };
  let first = seed();
  while (first >= 0) {
    placed[first] = 1;
    right.push(first);
    let head = first;
    let tail = first;
    for (;;) {
      let bj = -1;
      let bv = 0;
      let atHead = false;
      for (let j = 0; j < C; j++) {
        if (placed[j]) continue;
        const vt = s(tail, j);
        const vh = head === tail ? 0 : s(head, j);
        if (vt > bv) { bv = vt; bj = j; atHead = false; }
        if (vh > bv) { bv = vh; bj = j; atHead = true; }
      }
      if (bj < 0) break;
      placed[bj] = 1;
      if (atHead) { left.push(bj); head = bj; } else { right.push(bj); tail = bj; }
    }
    flush();
    first = seed();
  }
  for (let i = 0; i < C; i++) if (!placed[i]) order.push(i);
  return Int32Array.from(order);
}

/** Label order 0..C-1. */
export function identityOrder(C) {
  const o = new Int32Array(C);
  for (let i = 0; i < C; i++) o[i] = i;
  return o;
}

/**
 * The k largest off-diagonal cells: [{trueClass, predicted, count, share}] where share is the
 * count over the true class's samples (its row sum), largest count first (ties: lower true
 * class, then lower predicted class). Cells of 0 are left out. With `against` (another matrix
 * of the same size) each item also has `before` (its count there) and `delta`. `nz`: the
 * matrix's non-zero cells (`nonZeroCells`) when already known: O(non-zero cells) then.
 */
export function topConfusions(matrix, C, k = 10, against = null, nz = null) {
  const cells = nz || nonZeroCells(matrix);
  const rows = new Float64Array(C);
  for (let q = 0; q < cells.length; q++) rows[(cells[q] / C) | 0] += matrix[cells[q]];
  const items = [];
  for (let q = 0; q < cells.length; q++) {
    const idx = cells[q];
    const r = (idx / C) | 0;
    const c = idx - r * C;
    const v = matrix[idx];
    if (r === c || !(v > 0)) continue;
    items.push({ trueClass: r, predicted: c, count: v, share: rows[r] > 0 ? v / rows[r] : NaN });
  }
  items.sort((a, b) => b.count - a.count || a.trueClass - b.trueClass || a.predicted - b.predicted);
  const top = items.slice(0, k);
  if (against) {
    for (const it of top) {
      it.before = against[it.trueClass * C + it.predicted];
      it.delta = it.count - it.before;
    }
  }
  return top;
}

/** Largest finite |value| of `values` (optionally leaving the diagonal of a C x C out); 0 if none. */
export function maxAbs(values, C = 0, offDiagonal = false) {
  let m = 0;
  const n = values.length;
  for (let i = 0; i < n; i++) {
    const x = values[i];
    const v = x < 0 ? -x : x;
    if (v > m && v !== Infinity) m = v;
  }
  if (!offDiagonal || !C) return m;
  m = 0;
  for (let r = 0; r < C; r++) {
    const o = r * C;
    for (let c = 0; c < C; c++) {
      if (c === r) continue;
      const x = values[o + c];
      const v = x < 0 ? -x : x;
      if (v > m && v !== Infinity) m = v;
    }
  }
  return m;
}

/** Sorted indices of the non-zero cells of a flat matrix (NaN counts as non-zero). */
export function nonZeroCells(values) {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) n++;
  const out = new Int32Array(n);
  n = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) out[n++] = i;
  return out;
}

function union(a, b) {
  const out = new Int32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length || j < b.length) {
    const x = i < a.length ? a[i] : Infinity;
    const y = j < b.length ? b[j] : Infinity;
    if (x <= y) { out[n++] = x; i++; if (x === y) j++; } else { out[n++] = y; j++; }
  }
  return out.subarray(0, n);
}

function sparseSums(matrix, nz, C) {
  const rows = new Float64Array(C);
  const cols = new Float64Array(C);
  for (let q = 0; q < nz.length; q++) {
    const idx = nz[q];
    const r = (idx / C) | 0;
    rows[r] += matrix[idx];
    cols[idx - r * C] += matrix[idx];
  }
  return { rows, cols };
}

/**
 * The same numbers as `normalise` (and `diff` against `against`), computed in O(non-zero cells
 * + C) instead of O(C^2): {nz, values, missingRows, missingCols}. `nz` lists the cells that are
 * non-zero in either matrix, `values[q]` is cell nz[q]'s value; every other cell is 0, except
 * the rows (recall) or columns (precision) whose sum is 0 in either matrix, which are NaN
 * entirely (`missingRows` / `missingCols`: Uint8Array(C) flags). `nzA` / `nzB`: the matrices'
 * own non-zero cells when already known.
 */
export function sparseValues(matrix, C, mode = "counts", against = null, nzA = null, nzB = null) {
  if (!NORMALISE.includes(mode)) {
    throw new Error(`Expected normalise mode in ${NORMALISE.join(", ")}; received ${mode}.`);
  }
  const a = nzA || nonZeroCells(matrix);
  const b = against ? nzB || nonZeroCells(against) : null;
  const nz = b ? union(a, b) : a;
  const missingRows = new Uint8Array(C);
  const missingCols = new Uint8Array(C);
  const sa = mode === "counts" ? null : sparseSums(matrix, a, C);
  const sb = mode === "counts" || !b ? null : sparseSums(against, b, C);
  if (mode !== "counts") {
    const flags = mode === "recall" ? missingRows : missingCols;
    const key = mode === "recall" ? "rows" : "cols";
    for (let k = 0; k < C; k++) flags[k] = sa[key][k] > 0 && (!sb || sb[key][k] > 0) ? 0 : 1;
  }
  const values = new Float64Array(nz.length);
  for (let q = 0; q < nz.length; q++) {
    const idx = nz[q];
    const r = (idx / C) | 0;
    const c = idx - r * C;
    if (missingRows[r] || missingCols[c]) {
      values[q] = NaN;
      continue;
    }
    let x = matrix[idx];
    let y = against ? against[idx] : 0;
    if (mode === "recall") {
      x /= sa.rows[r];
      if (against) y /= sb.rows[r];
    } else if (mode === "precision") {
      x /= sa.cols[c];
      if (against) y /= sb.cols[c];
    }
    values[q] = against ? x - y : x;
  }
  return { nz, values, missingRows, missingCols };
}

/** The dense C*C array of a `sparseValues` result (for small matrices: numbers in cells). */
export function densify(sparse, C) {
  const out = new Float64Array(C * C);
  for (let r = 0; r < C; r++) {
    for (let c = 0; c < C; c++) {
      if (sparse.missingRows[r] || sparse.missingCols[c]) out[r * C + c] = NaN;
    }
  }
  for (let q = 0; q < sparse.nz.length; q++) out[sparse.nz[q]] = sparse.values[q];
  return out;
}
