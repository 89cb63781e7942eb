// One place for errors the extension itself hits (not the backend's answers, which the
// sidebar shows): prefixed, with where it happened, so a bug report can quote the console.

const PREFIX = '[Reply Assist]';

export function logError(where, error) {
  console.error(PREFIX, where, error);
}

export function logWarning(where, message) {
  console.warn(PREFIX, where, message);
}
