// Freshdesk: https://<sub>.freshdesk.com/a/tickets/<id>. The ticket description is the first
// customer message; later customer replies are "incoming" conversation items.

import { FRESHDESK as S } from '../selectors.js';
import { emailIn, first, firstName, textOf, ticket } from './common.js';

function latestCustomerMessage(doc) {
  for (const selector of S.customerMessage) {
    const all = doc.querySelectorAll(selector);
    if (all.length) return all[all.length - 1];
  }
  return null;
}

export default {
  name: 'freshdesk',
  matches: (loc) => /(^|\.)freshdesk\.com$/.test(loc.hostname),

  readTicket(doc, loc = doc.location) {
    const match = loc.pathname.match(S.ticketPath);
    if (!match) return null;
    const message = latestCustomerMessage(doc);
    const name = textOf(first(doc, S.requesterName));
    return ticket({
      id: match[1],
      subject: textOf(first(doc, S.subject)),
      body: textOf(message && first(message, S.messageBody)),
      customer: { name, first_name: firstName(name), email: emailIn(first(doc, S.requesterEmail)) },
    });
  },

  findComposer: (doc) => first(doc, S.composer),
};
