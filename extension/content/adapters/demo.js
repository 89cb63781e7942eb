// The demo helpdesk the backend serves at /demo/tickets/<n>: besides the ticket it shows the
// customer and order facts a real helpdesk's apps would give, as data attributes.

import { DEMO as S } from '../selectors.js';
import { first, last, textOf, ticket } from './common.js';

export default {
  name: 'demo',
  matches: (loc, doc) => Boolean(doc.querySelector(S.marker)),

  readTicket(doc) {
    const root = doc.querySelector(S.ticket);
    if (!root) return null;
    const d = root.dataset;
    const message = last(root, S.customerMessage);
    const agent = doc.querySelector(S.agent);
    return ticket({
      id: d.ticketId,
      subject: textOf(root.querySelector(S.subject)),
      body: textOf(message && first(message, S.messageBody)),
      customer: {
        name: d.customerName,
        first_name: d.customerFirstName,
        email: d.customerEmail,
        membership: d.customerMembership,
      },
      order: { id: d.orderId, status: d.orderStatus, tracking_number: d.orderTrackingNumber },
      agent: { first_name: agent && agent.dataset.agentFirstName },
    });
  },

  findComposer: (doc) => doc.querySelector(S.composer),
};
