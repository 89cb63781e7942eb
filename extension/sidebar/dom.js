// Building DOM without HTML strings: server data only ever becomes text nodes.

/** h('div', { class: 'x', onclick: fn, dataset: { key } }, 'text', child, [more]) */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Highlighted fragments from /search: lists of [text, isMatch] segments, matches in <mark>. */
export function segments(fragments) {
  const out = [];
  (fragments || []).forEach((fragment, i) => {
    if (i > 0) out.push(' … ');
    for (const [text, isMatch] of Array.isArray(fragment) ? fragment : []) {
      out.push(isMatch ? h('mark', null, String(text)) : String(text));
    }
  });
  return out;
}

/** Text with the words of a query marked (case-insensitive, word starts), as nodes. */
export function marked(text, words) {
  const parts = (words || []).filter((w) => w.length > 1).map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  if (!parts.length) return [String(text)];
  const pattern = new RegExp(`(${parts.join('|')})`, 'giu');
  return String(text)
    .split(pattern)
    .map((piece, i) => (i % 2 ? h('mark', null, piece) : piece))
    .filter((piece) => piece !== '');
}

const RTL = new Set(['ar', 'he', 'fa', 'ur', 'ps', 'yi']);

/** `dir` for a language code. */
export function dirOf(language) {
  return RTL.has(String(language || '').split('-')[0]) ? 'rtl' : 'ltr';
}

const NAMES = new Intl.DisplayNames(['en'], { type: 'language' });

export function languageName(code) {
  try {
    return NAMES.of(code) || code;
  } catch {
    return code;
  }
}
