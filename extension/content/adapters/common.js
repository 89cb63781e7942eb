// Small helpers the adapters share: find the first match, read visible text.

/** The first element matching any selector in order, inside `root`. */
export function first(root, selectors) {
  for (const selector of [].concat(selectors)) {
    const el = root.querySelector(selector);
    if (el) return el;
  }
  return null;
}

/** The last element matching `selector` inside `root`. */
export function last(root, selector) {
  const all = root.querySelectorAll(selector);
  return all.length ? all[all.length - 1] : null;
}

/** Whether an element takes up room on the page (helpdesks keep other tabs' tickets hidden). */
export function isShown(el) {
  return Boolean(el && el.getClientRects().length);
}

/** Readable text of an element or a form field, whitespace tidied, line breaks kept. */
export function textOf(el) {
  if (!el) return '';
  const raw = ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName) ? el.value : el.innerText;
  return String(raw || '')
    .replace(/\u00a0/g, ' ')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

export function firstName(name) {
  return (
    String(name || '')
      .trim()
      .split(/\s+/)[0] || ''
  );
}

/** An e-mail address in a text or a mailto: link. */
export function emailIn(el) {
  if (!el) return '';
  const href = el.getAttribute && el.getAttribute('href');
  const source = href && href.startsWith('mailto:') ? href.slice(7) : textOf(el);
  const match = source.match(/[^\s<>()"',;:]+@[^\s<>()"',;:]+\.[A-Za-z]{2,}/);
  return match ? match[0].toLowerCase() : '';
}

/** A ticket as /suggest takes it, leaving out what the page doesn't tell. */
export function ticket({ id, subject, body, language, customer = {}, order = {}, agent = {} }) {
  const clean = (obj) => Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined && v !== ''));
  const out = { id: String(id), subject: subject || '', body: body || '' };
  if (language) out.language = language;
  out.customer = clean(customer);
  out.order = clean(order);
  out.agent = clean(agent);
  return out;
}
