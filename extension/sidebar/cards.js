// The sidebar's cards: a policy, a reply (with its fill-in form and Insert), a search hit.

import { ERROR } from '../shared/messages.js';
import { dirOf, fill, h, languageName, marked, segments } from './dom.js';
import { plainMessage } from './errors.js';

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
      matchBadge(policy, 0),
      staleBadge(policy),
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

/**
 * Whether the ticket meets the reply's conditions: met, none to meet, not met, or unknown.
 * This is not relevance (see matchBadge): a reply can fit the facts and miss the question.
 */
export function conditionsBadge(reply) {
  if (!('eligible' in reply)) return null; // a server without eligibility
  if (reply.eligible === true && reply.conditions === false)
    return h('span', { class: 'badge none', title: 'This reply has no conditions to check' }, 'No conditions');
  if (reply.eligible === true)
    return h('span', { class: 'badge ok', title: "The ticket meets this reply's conditions" }, 'Conditions met');
  if (reply.eligible === false)
    return h('span', { class: 'badge no', title: reply.reason || '' }, 'Conditions not met');
  return h('span', { class: 'badge unknown', title: reply.reason || '' }, 'Check conditions');
}

const CONFIDENCE_WORDS = {
  likely: [null, 3, 'Likely match'],
  possible: [null, 2, 'Possible match'],
  unlikely: [null, 1, 'Weak guess'],
};

const MATCH_LEVELS = [
  [0.8, 3, 'Strong match'],
  [0.5, 2, 'Good match'],
  [0, 1, 'Weak match'],
];

/**
 * How well the reply matches the ticket's words: the server's confidence label when it sends
 * one, else the score relative to the best reply's (the first is always the strongest).
 */
export function matchBadge(reply, topScore) {
  // The server's calibrated confidence, in words (on dev, "likely" is right at least 85% of the time).
  const word = CONFIDENCE_WORDS[reply.confidence_label];
  if (!word && !(topScore > 0 && reply.score >= 0)) return null;
  const ratio = topScore > 0 ? reply.score / topScore : 0;
  const [, level, text] = word || MATCH_LEVELS.find(([min]) => ratio >= min);
  const shown = text;
  return h(
    'span',
    { class: 'match', dataset: { level: String(level) }, title: `Relevance: ${shown}. ${reply.why || ''}`.trim() },
    h('span', { class: 'bars', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')),
    shown,
  );
}

/** A small flag when the snippet's owner is overdue to confirm it is still right. */
function staleBadge(item) {
  if (!item.verification_overdue) return null;
  return h(
    'span',
    { class: 'badge stale', title: 'Not verified for a while: check it is still right before sending' },
    'Unverified',
  );
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
  constructor(reply, { onInsert, onSelect, hit = null, topScore = 0, favourite = null, onFavourite, highlight = [] }) {
    this.reply = reply;
    this.onInsert = onInsert;
    this.highlight = highlight;
    this.fields = fieldsOf(reply);
    this.inputs = new Map();
    const lang = reply.language || 'en';
    this.lang = lang;

    this.preview = hit
      ? h('p', { class: 'fragments', dir: 'auto', lang }, segments(hit.body_fragments))
      : h('div', { class: 'text clamped', dir: 'auto', lang });
    this.more = hit
      ? null
      : h(
          'button',
          { class: 'link more-text', type: 'button', dir: 'ltr', lang: 'en', onclick: (e) => (e.stopPropagation(), this.toggleText()) },
          'Show all',
        );
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
    const title = highlight.length
      ? marked(reply.title, highlight)
      : hit && hit.title_fragments && hit.title_fragments.length
        ? segments(hit.title_fragments)
        : reply.title;
    this.star =
      favourite === null
        ? null
        : h(
            'button',
            {
              class: 'icon star',
              type: 'button',
              'aria-pressed': String(favourite),
              title: favourite ? 'Remove from your favourites' : 'Add to your favourites',
              'aria-label': 'Favourite',
              onclick: (e) => (e.stopPropagation(), this.toggleFavourite(onFavourite)),
            },
            favourite ? '★' : '☆',
          );

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
        this.star,
      ),
      h('div', { class: 'badges', dir: 'ltr', lang: 'en' }, conditionsBadge(reply), matchBadge(reply, topScore), langBadge, staleBadge(reply)),
      reason,
      offerLine(reply),
      this.preview,
      this.more,
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
    fill(this.preview, withGaps(text).map((part) => (typeof part === 'string' && this.highlight.length ? marked(part, this.highlight) : part)));
    // Clamped at about six lines: only a short reply needs no "Show all".
    if (this.more) this.more.hidden = text.split('\n').length < 5 && text.length < 140;
  }

  toggleText() {
    const open = this.preview.classList.toggle('clamped') === false;
    this.more.textContent = open ? 'Show less' : 'Show all';
  }

  async toggleFavourite(onFavourite) {
    const on = this.star.getAttribute('aria-pressed') !== 'true';
    this.star.disabled = true;
    const result = await onFavourite(this.reply.key, on);
    this.star.disabled = false;
    if (!result || !result.ok) return;
    this.star.setAttribute('aria-pressed', String(on));
    this.star.textContent = on ? '★' : '☆';
    this.star.title = on ? 'Remove from your favourites' : 'Add to your favourites';
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

  async insert(confirm = false, options = {}) {
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
    const result = await this.onInsert(this.reply, values, confirm, options);
    if (result.ok) this.showInserted(result.data, result.inserted, result.already);
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

  showInserted(data, inserted, already = false) {
    if (data.notice) {
      // The code waits for a manager (or was refused): the server sent no text and no code.
      this.setState('held', h('strong', null, data.notice));
      return;
    }
    const lines = [];
    if (already) lines.push(h('strong', null, 'Already in the reply box; not inserted a second time.'));
    else if (inserted && data.offer_withheld)
      lines.push(h('strong', null, 'Inserted without the code; recorded as sent without it.'));
    else if (inserted) lines.push(h('strong', null, 'Inserted into the reply box.'));
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
    }
    if (data.missing && data.missing.length) {
      lines.push(h('span', { class: 'warn' }, `Still to fill in by hand: ${data.missing.join(', ')}`));
    }
    if (data.repeated)
      lines.push(h('span', { class: 'muted' }, 'This reply was already used on this ticket; same code.'));
    this.setState(
      inserted || already ? 'inserted' : 'error',
      lines.map((l) => h('div', null, l)),
    );
  }

  labelOf(name) {
    const entry = this.inputs.get(name);
    return entry ? entry.spec.label || entry.spec.name : humanize(name);
  }

  showError(error) {
    if (error.kind === ERROR.VALIDATION && error.fields && Object.keys(error.fields).length) {
      let flagged = false;
      for (const [name, messages] of Object.entries(error.fields)) {
        if (!this.inputs.has(name)) {
          // A search hit doesn't list its fields; the server's 422 names them.
          this.fieldBox.append(this.fieldRow({ name, label: humanize(name), type: 'text', required: true }));
        }
        flagged = this.markField(name, [].concat(messages).join(' ')) || flagged;
      }
      this.setState('error', plainMessage(error, (name) => this.labelOf(name)));
      if (flagged) this.focusFirstEmpty();
      return;
    }
    if (error.kind === ERROR.NOT_ELIGIBLE) {
      this.askToConfirm(error.reason || plainMessage(error));
      return;
    }
    if (error.kind === ERROR.CONFLICT && error.limit && this.reply.offer) {
      // The limit stands; the reply can still go out, without the code (recorded as such).
      this.setState(
        'refused',
        h('span', null, plainMessage(error)),
        ' ',
        h(
          'button',
          {
            class: 'link without-code',
            type: 'button',
            onclick: (e) => (e.stopPropagation(), this.insert(this.reply.eligible === false, { withoutOffer: true, withheldBecause: error.limit })),
          },
          'Insert without the code',
        ),
      );
      return;
    }
    this.setState('error', plainMessage(error));
  }
}

/**
 * A manual-search hit: a policy to read, or a reply to insert (a ReplyCard). With `rendered`
 * (the reply rendered over the ticket by the server) the card shows that preview, never the
 * raw template; the query's words are marked in it.
 */
export function searchHit(hit, { onInsert, onSelect, rendered = null, words = [], favourite = null, onFavourite }) {
  const lang = hit.language || 'en';
  if (hit.kind === 'reply') {
    if (rendered) {
      return new ReplyCard(rendered, { onInsert, onSelect, highlight: words, favourite, onFavourite }).el;
    }
    const reply = { key: hit.key, title: hit.title, language: lang, text: '', missing: [], tags: hit.tags };
    return new ReplyCard(reply, { onInsert, onSelect, hit: withoutTemplates(hit) }).el;
  }
  const title = hit.title_fragments && hit.title_fragments.length ? segments(hit.title_fragments) : hit.title;
  return h(
    'article',
    { class: 'card policy hit', dataset: { key: hit.key, kind: hit.kind }, lang, dir: dirOf(lang) },
    h('header', null, h('span', { class: 'kind' }, 'Policy'), h('h3', { class: 'title' }, title)),
    h('p', { class: 'fragments', dir: 'auto' }, segments(hit.body_fragments)),
  );
}

/** Fragments with `{{ placeholders }}` shown as "…" (when the rendered preview is unavailable). */
function withoutTemplates(hit) {
  const clean = (fragments) =>
    (fragments || []).map((fragment) =>
      (Array.isArray(fragment) ? fragment : []).map(([text, isMatch]) => [
        String(text).replace(/\{\{[^}]*\}\}|\{\{[^}]*$|^[^{]*\}\}/g, '…'),
        isMatch,
      ]),
    );
  return { ...hit, body_fragments: clean(hit.body_fragments) };
}
