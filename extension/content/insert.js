// Putting text into the helpdesk's reply box at the agent's cursor, the way typing does, so
// the helpdesk's own editor (React state, CKEditor, Froala, Gmail) sees the change.

/** Remembers where the caret was in the composer, since clicking the sidebar moves focus. */
export function trackCaret(findComposer, signal) {
  let saved = null;
  const remember = () => {
    const composer = findComposer();
    const active = deepActiveElement();
    if (!composer || !active || !(composer === active || composer.contains(active))) return;
    if (isTextField(composer)) {
      saved = { el: composer, start: composer.selectionStart, end: composer.selectionEnd };
    } else {
      const sel = composer.ownerDocument.getSelection();
      if (sel && sel.rangeCount && composer.contains(sel.getRangeAt(0).commonAncestorContainer)) {
        saved = { el: composer, range: sel.getRangeAt(0).cloneRange() };
      }
    }
  };
  const options = { capture: true, signal };
  document.addEventListener('selectionchange', remember, { signal });
  document.addEventListener('keyup', remember, options);
  document.addEventListener('mouseup', remember, options);
  document.addEventListener('input', remember, options);
  return () => saved;
}

function deepActiveElement() {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  return el;
}

function isTextField(el) {
  return el.tagName === 'TEXTAREA' || el.tagName === 'INPUT';
}

/**
 * One editing step as typing makes it: a cancelable `beforeinput` first (editors built on it,
 * such as CKEditor 5 and Lexical, insert the text themselves and cancel it), else
 * execCommand, which edits like the keyboard does, fires `input` and keeps the undo history
 * (ProseMirror and plain contenteditables or textareas pick the change up from there).
 */
function edit(doc, target, inputType, data = null) {
  const before = new InputEvent('beforeinput', { bubbles: true, cancelable: true, composed: true, inputType, data });
  if (!target.dispatchEvent(before)) return true;
  return inputType === 'insertParagraph'
    ? doc.execCommand('insertParagraph')
    : doc.execCommand('insertText', false, data);
}

/**
 * Insert `text` into `composer` at the saved caret (or at the end) and return true if the
 * text is there. A direct edit with a dispatched input event is the fallback when the page
 * refuses execCommand.
 */
export function insertText(composer, text, caret) {
  const doc = composer.ownerDocument;
  composer.focus({ preventScroll: false });
  if (isTextField(composer)) {
    const start = caret && caret.el === composer ? caret.start : composer.value.length;
    const end = caret && caret.el === composer ? caret.end : composer.value.length;
    // A reply is a block of its own: a blank line from what the agent wrote around it.
    const before = composer.value.slice(0, start);
    const after = composer.value.slice(end);
    const block = `${before.trim() && !before.endsWith('\n\n') ? (before.endsWith('\n') ? '\n' : '\n\n') : ''}${text}${
      after.trim() && !after.startsWith('\n') ? '\n\n' : ''
    }`;
    composer.setSelectionRange(start, end);
    if (!edit(doc, composer, 'insertText', block)) {
      composer.setRangeText(block, start, end, 'end');
      composer.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertText', data: block }));
    }
    composer.dispatchEvent(new Event('change', { bubbles: true }));
    return composer.value.includes(text);
  }
  const range = placeCaret(composer, caret);
  const lines = text.split('\n');
  let typed = true;
  // A reply is a block of its own: new paragraphs between it and what the agent wrote.
  const around = textAround(composer, range);
  if (around.before.trim()) typed = edit(doc, composer, 'insertParagraph') && typed;
  lines.forEach((line, i) => {
    if (i > 0) typed = edit(doc, composer, 'insertParagraph') && typed;
    if (line) typed = edit(doc, composer, 'insertText', line) && typed;
  });
  if (around.after.trim() && typed) typed = edit(doc, composer, 'insertParagraph') && typed;
  if (!typed) insertByHand(composer, lines);
  return normalised(composer.innerText).includes(normalised(lines.find((l) => l.trim()) || ''));
}

/** Whether the composer already holds `text` (a second Insert must not put it in twice). */
export function holdsText(composer, text) {
  const current = isTextField(composer) ? composer.value : composer.innerText;
  const wanted = normalised(text);
  return Boolean(wanted) && normalised(current).includes(wanted);
}

function placeCaret(composer, caret) {
  const sel = composer.ownerDocument.getSelection();
  let range = caret && caret.el === composer && caret.range;
  if (!range || !composer.contains(range.commonAncestorContainer)) {
    range = composer.ownerDocument.createRange();
    range.selectNodeContents(composer);
    range.collapse(false);
  }
  sel.removeAllRanges();
  sel.addRange(range);
  return range;
}

/** The composer's text before and after a collapsed range. */
function textAround(composer, range) {
  const doc = composer.ownerDocument;
  const before = doc.createRange();
  before.selectNodeContents(composer);
  before.setEnd(range.startContainer, range.startOffset);
  const after = doc.createRange();
  after.selectNodeContents(composer);
  after.setStart(range.endContainer, range.endOffset);
  return { before: before.toString(), after: after.toString() };
}

function insertByHand(composer, lines) {
  const doc = composer.ownerDocument;
  const sel = doc.getSelection();
  const range = sel.rangeCount ? sel.getRangeAt(0) : null;
  const fragment = doc.createDocumentFragment();
  lines.forEach((line, i) => {
    if (i > 0) fragment.append(doc.createElement('br'));
    fragment.append(doc.createTextNode(line));
  });
  const tail = fragment.lastChild;
  if (range && composer.contains(range.commonAncestorContainer)) {
    range.deleteContents();
    range.insertNode(fragment);
  } else {
    composer.append(fragment);
  }
  if (tail) {
    const after = doc.createRange();
    after.setStartAfter(tail);
    sel.removeAllRanges();
    sel.addRange(after);
  }
  composer.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertText', data: lines.join('\n') }));
}

function normalised(s) {
  return String(s || '')
    .replace(/\s+/g, ' ')
    .trim();
}
