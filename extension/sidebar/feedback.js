// "Not helpful" on a suggested reply: one click stores it, a reason can follow, Undo takes it
// back. Its own file so the sidebar's layout (panel.js, cards.js) stays someone else's to change.

import { MSG, send } from '../shared/messages.js';
import { fill, h } from './dom.js';

export const REASONS = Object.freeze([
  ['wrong_topic', 'Wrong topic'],
  ['outdated', 'Outdated'],
  ['wrong_language', 'Wrong language'],
  ['missing_info', 'Missing info'],
]);

/** The control under a reply card: `ticketId()` names the ticket the feedback is about. */
export function feedbackControl(reply, ticketId, language) {
  const box = h('div', { class: 'feedback', dir: 'ltr', lang: 'en', dataset: { state: 'idle' } });
  const say = async (reason = null, undo = false) => {
    box.dataset.state = 'busy';
    const result = await send(MSG.FEEDBACK, { ticketId: ticketId(), key: reply.key, reason, language, undo });
    if (!result.ok) {
      box.dataset.state = 'error';
      fill(box, h('span', { class: 'warn' }, result.error.detail || 'Feedback not saved.'), ' ', retry());
      return;
    }
    if (undo) return idle();
    box.dataset.state = 'sent';
    box.dataset.reason = reason || '';
    fill(
      box,
      h('span', { class: 'muted' }, reason ? 'Thanks: noted as ' : 'Marked not helpful. Why? '),
      reason
        ? h('strong', null, REASONS.find(([r]) => r === reason)[1])
        : REASONS.map(([value, label]) =>
            h('button', { class: 'chip', type: 'button', dataset: { reason: value }, onclick: () => say(value) }, label),
          ),
      ' ',
      h('button', { class: 'link undo', type: 'button', onclick: () => say(null, true) }, 'Undo'),
    );
  };
  const retry = () => h('button', { class: 'link', type: 'button', onclick: () => say() }, 'Retry');
  const idle = () => {
    box.dataset.state = 'idle';
    fill(box, h('button', { class: 'link not-helpful', type: 'button', onclick: () => say() }, 'Not helpful'));
  };
  idle();
  // Clicks here must not select or insert the card.
  box.addEventListener('click', (e) => e.stopPropagation());
  return box;
}
