// The sidebar's cards: a policy, a reply (with its fill-in form and Insert), a search hit.

import { ERROR } from '../shared/messages.js';
import { dirOf, fill, h, languageName, segments } from './dom.js';

/** The reply's fill-in fields: the server's list, else the `fields.*` placeholders left open. */
export function fieldsOf(reply) {
  const declared = Array.isArray(reply.fields) ? reply.fields.filter((f) => f && f.name) : [];
  const known = new Set(declared.map((f) => f.name));
  const open = (reply.missing || [])
    .filter((m) => m.startsWith('fields.'))
    .map((m) => m.slice('fields.'.length).split('.')[0])
    .filter((name) => !known.has(name) && known.add(name));
  return [
    ...declared,
    ...open.map((name) => ({ name, label: humanize(name), type: 'text', required: true, choices: [] })),
  ];
}

/** Text with its unfilled placeholders ([[offer.code]]) marked, as nodes. */
function withGaps(text) {
  return text.split(/(\[\[[^\]]+\]\])/).map((part, i) => (i % 2 ? h('span', { class: 'gap' }, part) : part));
}

function humanize(name) {
  const words = name.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function policyCard(policy, { open = true } = {}) {
  const lang = policy.language || 'en';
  return h(
    'details',
    { class: 'card policy', open, dataset: { key: policy.key } },
    h(
      'summary',
      null,
      h('span', { class: 'kind' }, 'Policy'),
      h('span', { class: 'title', lang, dir: dirOf(lang) }, policy.title),
      confidenceBadge(policy),
    ),
    h(
      'div',
      { class: 'policy-body clamped', lang, dir: 'auto', onclick: (e) => e.currentTarget.classList.remove('clamped') },
      policy.body || '',
    ),
    tagsOf(policy),
  );
}

function tagsOf(item) {
  const tags = (item.tags || []).slice(0, 4);
  return tags.length
    ? h(
        'div',
        { class: 'tags' },
        tags.map((t) => h('span', { class: 'tag' }, t)),
      )
    : null;
}

function eligibilityBadge(reply) {
  if (!('eligible' in reply)) return null; // a server without eligibility
  if (reply.eligible === true)
    return h('span', { class: 'badge ok', title: "The ticket meets this reply's conditions" }, 'Fits');
  if (reply.eligible === false) return h('span', { class: 'badge no', title: reply.reason || '' }, "Doesn't fit");
  return h('span', { class: 'badge unknown', title: reply.reason || '' }, 'Check');
}

// The server's calibrated confidence in words (on dev, "likely" is right at least 85% of the time).
const CONFIDENCE_WORDS = { likely: 'Likely match', possible: 'Possible match', unlikely: 'Weak guess' };

export function confidenceBadge(item) {
  const word = CONFIDENCE_WORDS[item.confidence_label];
  if (!word) return null; // a server without confidence
  const pct = Math.round((item.confidence || 0) * 100);
  return h('span', { class: `badge confidence ${item.confidence_label}`, title: `Confidence ${pct}%` }, word);
}

function offerLine(reply) {
  const preview = reply.offer_preview;
  if (preview && preview.label) {
    return h(
      'p',
      { class: 'offer', dir: 'ltr', lang: 'en' },
      h('span', { class: 'pill' }, 'Offer'),
      `Issues a code: ${preview.label}`,
    );
  }
  if (reply.offer) {
    return h(
      'p',
      { class: 'offer', dir: 'ltr', lang: 'en' },
      h('span', { class: 'pill' }, 'Offer'),
      `Issues a goodwill code (${reply.offer})`,
    );
  }
  return null;
}

/**
 * A reply: preview, fields, Insert. `onInsert(reply, values, confirm)` resolves to a Result.
 * With `hit` (a manual-search result) it shows the highlighted fragments instead of a
 * preview; its fields appear when the server names them.
 */
export class ReplyCard {
  constructor(reply, { onInsert, onSelect, hit = null }) {
    this.reply = reply;
    this.onInsert = onInsert;
    this.fields = fieldsOf(reply);
    this.inputs = new Map();
    const lang = reply.language || 'en';
    this.lang = lang;

    this.preview = hit
      ? h('p', { class: 'fragments', dir: 'auto', lang }, segments(hit.body_fragments))
      : h('div', { class: 'text', dir: 'auto', lang });
    // The sidebar speaks English; only the reply's own words take the reply's direction.
    this.result = h('div', { class: 'result', role: 'status', 'aria-live': 'polite', dir: 'ltr', lang: 'en' });
    this.insertButton = h('button', { class: 'insert primary', type: 'submit' }, 'Insert');
    this.fieldBox = h(
      'div',
      { class: 'fields' },
      this.fields.map((f) => this.fieldRow(f)),
    );
    const form = h(
      'form',
      { class: 'reply-form', novalidate: true, onsubmit: (e) => (e.preventDefault(), this.insert()) },
      this.fieldBox,
      h(
        'div',
        { class: 'actions', dir: 'ltr' },
        this.insertButton,
        hit ? null : h('span', { class: 'hint' }, 'Alt+Shift+Enter'),
      ),
    );
    const reason = reply.reason
      ? h('p', { class: `reason ${reply.eligible === false ? 'no' : ''}`, dir: 'ltr', lang: 'en' }, reply.reason)
      : null;
    const langBadge =
      reply.fallback || hit
        ? h('span', { class: 'badge lang', title: hit ? '' : "No text in the ticket's language" }, languageName(lang))
        : null;
    const title =
      hit && hit.title_fragments && hit.title_fragments.length ? segments(hit.title_fragments) : reply.title;

    this.el = h(
      'article',
      {
        class: `card reply${hit ? ' hit' : ''}`,
        role: 'option',
        'aria-selected': 'false',
        tabindex: '-1',
        lang,
        dir: dirOf(lang),
        dataset: { key: reply.key, state: 'idle' },
        onclick: () => onSelect && onSelect(this),
      },
      h(
        'header',
        null,
        hit ? h('span', { class: 'kind' }, 'Reply') : null,
        h('h3', { class: 'title' }, title),
        h('span', { class: 'badges', dir: 'ltr' }, hit ? null : confidenceBadge(reply), eligibilityBadge(reply), langBadge),
      ),
      reason,
      offerLine(reply),
      this.preview,
      form,
      this.result,
    );
    if (!hit) this.renderPreview();
  }

  fieldRow(spec) {
    const lang = this.lang;
    const id = `f-${Math.random().toString(36).slice(2)}`;
    let input;
    if (spec.type === 'choice' && spec.choices && spec.choices.length) {
      input = h(
        'select',
        { id, name: spec.name },
        h('option', { value: '' }, '—'),
        spec.choices.map((c) => h('option', { value: c }, c)),
      );
    } else {
      input = h('input', {
        id,
        name: spec.name,
        type: spec.type === 'date' ? 'date' : 'text',
        inputmode: spec.type === 'money' ? 'decimal' : undefined,
        dir: 'auto',
        lang,
        autocomplete: 'off',
      });
    }
    input.required = Boolean(spec.required);
    input.addEventListener('input', () => {
      this.markField(spec.name, null);
      this.renderPreview();
    });
    const error = h('span', { class: 'field-error' });
    this.inputs.set(spec.name, { input, error, spec });
    return h(
      'div',
      { class: 'field', dir: 'ltr', dataset: { field: spec.name } },
      h(
        'label',
        { for: id, dir: 'ltr' },
        spec.label || spec.name,
        spec.required ? h('span', { class: 'req', title: 'required' }, ' *') : null,
      ),
      input,
      error,
    );
  }

  values() {
    return Object.fromEntries([...this.inputs].map(([name, { input }]) => [name, input.value.trim()]));
  }

  renderPreview() {
    if (this.preview.tagName !== 'DIV') return;
    const values = this.values();
    let text = this.reply.text || '';
    for (const [name, value] of Object.entries(values)) {
      if (value) text = text.split(`[[fields.${name}]]`).join(value);
    }
    fill(this.preview, withGaps(text));
  }

  markField(name, message) {
    const entry = this.inputs.get(name);
    if (!entry) return false;
    entry.input.setAttribute('aria-invalid', message ? 'true' : 'false');
    entry.error.textContent = message || '';
    return true;
  }

  setState(state, ...message) {
    this.el.dataset.state = state;
    this.insertButton.disabled = state === 'busy';
    fill(this.result, ...message);
    this.result.className = `result ${state}`;
    if (state !== 'idle') this.result.scrollIntoView({ block: 'nearest' });
  }

  focusFirstEmpty() {
    const empty = [...this.inputs.values()].find(({ input, spec }) => spec.required && !input.value.trim());
    (empty || this.inputs.values().next().value || { input: this.insertButton }).input.focus();
  }

  async insert(confirm = false) {
    const values = this.values();
    const empty = [...this.inputs.values()].filter(({ input, spec }) => spec.required && !input.value.trim());
    if (empty.length) {
      empty.forEach(({ spec }) => this.markField(spec.name, 'Required'));
      this.setState('error', `Fill in ${empty.map(({ spec }) => `“${spec.label || spec.name}”`).join(', ')} first.`);
      empty[0].input.focus();
      return;
    }
    if (this.reply.eligible === false && !confirm) {
      this.askToConfirm(this.reply.reason);
      return;
    }
    this.setState('busy', 'Inserting…');
    const result = await this.onInsert(this.reply, values, confirm);
    if (result.ok) this.showInserted(result.data, result.inserted);
    else this.showError(result.error);
  }

  askToConfirm(reason) {
    this.setState(
      'confirm',
      h('span', null, reason || "The ticket's facts say this reply doesn't fit."),
      ' ',
      h(
        'button',
        { class: 'link confirm', type: 'button', onclick: (e) => (e.stopPropagation(), this.insert(true)) },
        'Insert anyway',
      ),
    );
  }

  showInserted(data, inserted) {
    const lines = [];
    if (inserted) lines.push(h('strong', null, 'Inserted into the reply box.'));
    else
      lines.push(h('strong', null, 'No reply box found on this page: open the reply editor, then press Insert again.'));
    const offer = data.offer;
    if (offer && offer.code) {
      lines.push(
        h(
          'span',
          { class: 'code-line' },
          'Code ',
          h('code', { class: 'code' }, offer.code),
          offer.expires_on ? `, valid until ${offer.expires_on}` : '',
        ),
      );
    } else if (offer && offer.status === 'pending') {
      lines.push(h('span', null, "The code waits for a manager's approval; fill it in once approved."));
    }
    if (data.missing && data.missing.length) {
      lines.push(h('span', { class: 'warn' }, `Still to fill in by hand: ${data.missing.join(', ')}`));
    }
    if (data.repeated)
      lines.push(h('span', { class: 'muted' }, 'This reply was already used on this ticket; same code.'));
    this.setState(
      inserted ? 'inserted' : 'error',
      lines.map((l) => h('div', null, l)),
    );
  }

  showError(error) {
    if (error.kind === ERROR.VALIDATION && error.fields && Object.keys(error.fields).length) {
      let marked = false;
      for (const [name, messages] of Object.entries(error.fields)) {
        if (!this.inputs.has(name)) {
          // A search hit doesn't list its fields; the server's 422 names them.
          this.fieldBox.append(this.fieldRow({ name, label: humanize(name), type: 'text', required: true }));
        }
        marked = this.markField(name, [].concat(messages).join(' ')) || marked;
      }
      this.setState('error', error.detail || 'Check the fields.');
      if (marked) this.focusFirstEmpty();
      return;
    }
    if (error.kind === ERROR.NOT_ELIGIBLE) {
      this.askToConfirm(error.reason || error.detail);
      return;
    }
    this.setState('error', error.detail || error.title || 'Insert failed.');
  }
}

/** A manual-search hit: a policy to read, or a reply to insert (a ReplyCard). */
export function searchHit(hit, { onInsert, onSelect }) {
  const lang = hit.language || 'en';
  if (hit.kind === 'reply') {
    const reply = { key: hit.key, title: hit.title, language: lang, text: '', missing: [], tags: hit.tags };
    return new ReplyCard(reply, { onInsert, onSelect, hit }).el;
  }
  const title = hit.title_fragments && hit.title_fragments.length ? segments(hit.title_fragments) : hit.title;
  return h(
    'article',
    { class: 'card policy hit', dataset: { key: hit.key, kind: hit.kind }, lang, dir: dirOf(lang) },
    h('header', null, h('span', { class: 'kind' }, 'Policy'), h('h3', { class: 'title' }, title)),
    h('p', { class: 'fragments', dir: 'auto' }, segments(hit.body_fragments)),
  );
}
