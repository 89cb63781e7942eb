// The snippet editor's live preview: posts the form to /console/snippets/preview as the manager
// types and shows the result. Server data only ever goes into textContent, never innerHTML.
(function () {
  'use strict';
  const form = document.getElementById('editor');
  if (!form) return;
  const result = document.getElementById('preview-result');
  const choice = document.getElementById('preview-ticket');
  const sample = document.getElementById('sample-ticket');
  const tickets = JSON.parse(document.getElementById('demo-tickets').textContent);
  const RTL = new Set(['ar', 'he', 'fa', 'ur']);
  let timer = null;
  let sent = 0;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function eligibility(data) {
    if (data.eligible === true) return el('span', { id: 'preview-eligibility', 'data-eligible': 'true', class: 'badge ok' }, 'Fits the ticket');
    if (data.eligible === false) return el('span', { id: 'preview-eligibility', 'data-eligible': 'false', class: 'badge bad' }, "Doesn't fit");
    if (data.reason) return el('span', { id: 'preview-eligibility', 'data-eligible': 'unknown', class: 'badge warn' }, 'Check');
    return null;
  }

  function show(data) {
    const nodes = [];
    if (data.error) {
      nodes.push(el('p', { class: 'error', id: 'preview-error' }, data.error));
    } else {
      const dir = RTL.has(data.language) ? 'rtl' : 'ltr';
      const head = el('p');
      head.append(el('span', { class: 'badge' }, data.language));
      const badge = eligibility(data);
      if (badge) head.append(' ', badge);
      nodes.push(head);
      if (data.reason) nodes.push(el('p', { id: 'preview-reason', class: data.eligible === false ? 'error' : 'warn' }, data.reason));
      nodes.push(el('h3', { lang: data.language, dir }, data.title));
      nodes.push(el('div', { id: 'preview-text', class: 'preview-text', lang: data.language, dir }, data.text));
      if (data.missing.length) nodes.push(el('p', { id: 'preview-missing', class: 'warn' }, 'Missing: ' + data.missing.join(', ')));
      if (data.offer) {
        const bad = data.offer.outcome === 'refused' || data.offer.outcome === 'unknown';
        nodes.push(el('p', { id: 'preview-offer', 'data-outcome': data.offer.outcome, class: bad ? 'error' : 'notice' },
          'Offer ' + (data.offer.label || data.offer.key) + ': ' + data.offer.detail));
      }
      Object.entries(data.template_errors || {}).forEach(([lang, found]) =>
        nodes.push(el('p', { class: 'error' }, lang + ': ' + found.join('; '))));
    }
    result.replaceChildren(...nodes);
    result.dataset.updated = String(Date.now());
  }

  async function refresh() {
    const mine = ++sent;
    const body = new FormData(form);
    body.set('action', 'preview');
    try {
      const response = await fetch(form.dataset.previewUrl, {
        method: 'POST', body, credentials: 'same-origin', headers: { Accept: 'application/json' },
      });
      if (mine !== sent) return; // a newer preview is on its way
      if (!response.ok) {
        show({ error: 'The preview is not available (' + response.status + '); reload the page if you were signed out.' });
        return;
      }
      show(await response.json());
    } catch (e) {
      if (mine === sent) show({ error: 'The server did not answer the preview; is it running?' });
    }
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 350);
  }

  choice.addEventListener('change', () => {
    if (tickets[choice.value]) sample.value = JSON.stringify(tickets[choice.value], null, 2);
    refresh();
  });
  sample.addEventListener('input', () => { choice.value = ''; });
  form.addEventListener('input', soon);
  form.addEventListener('change', soon);
  document.getElementById('preview-button').addEventListener('click', (e) => {
    e.preventDefault();
    refresh();
  });
  // A stored snippet opens with its preview over the sample ticket already shown.
  if (!result.querySelector('#preview-text') && form.querySelector('[name=stored_key]')) refresh();
})();
