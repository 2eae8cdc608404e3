// Minimal DOM building. Strings always become text nodes (never HTML): run, tag and label names
// are user data.

/**
 * h("div", {class: "x", onclick: fn, style: {...}, dataset: {...}}, "text", child, [more])
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
      else if (k === "dataset") Object.assign(el.dataset, v);
      else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else if (k in el && typeof v !== "string") el[k] = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Replaces the options of a <select> (text only) and selects `value` when present. */
export function setOptions(select, options, value) {
  const same = select.options.length === options.length &&
    options.every((o, i) => select.options[i].value === o.value && select.options[i].text === o.label);
  if (!same) {
    select.replaceChildren(...options.map((o) => {
      const opt = document.createElement("option");
      opt.value = o.value;
      opt.textContent = o.label;
      return opt;
    }));
  }
  if (value !== undefined && value !== null) select.value = value;
}

/** A segmented toggle: items [{value, label}] -> {el, set(value)} calling onchange(value). */
export function segmented(items, onchange, title) {
  const el = h("div", { class: "tbm-seg", role: "group", "aria-label": title || "" });
  const buttons = items.map((it) => h("button", {
    type: "button",
    "aria-pressed": "false",
    dataset: { value: it.value },
    title: it.title || null,
    onclick: () => onchange(it.value),
  }, it.label));
  el.append(...buttons);
  return {
    el,
    set(value) {
      for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.value === value));
    },
  };
}
