// Zendesk Agent Workspace: https://<sub>.zendesk.com/agent/tickets/<id>. Several tickets stay
// open as tabs (hidden workspaces); the visible one with the URL's id is the ticket.

import { ZENDESK as S } from '../selectors.js';
import { emailIn, first, firstName, isShown, last, textOf, ticket } from './common.js';

function workspace(doc, id) {
  const all = [...doc.querySelectorAll(S.workspace)];
  return all.find((el) => el.getAttribute('data-ticket-id') === id && isShown(el)) || all.find(isShown) || null;
}

export default {
  name: 'zendesk',
  matches: (loc) => /(^|\.)zendesk\.com$/.test(loc.hostname),

  readTicket(doc, loc = doc.location) {
    const match = loc.pathname.match(S.ticketPath);
    if (!match) return null;
    const root = workspace(doc, match[1]);
    if (!root) return null;
    const message = last(root, S.endUserMessage);
    const name = textOf(first(root, S.requesterName)) || textOf(message && first(message, S.messageSender));
    return ticket({
      id: match[1],
      subject: textOf(first(root, S.subject)),
      body: textOf(message && first(message, S.messageBody)),
      customer: { name, first_name: firstName(name), email: emailIn(first(root, S.requesterEmail)) },
    });
  },

  findComposer(doc, loc = doc.location) {
    const match = loc.pathname.match(S.ticketPath);
    const root = (match && workspace(doc, match[1])) || doc;
    return first(root, S.composer);
  },
};
