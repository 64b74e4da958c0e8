// The account: its overview and GDPR export, password change, sessions,
// Delete Account and the deletion's receipt.
import { call, download, forget } from '../api.js';
import { h, field, form, time, saveFile, showError } from '../dom.js';
import { navigate, currentAccount, loggedOut } from '../app.js';
import { withStepUp } from '../stepup.js';

export async function overview() {
  const a = await currentAccount();
  const err = h('div', { class: 'alert', role: 'alert', id: 'export-error' });
  const status = h('p', { role: 'status', id: 'export-status' });
  const exportButton = h('button', { type: 'button', id: 'export', onclick: async () => {
    exportButton.disabled = true;
    err.textContent = '';
    status.textContent = 'Preparing your export…';
    try {
      const { blob, filename } = await download('/v1/account/export', `atrium-export-${a.id}.json`);
      saveFile(blob, filename);
      status.textContent = `Downloaded ${filename}.`;
    } catch (e) {
      status.textContent = '';
      showError(err, e);
    } finally {
      exportButton.disabled = false;
    }
  } }, 'Download my data (JSON)');
  return [
    h('h1', {}, 'Your account'),
    h('dl', { id: 'account' },
      h('dt', {}, 'Email address'), h('dd', { id: 'account-email' }, a.email),
      h('dt', {}, 'Account id'), h('dd', { id: 'account-id' }, a.id),
      h('dt', {}, 'Plan'), h('dd', { id: 'account-plan' }, a.plan),
      h('dt', {}, 'Created'), h('dd', {}, time(a.created_at))),
    h('h2', {}, 'Your data'),
    h('p', {}, 'Everything Atrium holds about your account, as one JSON file (never your password or keys).'),
    exportButton, status, err,
  ];
}

export function settings() {
  // With a second factor, these changes also need a step-up with it.
  const changeStep = h('div', { id: 'password-change-step-up' });
  const deleteStep = h('div', { id: 'delete-account-step-up' });
  const change = form('password-change', [
    field('Current password', 'current', 'password', { autocomplete: 'current-password' }),
    field('New password', 'password', 'password', { autocomplete: 'new-password', hint: 'At least 15 characters.' }),
    field('Type the new password again', 'confirm', 'password', { autocomplete: 'new-password' }),
  ], 'Change password', async (v, f) => {
    if (v.password !== v.confirm) throw new Error('The two new passwords differ. Type the same password twice.');
    await withStepUp(changeStep, () => call('POST', '/v1/password/change', { current_password: v.current, new_password: v.password }));
    f.reset();
    return 'Your password is changed. Your other sessions were signed out; this one stays.';
  });

  const del = form('delete-account', [
    field('Your password', 'password', 'password', { autocomplete: 'current-password', hint: 'To confirm it is you.' }),
    field('I understand that this deletes my account, my sources and their keys, my request logs and my subscription, and cannot be undone.', 'understood', 'checkbox'),
  ], 'Delete my account', async (v, f) => {
    if (!v.understood) {
      f.querySelector('[name=understood]').focus();
      throw new Error('Tick the box to confirm that you understand.');
    }
    const r = await withStepUp(deleteStep, () => call('DELETE', '/v1/account', { password: v.password }));
    loggedOut();
    navigate(`/account-deleted#deletion=${encodeURIComponent(r.deletion.id)}`);
  }, { danger: true });

  return [
    h('h1', {}, 'Settings'),
    h('h2', {}, 'Change your password'), change, changeStep,
    h('h2', {}, 'Second factors'), h('p', {}, h('a', { href: '/security' }, 'Authenticator apps, recovery codes and passkeys')),
    h('h2', {}, 'Sessions'), h('p', {}, h('a', { href: '/settings/sessions' }, 'See where you are logged in, and sign sessions out')),
    h('section', { class: 'card danger-zone', 'aria-labelledby': 'delete-heading' },
      h('h2', { id: 'delete-heading' }, 'Delete Account'),
      h('p', {}, 'Deleting your account removes everything: your sessions, storage sources and their keys (with no recovery window), request logs, compliance records and your Stripe customer, which cancels any subscription at once. You get a receipt to keep.'),
      del, deleteStep),
  ];
}

export async function sessions() {
  const list = h('div', { id: 'sessions' });
  const err = h('div', { class: 'alert', role: 'alert', id: 'sessions-error' });
  const status = h('p', { role: 'status', id: 'sessions-status' });
  const act = async (fn, msg) => {
    err.textContent = '';
    try { await fn(); status.textContent = msg; await load(); } catch (e) { showError(err, e); }
  };
  async function load() {
    const r = await call('GET', '/v1/sessions');
    const rows = r.sessions.map((s) => h('tr', { 'data-session': s.id, 'data-current': s.current ? 'true' : undefined },
      h('td', {}, time(s.created_at)), h('td', { class: 'amr' }, signedInWith(s.amr)), h('td', {}, time(s.last_used_at)), h('td', {}, time(s.expires_at)),
      h('td', {}, s.current ? 'This session' : h('button', { type: 'button', class: 'secondary', 'aria-label': `Sign out the session started ${time(s.created_at)}`,
        onclick: () => act(() => call('DELETE', `/v1/sessions/${encodeURIComponent(s.id)}`), 'The session was signed out.') }, 'Sign out'))));
    list.replaceChildren(h('table', {}, h('caption', { class: 'hint' }, `${r.sessions.length} active session${r.sessions.length === 1 ? '' : 's'}`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Started'), h('th', { scope: 'col' }, 'Signed in with'), h('th', { scope: 'col' }, 'Last used'), h('th', { scope: 'col' }, 'Expires'), h('th', { scope: 'col' }, 'Action'))),
      h('tbody', {}, rows)));
  }
  await load();
  return [h('h1', {}, 'Sessions'), list, err, status,
    h('button', { type: 'button', id: 'sessions-others', onclick: () => act(() => call('DELETE', '/v1/sessions'), 'Every other session was signed out.') }, 'Sign out all other sessions')];
}

const factorNames = { password: 'password', totp: 'authenticator app', recovery_code: 'recovery code', passkey: 'passkey' };
function signedInWith(amr) {
  return (amr || []).map((m) => factorNames[m] || m).join(' + ') || '—';
}

// deleted follows a deletion (#deletion=<id>, the link of the email) until
// its receipt is complete.
export function deleted() {
  forget();
  const id = new URLSearchParams(location.hash.slice(1)).get('deletion') || '';
  const status = h('p', { role: 'status', id: 'deletion-status' }, 'Reading the deletion…');
  const receipt = h('div', { id: 'receipt' });
  const err = h('div', { class: 'alert', role: 'alert', id: 'deletion-error' });
  if (!id) return [h('h1', {}, 'Account deletion'), h('p', { class: 'alert', role: 'alert' }, 'This page needs the link from the deletion email.')];
  const page = location.pathname + location.hash;
  async function poll(delay) {
    if (location.pathname + location.hash !== page) return; // the person left
    try {
      const { deletion: d } = await call('GET', `/v1/account/deletion/${encodeURIComponent(id)}`);
      status.textContent = d.status === 'done' ? 'Your account is deleted.' : `Deleting your account (${d.status}, ${(d.steps_completed || []).length} steps done)…`;
      status.dataset.status = d.status;
      receipt.replaceChildren(receiptOf(d));
      if (d.status !== 'done') setTimeout(() => poll(Math.min(delay * 2, 5000)), delay);
    } catch (e) {
      showError(err, e);
      if (e.status === 0 || e.status >= 500 || e.status === 429) setTimeout(() => poll(5000), (e.retryAfter ?? 5) * 1000);
    }
  }
  poll(500);
  return [h('h1', {}, 'Account deletion'), status, err, receipt];
}

function receiptOf(d) {
  const counts = Object.entries(d.deleted || {}).map(([k, n]) => h('tr', {}, h('th', { scope: 'row' }, k.replaceAll('_', ' ')), h('td', {}, String(n))));
  return h('section', { class: 'card', 'aria-label': 'Receipt' },
    h('h2', {}, 'Receipt'),
    h('dl', {},
      h('dt', {}, 'Deletion'), h('dd', { id: 'deletion-id' }, d.id),
      h('dt', {}, 'Requested'), h('dd', {}, time(d.requested_at)),
      h('dt', {}, 'Completed'), h('dd', { id: 'deletion-completed' }, d.completed_at ? time(d.completed_at) : 'not yet'),
      h('dt', {}, 'Digest'), h('dd', { id: 'deletion-digest' }, d.account_digest || '—')),
    counts.length ? h('table', {}, h('caption', { class: 'hint' }, 'Items deleted'), h('tbody', {}, counts)) : null,
    h('p', { class: 'hint' }, 'Keep this page’s address. The digest is the SHA-256 of “atrium-deletion-v1”, the deletion id, your account id and your email address, one per line: it proves the receipt is yours without the receipt naming you.'));
}
