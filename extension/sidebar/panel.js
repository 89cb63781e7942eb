// The sidebar: a shadow-DOM panel fixed to the right of the helpdesk page. The page's CSS
// can't reach into it and ours can't leak out; it holds no secret (the token stays in the
// worker), so the shadow root is open, which also lets tests and screen readers in.

import { ERROR } from '../shared/messages.js';
import { ReplyCard, policyCard, searchHit } from './cards.js';
import { dirOf, fill, h, languageName } from './dom.js';
import { repeatBanner } from './repeat-contact.js';
import { Layout } from './layout.js';
import { plainMessage } from './errors.js';
import { feedbackControl } from './feedback.js';

const HOST_ID = 'reply-assist-sidebar';
// Languages an agent can force (the demo store's); a detected other one is added when seen.
const LANGUAGES = ['en', 'it', 'id', 'ja', 'ar'];

async function loadStyles() {
  const css = await (await fetch(chrome.runtime.getURL('sidebar/sidebar.css'))).text();
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(css);
  return sheet;
}

/**
 * Create the panel. `actions`: onRetry(), onInsert(reply, values, confirm, language, options) -> Result,
 * onSearch(q) -> Result, onRender(keys, language) -> Result, onLanguage(code | null),
 * onFavourite(key, on) -> Result, onAlert() -> Result, onOpenOptions(), onOpenChange(open).
 */
export async function createPanel(actions) {
  document.getElementById(HOST_ID)?.remove();
  const host = h('div', { id: HOST_ID, dataset: { state: 'idle', open: 'false' } });
  const root = host.attachShadow({ mode: 'open' });
  root.adoptedStyleSheets = [await loadStyles()];
  // On <html>, not <body>: single-page helpdesks replace <body> children as they route.
  document.documentElement.append(host);
  const layout = await Layout.load(host);
  return new Panel(host, root, actions, layout);
}

class Panel {
  constructor(host, root, actions, layout) {
    this.host = host;
    this.actions = actions;
    this.layout = layout;
    this.cards = [];
    this.selected = -1;
    this.ticket = null;
    this.searchSeq = 0;
    this.favourites = new Set();
    this.mine = { favourites: [], recent: [] };

    this.ticketLine = h('span', { class: 'ticket-line' });
    this.languageSelect = h('select', {
      class: 'lang-select',
      'aria-label': 'Reply language',
      title: 'Reply language: change it when the detected one is wrong',
    });
    this.languageSelect.addEventListener('change', () => this.actions.onLanguage?.(this.languageSelect.value || null));
    this.dockButton = h(
      'button',
      { class: 'icon dock', type: 'button', onclick: () => this.layout.flip() },
      '⇆',
    );
    this.search = h('input', {
      type: 'search',
      class: 'search',
      placeholder: 'Search policies and replies  ( / )',
      'aria-label': 'Search policies and replies',
      dir: 'auto',
      autocomplete: 'off',
    });
    this.search.addEventListener('input', () => this.onSearchInput());
    this.search.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        this.clearSearch();
      }
    });
    this.body = h('div', { class: 'body', role: 'region', 'aria-label': 'Suggestions' });
    this.tab = h(
      'button',
      { class: 'tab', type: 'button', title: 'Open Reply Assist (Alt+Shift+R)', onclick: () => this.setOpen(true) },
      h('span', { class: 'tab-mark' }, 'RA'),
      h('span', { class: 'tab-text' }, 'Reply Assist'),
    );
    this.panel = h(
      'aside',
      { class: 'panel', 'aria-label': 'Reply Assist', dir: 'ltr', lang: 'en' },
      h(
        'header',
        { class: 'top' },
        h(
          'div',
          { class: 'brand' },
          h('span', { class: 'logo' }, 'RA'),
          h('div', { class: 'who' }, h('strong', null, 'Reply Assist'), this.ticketLine),
        ),
        this.languageSelect,
        this.dockButton,
        h(
          'button',
          {
            class: 'icon close',
            type: 'button',
            title: 'Close (Alt+Shift+R)',
            'aria-label': 'Close',
            onclick: () => this.setOpen(false),
          },
          '×',
        ),
      ),
      h('div', { class: 'search-box' }, this.search),
      this.body,
      h(
        'footer',
        null,
        h('kbd', null, 'Alt+Shift+R'),
        ' open/close · ',
        h('kbd', null, 'Alt+Shift+↑↓'),
        ' choose · ',
        h('kbd', null, 'Alt+Shift+Enter'),
        ' insert',
      ),
    );
    this.resizer = h('div', {
      class: 'resizer',
      role: 'separator',
      'aria-orientation': 'vertical',
      'aria-label': 'Resize Reply Assist',
      title: 'Drag to resize',
    });
    this.panel.prepend(this.resizer);
    root.append(this.tab, this.panel);
    this.layout.attach(this.resizer, this.dockButton);
  }

  get isOpen() {
    return this.host.dataset.open === 'true';
  }

  setOpen(open) {
    this.host.dataset.open = String(open);
    this.layout.apply(open);
    this.actions.onOpenChange?.(open);
  }

  toggle() {
    this.setOpen(!this.isOpen);
  }

  setState(state, extra = {}) {
    this.host.dataset.state = state;
    for (const [k, v] of Object.entries(extra)) this.host.dataset[k] = v;
  }

  setTicket(ticket) {
    this.ticket = ticket;
    this.host.dataset.ticketId = ticket ? ticket.id : '';
    fill(this.ticketLine, ticket ? `Ticket #${ticket.id}` : 'No ticket open');
  }

  showIdle() {
    this.setTicket(null);
    this.cards = [];
    this.setState('idle');
    fill(this.body, h('p', { class: 'empty' }, 'Open a ticket and the policy and replies that fit it appear here.'));
  }

  showLoading(ticket) {
    this.setTicket(ticket);
    this.clearSearch(false);
    this.cards = [];
    this.selected = -1;
    this.setState('loading');
    fill(
      this.body,
      h(
        'p',
        { class: 'loading', role: 'status' },
        h('span', { class: 'spinner', 'aria-hidden': 'true' }),
        'Finding the policy and replies for this ticket…',
      ),
      h('div', { class: 'skeleton' }),
      h('div', { class: 'skeleton short' }),
      h('div', { class: 'skeleton' }),
    );
  }

  showSuggestions(ticket, data) {
    this.setTicket(ticket);
    const language = data.language || 'en';
    const source = data.language_source === 'detected' ? 'detected' : data.language_source || '';
    fill(this.ticketLine, `Ticket #${ticket.id}`);
    this.showLanguages(language, source);
    this.language = language;
    const policies = data.policies || [];
    const replies = data.replies || [];
    const topScore = Math.max(0, ...replies.map((r) => r.score || 0));
    this.cards = replies.map(
      (reply) =>
        new ReplyCard(reply, {
          onInsert: (r, values, confirm, options) => this.actions.onInsert(r, values, confirm, language, options),
          onSelect: (card) => this.select(this.cards.indexOf(card)),
          topScore,
          favourite: this.favourites.has(reply.key),
          onFavourite: (key, on) => this.toggleFavourite(key, on),
        }),
    );
    for (const card of this.cards) {
      card.el.append(feedbackControl(card.reply, () => ticket.id, language));
    }
    this.selected = -1;
    const sections = [];
    const banner = repeatBanner(data.contact, { onAlert: () => this.actions.onAlert() });
    if (banner) sections.push(banner);
    if (policies.length) {
      sections.push(
        h(
          'section',
          { class: 'policies', 'aria-label': 'Policies' },
          policyCard(policies[0], { open: true }),
          policies.length > 1
            ? h(
                'details',
                { class: 'more' },
                h('summary', null, `${policies.length - 1} more ${policies.length > 2 ? 'policies' : 'policy'}`),
                policies.slice(1).map((p) => policyCard(p, { open: false })),
              )
            : null,
        ),
      );
    }
    if (replies.length) {
      sections.push(
        h(
          'section',
          {
            class: 'replies',
            role: 'listbox',
            'aria-label': 'Replies',
            lang: language,
            dir: dirOf(language),
            dataset: { language },
          },
          h('h2', { dir: 'ltr', lang: 'en' }, data.confident === false ? 'Closest replies' : 'Replies'),
          // A weak guess is not presented as the answer.
          data.confident === false
            ? h(
                'p',
                { class: 'no-match', role: 'status', dir: 'ltr', lang: 'en' },
                'No confident match: none of these clearly fits. Check before inserting, or search.',
              )
            : null,
          this.cards.map((c) => c.el),
        ),
      );
    }
    this.mineBox = h('section', { class: 'mine', 'aria-label': 'Your replies' });
    sections.push(this.mineBox);
    this.drawMine();
    if (!policies.length && !replies.length) {
      this.setState('empty', { language });
      fill(
        this.body,
        banner,
        h('p', { class: 'empty' }, 'Nothing in the knowledge base fits this ticket yet. Try the search box above.'),
        this.mineBox,
      );
      this.markDrawn();
      return;
    }
    this.setState('ready', { language });
    fill(this.body, sections);
    if (this.cards.length) this.select(0, { focus: false, scroll: false });
    this.markDrawn();
  }

  markDrawn() {
    // performance.now() shares the page's time origin, so a benchmark can compare it with
    // the navigation's start.
    this.host.dataset.drawnAt = performance.now().toFixed(1);
  }

  showError(error) {
    this.setState('error', { errorKind: error.kind || ERROR.HTTP });
    const buttons = [
      h('button', { class: 'primary retry', type: 'button', onclick: () => this.actions.onRetry() }, 'Retry'),
    ];
    if ([ERROR.AUTH, ERROR.NOT_CONFIGURED, ERROR.FORBIDDEN].includes(error.kind)) {
      buttons.push(
        h(
          'button',
          { class: 'secondary', type: 'button', onclick: () => this.actions.onOpenOptions() },
          'Open options',
        ),
      );
    }
    const titles = {
      [ERROR.NETWORK]: 'Reply Assist is unreachable',
      [ERROR.AUTH]: 'Your token was refused',
      [ERROR.NOT_CONFIGURED]: 'Reply Assist is not set up',
      [ERROR.FORBIDDEN]: 'The server refused the request',
      [ERROR.EXTENSION]: 'The extension needs a reload',
    };
    fill(
      this.body,
      h(
        'div',
        { class: 'error', role: 'alert' },
        h('h2', null, titles[error.kind] || error.title || 'Something went wrong'),
        h('p', { class: 'detail' }, plainMessage(error)),
        h('div', { class: 'actions' }, buttons),
      ),
    );
    this.markDrawn();
  }

  /** Whether the agent's focus is in the sidebar (not in the helpdesk's composer). */
  get hasFocus() {
    return document.activeElement === this.host;
  }

  select(index, { focus = true, scroll = true } = {}) {
    if (!this.cards.length) return;
    const next = Math.max(0, Math.min(this.cards.length - 1, index));
    this.cards.forEach((card, i) => {
      card.el.classList.toggle('selected', i === next);
      card.el.setAttribute('aria-selected', String(i === next));
    });
    this.selected = next;
    const card = this.cards[next];
    if (scroll) card.el.scrollIntoView({ block: 'nearest' });
    // Never pull focus out of the composer or out of a field the agent is typing in.
    if (focus && this.hasFocus && !card.el.contains(this.host.shadowRoot.activeElement)) {
      card.el.focus({ preventScroll: true });
    }
  }

  move(delta) {
    if (!this.isOpen) this.setOpen(true);
    this.select(this.selected < 0 ? 0 : this.selected + delta);
  }

  insertSelected() {
    const card = this.cards[this.selected];
    if (card) card.insert();
  }

  focusSearch() {
    if (!this.isOpen) this.setOpen(true);
    this.search.focus();
  }

  onSearchInput() {
    clearTimeout(this.searchTimer);
    this.searchTimer = setTimeout(() => this.runSearch(this.search.value.trim()), 250);
  }

  async runSearch(q) {
    const seq = ++this.searchSeq;
    if (q.length < 2) {
      this.restoreSuggestions();
      return;
    }
    if (!this.savedBody) {
      this.savedBody = [...this.body.childNodes];
      this.savedState = this.host.dataset.state;
    }
    this.setState('searching');
    const result = await this.actions.onSearch(q);
    if (seq !== this.searchSeq) return; // a newer query is on its way
    const head = h(
      'div',
      { class: 'search-head' },
      h('span', null, `Results for “${q}”`),
      h('button', { class: 'link', type: 'button', onclick: () => this.clearSearch() }, 'Back to suggestions'),
    );
    if (!result.ok) {
      fill(this.body, head, h('p', { class: 'error detail', role: 'alert' }, result.error.detail || 'Search failed.'));
      this.setState('search-error');
      return;
    }
    const hits = dedupe(result.data.hits || []);
    // Replies are shown rendered over this ticket (never as raw templates): one more call.
    const keys = hits.filter((hit) => hit.kind === 'reply').map((hit) => hit.key);
    const rendered = keys.length ? await this.actions.onRender(keys, null) : null;
    if (seq !== this.searchSeq) return;
    const byKey = new Map(rendered && rendered.ok ? rendered.data.replies.map((r) => [r.key, r]) : []);
    const words = q.split(/\s+/).filter(Boolean);
    fill(
      this.body,
      head,
      hits.length
        ? h(
            'section',
            { class: 'results', 'aria-label': 'Search results' },
            hits.map((hit) =>
              searchHit(hit, {
                onInsert: (r, values, confirm, options) => this.actions.onInsert(r, values, confirm, null, options),
                rendered: byKey.get(hit.key) || null,
                words,
                favourite: this.favourites.has(hit.key),
                onFavourite: (key, on) => this.toggleFavourite(key, on),
              }),
            ),
          )
        : h('p', { class: 'empty' }, 'No policy or reply matches these words.'),
    );
    this.setState('search-results');
  }

  /** The language picker: the reply language, how it was chosen, and the others to force. */
  showLanguages(language, source) {
    const codes = LANGUAGES.includes(language) ? LANGUAGES : [language, ...LANGUAGES];
    const forced = Boolean(this.forcedLanguage);
    fill(
      this.languageSelect,
      h('option', { value: '' }, forced ? 'Auto' : `${languageName(language)}${source ? ` (${source})` : ''}`),
      codes.map((code) => h('option', { value: code }, languageName(code))),
    );
    this.languageSelect.value = forced ? language : '';
  }

  /** The agent's favourites and recent replies (from the server), drawn under the replies. */
  setMine(mine) {
    this.mine = mine || { favourites: [], recent: [] };
    this.favourites = new Set(this.mine.favourites.map((r) => r.key));
    this.drawMine();
  }

  drawMine() {
    if (!this.mineBox) return;
    const { favourites, recent } = this.mine;
    const chip = (item, kind) =>
      h(
        'button',
        { class: `chip ${kind}`, type: 'button', dataset: { key: item.key }, title: item.title, onclick: () => this.showMine(item) },
        kind === 'fav' ? '★ ' : '',
        item.title,
      );
    const recentOnly = recent.filter((r) => !this.favourites.has(r.key));
    fill(
      this.mineBox,
      favourites.length || recentOnly.length
        ? h(
            'details',
            { class: 'mine-list', open: true },
            h('summary', null, `Your replies: ${favourites.length} favourite${favourites.length === 1 ? '' : 's'}, ${recentOnly.length} recent`),
            h('div', { class: 'chips' }, favourites.map((r) => chip(r, 'fav')), recentOnly.map((r) => chip(r, 'recent'))),
          )
        : h('p', { class: 'hint-line' }, '☆ a reply to keep it at hand; your recent replies show here too.'),
    );
  }

  async showMine(item) {
    if (!this.savedBody) {
      this.savedBody = [...this.body.childNodes];
      this.savedState = this.host.dataset.state;
    }
    const seq = ++this.searchSeq;
    this.setState('searching');
    const result = await this.actions.onRender([item.key], this.language || null);
    if (seq !== this.searchSeq) return;
    const head = h(
      'div',
      { class: 'search-head' },
      h('span', null, this.favourites.has(item.key) ? 'Favourite' : 'Recent'),
      h('button', { class: 'link', type: 'button', onclick: () => this.clearSearch() }, 'Back to suggestions'),
    );
    if (!result.ok || !result.data.replies.length) {
      fill(this.body, head, h('p', { class: 'error detail', role: 'alert' }, result.ok ? 'This reply is no longer published.' : plainMessage(result.error)));
      this.setState('search-error');
      return;
    }
    const language = result.data.language;
    fill(
      this.body,
      head,
      h(
        'section',
        { class: 'results', 'aria-label': 'Your reply', lang: language, dir: dirOf(language) },
        result.data.replies.map(
          (reply) =>
            new ReplyCard(reply, {
              onInsert: (r, values, confirm, options) => this.actions.onInsert(r, values, confirm, language, options),
              favourite: this.favourites.has(reply.key),
              onFavourite: (key, on) => this.toggleFavourite(key, on),
            }).el,
        ),
      ),
    );
    this.setState('search-results');
  }

  async toggleFavourite(key, on) {
    const result = await this.actions.onFavourite(key, on);
    if (result.ok) this.setMine(result.data);
    return result;
  }

  clearSearch(restore = true) {
    clearTimeout(this.searchTimer);
    this.searchSeq++;
    this.search.value = '';
    if (restore) this.restoreSuggestions();
    else this.savedBody = null;
  }

  restoreSuggestions() {
    if (this.savedBody) {
      fill(this.body, this.savedBody);
      this.savedBody = null;
      this.setState(this.savedState);
    }
  }
}

/** One hit per snippet: search answers per language, the first (best) one stays. */
function dedupe(hits) {
  const seen = new Set();
  return hits.filter((hit) => !seen.has(hit.key) && seen.add(hit.key));
}
