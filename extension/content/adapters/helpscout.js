// Help Scout: https://secure.helpscout.net/conversation/<id>/<number>. Threads are listed
// newest first; the first customer thread is the latest customer message.

import { HELPSCOUT as S } from '../selectors.js';
import { emailIn, first, firstName, textOf, ticket } from './common.js';

export default {
  name: 'helpscout',
  matches: (loc) => loc.hostname === 'secure.helpscout.net',

  readTicket(doc, loc = doc.location) {
    const match = loc.pathname.match(S.ticketPath);
    if (!match) return null;
    const thread = doc.querySelector(S.customerThread);
    const name = textOf(first(doc, S.requesterName));
    return ticket({
      id: match[1],
      subject: textOf(first(doc, S.subject)),
      body: textOf(thread && first(thread, S.threadBody)),
      customer: { name, first_name: firstName(name), email: emailIn(first(doc, S.requesterEmail)) },
    });
  },

  findComposer: (doc) => first(doc, S.composer),
};
