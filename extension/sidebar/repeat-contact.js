// "3rd contact in 14 days: earlier about late delivery, refund", with links back to those
// tickets where the helpdesk gave their address, and one click to alert customer success.

import { h } from './dom.js';

export function ordinal(n) {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : { 1: 'st', 2: 'nd', 3: 'rd' }[n % 10] || 'th';
  return `${n}${suffix}`;
}

/** The banner for a /suggest `contact` summary, or null when this is no repeat contact. */
export function repeatBanner(contact, { onAlert }) {
  if (!contact || !contact.repeat) return null;
  const topics = [];
  (contact.earlier || []).slice(0, 4).forEach((earlier, i) => {
    if (i) topics.push(', ');
    const label = earlier.subject || `ticket #${earlier.ticket_id}`;
    topics.push(
      earlier.url
        ? h('a', { href: earlier.url, target: '_top', dir: 'auto', title: `Ticket #${earlier.ticket_id}` }, label)
        : h('span', { dir: 'auto' }, label),
    );
  });
  if ((contact.earlier || []).length > 4) topics.push(` and ${contact.earlier.length - 4} more`);
  const button = h('button', { class: 'secondary alert-cs', type: 'button' }, 'Alert customer success');
  const status = h('span', { class: 'alert-status', role: 'status' });
  const done = () => {
    button.disabled = true;
    button.textContent = 'Customer success alerted';
  };
  if (contact.alerted) done();
  button.addEventListener('click', async () => {
    button.disabled = true;
    const result = await onAlert();
    if (result.ok) done();
    else {
      button.disabled = false;
      status.textContent = result.error.detail || 'The alert was not recorded; try again.';
    }
  });
  return h(
    'section',
    { class: 'repeat', role: 'note', 'aria-label': 'Repeat contact', dataset: { count: String(contact.count) } },
    h('p', null, h('strong', null, `${ordinal(contact.count)} contact in ${contact.window_days} days`), topics.length ? ': earlier about ' : '', topics),
    h('div', { class: 'actions' }, button, status),
  );
}
