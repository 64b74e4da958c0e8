// Step-up: a sensitive change the API answers with step_up_required is
// confirmed with a fresh factor (the password for an account without a
// second factor; a code or a passkey otherwise), then tried again.
import { call, ApiError } from './api.js';
import { h, field, form, showError } from './dom.js';
import { getPasskey } from './passkey.js';

// withStepUp runs fn; when the API asks for a step-up, it shows the prompt
// inside host, waits for a successful one, and runs fn again.
export async function withStepUp(host, fn) {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== 'step_up_required') throw err;
  }
  await stepUp(host);
  return fn();
}

async function stepUp(host) {
  const { methods } = await call('GET', '/v1/mfa');
  return new Promise((resolve, reject) => {
    const done = (r) => { box.remove(); resolve(r); };
    const parts = [];
    if (!methods.length) {
      parts.push(form('step-up-password', [field('Your password', 'password', 'password', { autocomplete: 'current-password' })], 'Confirm', async (v) => {
        await call('POST', '/v1/session/step-up', { method: 'password', password: v.password });
        done();
      }));
    }
    if (methods.includes('totp') || methods.includes('recovery_code')) {
      parts.push(form('step-up-code', [field(methods.includes('totp') ? 'Code from your authenticator app, or a recovery code' : 'A recovery code', 'code', 'text',
        { autocomplete: 'one-time-code', spellcheck: 'false' })], 'Confirm', async (v) => {
        await call('POST', '/v1/session/step-up', codeProof(v.code, methods));
        done();
      }));
    }
    if (methods.includes('passkey')) {
      const err = h('div', { class: 'alert', role: 'alert', id: 'step-up-passkey-error' });
      const button = h('button', { type: 'button', id: 'step-up-passkey', onclick: async () => {
        button.disabled = true;
        err.textContent = '';
        try {
          const { publicKey } = await call('POST', '/v1/session/step-up/passkey/options', {});
          await call('POST', '/v1/session/step-up', { method: 'passkey', credential: await getPasskey(publicKey) });
          done();
        } catch (e) {
          showError(err, e);
        } finally { button.disabled = false; }
      } }, 'Use a passkey');
      parts.push(h('p', {}, button), err);
    }
    const box = h('section', { class: 'card', id: 'step-up', 'aria-labelledby': 'step-up-heading' },
      h('h2', { id: 'step-up-heading' }, 'Confirm it is you'),
      h('p', {}, 'This change needs a fresh proof that it is you. It lasts a few minutes.'),
      parts,
      h('button', { type: 'button', class: 'secondary', id: 'step-up-cancel', onclick: () => { box.remove(); reject(new Error('Cancelled: nothing was changed.')); } }, 'Cancel'));
    document.getElementById('step-up')?.remove();
    host.append(box);
    box.querySelector('input, button')?.focus();
  });
}

// codeProof reads a typed code: six digits are an authenticator app's code,
// anything else a recovery code (the API ignores case, spaces and dashes).
export function codeProof(code, methods) {
  const digits = code.replace(/\s+/g, '');
  if (/^\d{6}$/.test(digits) && methods.includes('totp')) return { method: 'totp', code: digits };
  return { method: 'recovery_code', code: code.trim() };
}
