// Security: second factors. Authenticator apps (TOTP, enrolled from a QR
// code), recovery codes, passkeys; every change asks for a step-up when the
// API wants one, then goes on.
import { call } from '../api.js';
import { h, field, form, time, showError } from '../dom.js';
import { withStepUp } from '../stepup.js';
import { createPasskey } from '../passkey.js';
import { qrSVG } from '../qr.js';

export async function security() {
  const host = h('div', { id: 'security' });
  const status = h('p', { role: 'status', id: 'security-status' });
  const err = h('div', { class: 'alert', role: 'alert', id: 'security-error' });
  const shown = h('div', { id: 'shown-once' }); // the secret or codes, shown once
  const totp = h('div', { id: 'totp' });
  const recovery = h('div', { id: 'recovery' });
  const passkeys = h('div', { id: 'passkeys' });
  const stepHost = h('div', { id: 'step-up-host' });

  // act runs a change (asking for a step-up when needed), then reloads.
  const act = async (fn, msg) => {
    err.textContent = '';
    status.textContent = '';
    try {
      await withStepUp(stepHost, fn);
      if (msg) status.textContent = msg;
      await load();
    } catch (e) { showError(err, e); }
  };

  function showCodes(codes, heading) {
    shown.replaceChildren(h('section', { class: 'card', 'aria-labelledby': 'codes-heading' },
      h('h2', { id: 'codes-heading' }, heading),
      h('p', {}, 'Save these recovery codes somewhere other than your authenticator (a password manager, or on paper). Each works once in place of your second factor. They are shown only now.'),
      h('ol', { id: 'recovery-codes', class: 'codes' }, codes.map((c) => h('li', {}, h('code', {}, c)))),
      h('button', { type: 'button', id: 'codes-saved', onclick: () => shown.replaceChildren() }, 'I have saved them')));
    shown.querySelector('h2').setAttribute('tabindex', '-1');
    shown.querySelector('h2').focus();
  }

  function enrolment(r) {
    const confirm = form('totp-confirm', [field('The 6-digit code your app shows now', 'code', 'text', { autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: 6 })],
      'Confirm and turn on', async (v) => {
        const c = await call('POST', `/v1/mfa/totp/${encodeURIComponent(r.factor.id)}/confirm`, { code: v.code.replace(/\s+/g, '') });
        shown.replaceChildren();
        status.textContent = 'The authenticator app is on: your next login asks for its code.';
        await load();
        if (c.recovery_codes) showCodes(c.recovery_codes, 'Your recovery codes');
      });
    shown.replaceChildren(h('section', { class: 'card', 'aria-labelledby': 'enrol-heading' },
      h('h2', { id: 'enrol-heading' }, 'Scan this code with your authenticator app'),
      h('figure', { class: 'qr' }, qrSVG(r.otpauth_uri), h('figcaption', {}, 'QR code of the setup link below')),
      h('p', {}, 'Or type this secret into the app (time-based, 6 digits, every 30 seconds):'),
      h('p', {}, h('code', { id: 'totp-secret' }, r.secret)),
      h('details', {}, h('summary', {}, 'Setup link'), h('p', {}, h('code', { id: 'totp-uri' }, r.otpauth_uri))),
      h('p', { class: 'hint' }, `Finish before ${time(r.expires_at)}. The secret is never shown again.`),
      confirm));
    confirm.querySelector('input').focus();
  }

  async function load() {
    const [m, p] = await Promise.all([call('GET', '/v1/mfa'), call('GET', '/v1/passkeys')]);
    const apps = m.factors.filter((f) => f.kind === 'totp' && f.status === 'active');
    totp.replaceChildren(
      apps.length ? h('ul', { id: 'totp-list' }, apps.map((f) => h('li', { 'data-factor': f.id },
        `${f.name || 'Authenticator app'} · added ${time(f.confirmed_at || f.created_at)} · last used ${time(f.last_used_at)} `,
        h('button', { type: 'button', class: 'secondary', 'aria-label': `Remove the authenticator app ${f.name || ''} added ${time(f.created_at)}`,
          onclick: () => act(() => call('DELETE', `/v1/mfa/factors/${encodeURIComponent(f.id)}`), 'The authenticator app was removed.') }, 'Remove'))))
        : h('p', { id: 'totp-none' }, 'No authenticator app yet.'),
      h('button', { type: 'button', id: 'totp-add', onclick: () => act(async () => enrolment(await call('POST', '/v1/mfa/totp', {}))) }, 'Add an authenticator app'));
    const left = m.recovery_codes?.left ?? 0;
    recovery.replaceChildren(...[
      h('p', { id: 'recovery-left', 'data-left': String(left) }, m.methods.length
        ? `${left} recovery code${left === 1 ? '' : 's'} left${m.recovery_codes?.generated_at ? ` (made ${time(m.recovery_codes.generated_at)})` : ''}.`
        : 'Recovery codes come with your first second factor.'),
      m.methods.length ? h('button', { type: 'button', id: 'recovery-new',
        onclick: () => act(async () => showCodes((await call('POST', '/v1/mfa/recovery-codes', {})).recovery_codes, 'Your new recovery codes'), 'New recovery codes: the old ones no longer work.') }, 'Make new recovery codes') : null].filter(Boolean));
    passkeys.replaceChildren(
      p.passkeys.length ? h('ul', { id: 'passkey-list' }, p.passkeys.map(passkeyRow)) : h('p', { id: 'passkey-none' }, 'No passkey yet.'),
      addPasskey);
  }

  function passkeyRow(k) {
    const rename = form(`passkey-rename-${k.id}`, [field(`New name for ${k.name}`, 'name', 'text', { value: k.name, maxlength: 64 })], 'Save name', async (v) => {
      await call('PATCH', `/v1/passkeys/${encodeURIComponent(k.id)}`, { name: v.name });
      status.textContent = 'The passkey was renamed.';
      await load();
    }, { label: `Rename ${k.name}` });
    rename.hidden = true;
    return h('li', { 'data-passkey': k.id },
      h('span', { class: 'passkey-name' }, k.name), ` · added ${time(k.created_at)} · last used ${time(k.last_used_at)}${k.backed_up ? ' · synced' : ''} `,
      h('button', { type: 'button', class: 'secondary rename', 'aria-label': `Rename the passkey ${k.name}`, onclick: () => { rename.hidden = !rename.hidden; if (!rename.hidden) rename.querySelector('input').focus(); } }, 'Rename'),
      h('button', { type: 'button', class: 'secondary remove', 'aria-label': `Remove the passkey ${k.name}`,
        onclick: () => act(() => call('DELETE', `/v1/passkeys/${encodeURIComponent(k.id)}`), 'The passkey was removed.') }, 'Remove'),
      rename);
  }

  const addPasskey = form('passkey-add', [field('Name of the new passkey', 'name', 'text', { maxlength: 64, hint: 'For example the device or password manager that keeps it.' })],
    'Add a passkey', async (v, f) => {
      await withStepUp(stepHost, async () => {
        const { publicKey } = await call('POST', '/v1/passkeys/registration/options', {});
        const credential = await createPasskey(publicKey);
        await call('POST', '/v1/passkeys', { name: v.name, credential });
      });
      f.reset();
      status.textContent = 'The passkey was added. You can sign in with it, with or without your password.';
      await load();
    });

  await load();
  return [h('h1', {}, 'Security'), status, err, stepHost, shown,
    h('h2', {}, 'Authenticator apps'), h('p', {}, 'An app such as a password manager or an authenticator shows a new 6-digit code every 30 seconds; logins then ask for it after your password.'), totp,
    h('h2', {}, 'Recovery codes'), recovery,
    h('h2', {}, 'Passkeys'), h('p', {}, 'A passkey signs you in without a password, or serves as the second step after it.'), passkeys,
    h('p', {}, h('a', { href: '/settings/sessions' }, 'See your sessions and how each signed in'))];
}
