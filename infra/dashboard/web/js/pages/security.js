// Security: second factors (authenticator apps, recovery codes, passkeys).
import { call } from '../api.js';
import { h, time } from '../dom.js';

export async function security() {
  const [m, p] = await Promise.all([call('GET', '/v1/mfa'), call('GET', '/v1/passkeys')]);
  return [h('h1', {}, 'Security'),
    h('h2', {}, 'Authenticator apps'),
    h('ul', { id: 'totp-list' }, m.factors.filter((f) => f.kind === 'totp').map((f) => h('li', {}, f.name || 'Authenticator app', ' · ', f.status))),
    h('p', { id: 'recovery-left' }, `Recovery codes left: ${m.recovery_codes?.left ?? 0}`),
    h('h2', {}, 'Passkeys'),
    h('ul', { id: 'passkey-list' }, p.passkeys.map((k) => h('li', {}, k.name, ' · added ', time(k.created_at))))];
}
