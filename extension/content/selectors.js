// Every selector the adapters use on helpdesk pages, in one module: when a helpdesk changes
// its markup, this file and its fixture in tests/browser/fixtures/ change together.
// Lists are tried in order; the first that matches wins.
//
// Zendesk Agent Workspace, Freshdesk, Help Scout and Gmail are written from those apps'
// public DOM conventions (Zendesk's data-test-id attributes, Freshdesk's Froala editor, Help
// Scout's data-cy attributes, Gmail's stable class names such as h2.hP, span.gD, div.a3s),
// as userscripts and extensions rely on them. Check them against a live account before
// relying on them; the fixtures show exactly what each adapter expects.

export const ZENDESK = Object.freeze({
  ticketPath: /\/agent\/tickets\/(\d+)/,
  workspace: '[data-ticket-id]',
  subject: ['input[data-test-id="omni-header-subject"]', '[data-test-id="ticket-pane-subject"]'],
  endUserMessage: '[data-test-id="omni-log-item-message"][type="end-user"]',
  messageBody: ['.zd-comment', '[data-test-id="omni-log-message-content"]'],
  messageSender: ['[data-test-id="omni-log-item-sender"]', 'strong'],
  requesterName: [
    '[data-test-id="customer-context-username"]',
    '[data-test-id="ticket-system-field-requester-select"]',
  ],
  requesterEmail: ['[data-test-id="customer-context-email"]', '[data-test-id="customer-context"] a[href^="mailto:"]'],
  composer: [
    '[data-test-id="omnicomposer-rich-text-ckeditor"] [contenteditable="true"]',
    '.ck-editor__editable[contenteditable="true"]',
    'textarea[data-test-id="omnicomposer-plain-text-area"]',
  ],
});

export const FRESHDESK = Object.freeze({
  ticketPath: /\/a\/tickets\/(\d+)/,
  subject: ['.ticket-subject-heading', '[data-test-id="ticket-subject"]'],
  // The first message is the ticket description; later customer replies are "incoming".
  customerMessage: ['.ticket-details__item.incoming', '.ticket-description'],
  messageBody: ['.conversation__body', '.ticket-description__body', '.desc'],
  requesterName: ['.ticket-details__requestor__name', '[data-test-id="requester-name"]'],
  requesterEmail: ['.ticket-details__requestor__email', '[data-test-id="requester-email"]'],
  composer: ['.reply-editor .fr-element[contenteditable="true"]', '.fr-element.fr-view[contenteditable="true"]'],
});

export const HELPSCOUT = Object.freeze({
  ticketPath: /\/conversation\/(\d+)/,
  number: ['[data-cy="conversation-number"]'],
  subject: ['[data-cy="conversation-subject"]', '.c-conversation-subject'],
  customerThread: '[data-cy="thread"][data-thread-type="customer"]',
  threadBody: ['[data-cy="thread-body"]', '.thread-content'],
  requesterName: ['[data-cy="customer-name"]'],
  requesterEmail: ['[data-cy="customer-email"]'],
  composer: ['[data-cy="reply-editor"] [contenteditable="true"]', '.c-editor [contenteditable="true"]'],
});

export const GMAIL = Object.freeze({
  threadHash: /#[^/]+\/([A-Za-z0-9]+)$/,
  subject: ['h2.hP'],
  threadIdAttr: 'data-legacy-thread-id',
  message: 'div.adn',
  messageBody: ['div.a3s'],
  sender: 'span.gD',
  composer: ['div[aria-label="Message Body"][contenteditable="true"]', 'div.Am.Al.editable[contenteditable="true"]'],
});

export const DEMO = Object.freeze({
  marker: 'meta[name="replyassist-demo"]',
  ticket: '[data-demo-ticket]',
  subject: '[data-ticket-subject]',
  customerMessage: '[data-message][data-author="customer"]',
  messageBody: '.message-body',
  agent: '[data-agent-first-name]',
  composer: 'textarea[data-reply-box]',
});

// The generic adapter's defaults; each can be replaced in the options page.
export const GENERIC = Object.freeze({
  ticketId: '[data-ticket-id]',
  subject: '[data-ticket-subject], h1',
  body: '[data-ticket-body], .ticket-body, [role="article"], article',
  requesterName: '[data-requester-name]',
  requesterEmail: '[data-requester-email], a[href^="mailto:"]',
  composer: 'textarea[name*="reply" i], [contenteditable="true"][role="textbox"], textarea, [contenteditable="true"]',
});
