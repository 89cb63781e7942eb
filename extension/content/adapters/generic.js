// Any page with a recognisable ticket body and a reply box. The selectors are the defaults in
// selectors.js, or the agent's own from the options page.

import { GENERIC } from '../selectors.js';
import { emailIn, firstName, textOf, ticket } from './common.js';

function pick(doc, selector) {
  if (!selector) return null;
  try {
    return doc.querySelector(selector);
  } catch {
    return null; // a mistyped selector from the options page finds nothing
  }
}

export function genericAdapter(custom = {}) {
  const S = { ...GENERIC, ...Object.fromEntries(Object.entries(custom).filter(([, v]) => v)) };
  return {
    name: 'generic',
    matches: () => true,

    readTicket(doc, loc = doc.location) {
      const bodyEl = pick(doc, S.body);
      const body = textOf(bodyEl);
      if (!body) return null;
      const idEl = pick(doc, S.ticketId);
      const id =
        (idEl && (idEl.getAttribute('data-ticket-id') || textOf(idEl))) ||
        (loc.pathname.match(/(\d+)\/?$/) || [])[1] ||
        loc.pathname;
      const name = textOf(pick(doc, S.requesterName));
      return ticket({
        id,
        subject: textOf(pick(doc, S.subject)),
        body,
        customer: { name, first_name: firstName(name), email: emailIn(pick(doc, S.requesterEmail)) },
      });
    },

    findComposer: (doc) => pick(doc, S.composer),
  };
}

export default genericAdapter();
