// A human message for every problem code the API answers (shared/web/codes.go;
// a Go test fails when a code is missing here). Branch on codes, never on the
// API's English detail.

export const messages = {
  already_subscribed: 'This account already has premium. Manage it with “Manage billing”.',
  bad_event: 'The request reached the API in a form it could not read. Try again.',
  billing_unavailable: 'Billing is unavailable right now. Try again in a few minutes.',
  body_too_large: 'What you sent is too large. Shorten it and try again.',
  breach_check_unavailable: 'New passwords cannot be checked against known breaches right now. Try again shortly.',
  deletion_not_found: 'There is no deletion with this id. Receipts are kept for a year; check the link in your email.',
  event_in_progress: 'This billing event is already being applied.',
  factor_limit_reached: 'You have as many authenticator apps as an account may have; remove one first.',
  factor_not_found: 'That authenticator no longer exists, or its enrolment expired; start again.',
  internal_error: 'Something went wrong on our side. Try again later.',
  invalid_credentials: 'The email address or password is wrong. If you signed up recently, confirm your address first with the link we emailed you.',
  invalid_event: 'The billing event could not be used.',
  invalid_mfa_token: 'This sign-in has expired or was already finished. Log in again with your password.',
  invalid_second_factor: 'The code is wrong, expired or already used.',
  invalid_token: 'This link is unknown, expired or already used. Ask for a new one.',
  login_delayed: 'Too many failed attempts for this address. Wait before trying again, or reset your password.',
  login_locked: 'Too many failed attempts: password logins for this address are locked. Reset your password by email to unlock it.',
  malformed_json: 'The dashboard sent a request the API could not read. Reload the page and try again.',
  method_not_allowed: 'The API does not accept this action here. Reload the page and try again.',
  nda_required: 'This request needs the current NDA accepted first (see “Non-disclosure agreement” above).',
  no_billing_account: 'This account has never subscribed, so there is nothing to manage yet. Upgrade to premium first.',
  no_second_factor: 'Recovery codes stand in for a second factor: add an authenticator app first.',
  not_configured: 'This part of the service is not set up yet. Try again later.',
  not_found: 'The API has no such route. This dashboard may not match the API’s version.',
  origin_not_allowed: 'The API refused a request from this page’s address. The API must list this dashboard’s origin in ALLOWED_ORIGINS.',
  passkey_failed: 'That passkey could not be verified. Try again, or sign in another way.',
  passkey_limit_reached: 'You have as many passkeys as an account may have. Remove one first.',
  passkey_not_found: 'That passkey no longer exists.',
  passkey_rejected: 'The passkey could not be added: its request expired or did not verify. Try again.',
  password_changed: 'Your password was changed meanwhile. Log in again.',
  premium_required: 'This needs the premium plan, which includes the SOC 2 report, penetration-test results and security questionnaires. Upgrade on the Billing page.',
  rate_limited: 'Too many requests.',
  second_factor_delayed: 'Too many wrong codes for this account. Wait before trying again.',
  second_factor_locked: 'Too many wrong codes: second-factor sign-ins are locked. Contact support.',
  session_not_found: 'That session no longer exists; it may have ended already.',
  signature_invalid: 'The billing signature does not match.',
  signature_missing: 'The billing signature is missing.',
  signature_stale: 'The billing signature is too old.',
  source_busy: 'Another change of this source’s keys is under way. Try again in a minute.',
  source_limit_reached: 'Your plan’s limit of sources is reached. Delete a source or upgrade to premium.',
  source_not_found: 'You have no such source; it may have been deleted.',
  source_unreachable: 'The bucket could not be read with these keys, so nothing was saved.',
  step_up_required: 'Confirm it is you first (your code, or your password if you have no second factor), then try again.',
  stripe_unavailable: 'Stripe could not be reached. Try again shortly.',
  unauthenticated: 'Your session has ended. Log in again.',
  unreadable_body: 'The request could not be read. Try again.',
  unsupported_media_type: 'The dashboard sent a request in a form the API does not accept.',
  validation_failed: 'Some fields need attention:',
  wrong_code: 'The code is wrong, expired or already used.',
  wrong_password: 'The password you entered is wrong.',
  network_error: 'The Atrium API cannot be reached. Check your connection and try again.',
};

// Codes whose API detail adds facts the person needs (which limit, which
// element): the detail is shown after the message.
const withDetail = new Set(['source_unreachable', 'source_limit_reached', 'premium_required', 'body_too_large']);

function retryText(seconds) {
  if (seconds === null || seconds === undefined) return 'Wait a little before trying again.';
  const at = new Date(Date.now() + seconds * 1000);
  const span = seconds < 90 ? `${seconds} second${seconds === 1 ? '' : 's'}` : `${Math.ceil(seconds / 60)} minutes`;
  return `Try again in ${span} (after ${at.toLocaleTimeString()}).`;
}

// describe turns an error into lines of text: the message first, then one
// line per invalid field.
export function describe(err) {
  if (!err) return [messages.internal_error];
  if (typeof err.code !== 'string') return [String(err.message || messages.internal_error)]; // the dashboard's own check
  let msg = messages[err.code];
  if (!msg) msg = err.detail || `The API answered with an error (HTTP ${err.status}).`;
  if (withDetail.has(err.code) && err.detail) msg = `${msg} ${err.detail}`;
  if (err.status === 429) msg = `${msg} ${retryText(err.retryAfter)}`;
  const lines = [msg];
  for (const f of err.fields || []) lines.push(`${label(f.field)}: ${f.detail || f.code}`);
  if (err.requestId && err.status >= 500) lines.push(`Request id: ${err.requestId}`);
  return lines;
}

function label(field) {
  const s = String(field || 'request').replaceAll('_', ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}
