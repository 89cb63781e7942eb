// Gmail: a thread at https://mail.google.com/mail/u/0/#inbox/<thread>. The latest message of
// the thread is the one to answer; its sender is the customer.

import { GMAIL as S } from '../selectors.js';
import { first, firstName, last, textOf, ticket } from './common.js';

export default {
  name: 'gmail',
  matches: (loc) => loc.hostname === 'mail.google.com',

  readTicket(doc, loc = doc.location) {
    const subject = first(doc, S.subject);
    const message = last(doc, S.message);
    if (!subject || !message) return null; // the inbox list, not a thread
    const hash = loc.hash.match(S.threadHash);
    const id = subject.getAttribute(S.threadIdAttr) || (hash && hash[1]);
    if (!id) return null;
    const sender = message.querySelector(S.sender);
    const name = (sender && (sender.getAttribute('name') || textOf(sender))) || '';
    return ticket({
      id,
      subject: textOf(subject),
      body: textOf(first(message, S.messageBody)),
      customer: {
        name,
        first_name: firstName(name),
        email: ((sender && sender.getAttribute('email')) || '').toLowerCase(),
      },
    });
  },

  findComposer: (doc) => first(doc, S.composer),
};
