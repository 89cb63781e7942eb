// Reply Assist help widget: one script tag, no framework, no cookies.
//
//   <script src="https://replyassist.example/widget/v1/widget.js" data-key="rapk_..." defer></script>
//
// Options (data attributes on the script tag): data-key (the shop's public key, required),
// data-language (answer in this language; else the question's), data-target (a CSS selector
// to draw into; else right after the script tag), data-contact-url (a link shown when nothing
// fits). It asks the server it was loaded from, draws into a shadow root (the page's CSS
// stays out) and builds every node with textContent: answers are never parsed as HTML.
(() => {
  'use strict';
  const script = document.currentScript;
  if (!script) return;
  const api = new URL('/api/v1/public/answers', script.src);
  const key = script.dataset.key || '';
  const pageLang = (document.documentElement.lang || 'en').slice(0, 2).toLowerCase();

  const WORDS = {
    en: { title: 'How can we help?', ask: 'Ask', placeholder: 'Type your question', none: 'We found no answer to that. ', contact: 'Contact us', busy: 'Looking…', failed: 'The help service is not answering right now. Please try again in a moment.', wait: (s) => `Too many questions at once: please try again in ${s} s.` },
    it: { title: 'Come possiamo aiutarti?', ask: 'Chiedi', placeholder: 'Scrivi la tua domanda', none: 'Non abbiamo trovato una risposta. ', contact: 'Contattaci', busy: 'Cerco…', failed: 'Il servizio di aiuto non risponde. Riprova tra poco.', wait: (s) => `Troppe domande: riprova tra ${s} s.` },
    id: { title: 'Ada yang bisa kami bantu?', ask: 'Tanya', placeholder: 'Tulis pertanyaan Anda', none: 'Kami tidak menemukan jawabannya. ', contact: 'Hubungi kami', busy: 'Mencari…', failed: 'Layanan bantuan sedang tidak menjawab. Coba lagi sebentar lagi.', wait: (s) => `Terlalu banyak pertanyaan: coba lagi dalam ${s} detik.` },
    ja: { title: 'ご用件をお聞かせください', ask: '質問する', placeholder: 'ご質問を入力してください', none: '回答が見つかりませんでした。', contact: 'お問い合わせ', busy: '検索中…', failed: 'ヘルプサービスが応答していません。しばらくしてからもう一度お試しください。', wait: (s) => `質問が多すぎます。${s} 秒後にもう一度お試しください。` },
    ar: { title: 'كيف يمكننا مساعدتك؟', ask: 'اسأل', placeholder: 'اكتب سؤالك', none: 'لم نجد إجابة لذلك. ', contact: 'تواصل معنا', busy: 'جارٍ البحث…', failed: 'خدمة المساعدة لا تستجيب الآن. حاول مرة أخرى بعد قليل.', wait: (s) => `أسئلة كثيرة: حاول مرة أخرى بعد ${s} ثانية.` },
  };
  const words = WORDS[pageLang] || WORDS.en;
  const RTL = new Set(['ar', 'he', 'fa', 'ur']);

  const CSS = `
    :host { all: initial; display: block; font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto,
      'Noto Sans', 'Noto Sans CJK JP', 'Hiragino Sans', 'Yu Gothic', Meiryo, IPAGothic, 'IPAPGothic',
      'Noto Sans Arabic', sans-serif; color: #1f2328; }
    .box { border: 1px solid #d8dee4; border-radius: 12px; padding: 16px; background: #fff; }
    h2 { margin: 0 0 10px; font-size: 17px; }
    form { display: flex; gap: 8px; }
    input { flex: 1; min-width: 0; font: inherit; padding: 8px 10px; border: 1px solid #b8c2cc; border-radius: 8px; }
    button { font: inherit; font-weight: 600; padding: 8px 16px; border: 0; border-radius: 8px;
      background: #0b6e6e; color: #fff; cursor: pointer; }
    button:disabled { opacity: .6; cursor: progress; }
    input:focus, button:focus-visible { outline: 2px solid #0b6e6e; outline-offset: 1px; }
    .status { margin: 10px 0 0; color: #59636e; }
    .status:empty { display: none; }
    .answers { list-style: none; margin: 12px 0 0; padding: 0; display: flex; flex-direction: column; gap: 10px; }
    .answer { border-top: 1px solid #eef1f4; padding-top: 10px; }
    .answer h3 { margin: 0 0 4px; font-size: 15px; }
    .answer p { margin: 0; white-space: pre-line; color: #30363d; }
    a { color: #0b6e6e; }`;

  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === undefined || value === null) continue;
      if (name === 'class') el.className = value;
      else el.setAttribute(name, value);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  const host = h('div', { class: 'replyassist-help', 'data-state': 'idle' });
  const target = script.dataset.target && document.querySelector(script.dataset.target);
  if (target) target.append(host);
  else script.after(host);
  const root = host.attachShadow({ mode: 'open' });
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet]; // not blocked by a page's style-src CSP
  } catch {
    root.append(h('style', null, CSS));
  }

  const input = h('input', { type: 'search', name: 'q', placeholder: words.placeholder, 'aria-label': words.placeholder, dir: 'auto', autocomplete: 'off', maxlength: '500' });
  const button = h('button', { type: 'submit' }, words.ask);
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const list = h('ol', { class: 'answers', 'aria-label': words.title });
  const form = h('form', { role: 'search' }, input, button);
  root.append(h('div', { class: 'box', lang: pageLang, dir: RTL.has(pageLang) ? 'rtl' : 'ltr' }, h('h2', null, words.title), form, status, list));

  let seq = 0;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    ask(input.value.trim());
  });

  function setState(state) {
    host.dataset.state = state;
    button.disabled = state === 'loading';
  }

  async function ask(q) {
    if (q.length < 2) return;
    const mine = ++seq;
    host.dataset.askedAt = performance.now().toFixed(1);
    setState('loading');
    status.textContent = words.busy;
    list.replaceChildren();
    const url = new URL(api);
    url.searchParams.set('q', q);
    if (script.dataset.language) url.searchParams.set('language', script.dataset.language);
    let response;
    let data;
    try {
      response = await fetch(url, { headers: { 'X-Replyassist-Key': key, Accept: 'application/json' }, credentials: 'omit' });
      data = await response.json();
    } catch {
      response = null;
    }
    if (mine !== seq) return; // a newer question is on its way
    if (!response || !response.ok) {
      const wait = response && response.status === 429 ? response.headers.get('Retry-After') || (data && data.retry_after) : null;
      status.textContent = wait ? words.wait(wait) : words.failed;
      setState('error');
      return draw();
    }
    const answers = data.answers || [];
    if (!answers.length) {
      status.replaceChildren(words.none, script.dataset.contactUrl ? h('a', { href: script.dataset.contactUrl }, words.contact) : '');
      setState('empty');
      return draw();
    }
    status.textContent = '';
    list.replaceChildren(
      ...answers.map((a) =>
        h('li', { class: 'answer', lang: a.language, dir: 'auto', 'data-key': a.key }, h('h3', null, a.title), h('p', null, a.text)),
      ),
    );
    setState('answered');
    draw();
  }

  function draw() {
    host.dataset.answeredAt = performance.now().toFixed(1);
  }
})();
