// Sign up, confirm the address, log in, and reset a forgotten password.
import { call, remember } from '../api.js';
import { h, field, form, showError } from '../dom.js';
import { navigate, loggedIn, flash } from '../app.js';
import { getPasskey, passkeysSupported, cancelled } from '../passkey.js';
import { codeProof } from '../stepup.js';

const passwordHint = 'At least 15 characters. A few unrelated words make a strong one; common passwords and ones built from your address are refused.';

// tokenFromFragment reads #token=… and removes it from the address bar, so
// the token is not left in the history or shown over someone's shoulder.
function fromFragment(name) {
  const value = new URLSearchParams(location.hash.slice(1)).get(name) || '';
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  return value;
}

function newPassword(values, f) {
  if (values.password !== values.confirm) {
    f.querySelector('[name=confirm]').focus();
    throw new Error('The two passwords differ. Type the same password twice.');
  }
  return values.password;
}

export function signup() {
  const done = h('div', { class: 'notice', role: 'status', id: 'signup-sent' });
  const f = form('signup', [field('Email address', 'email', 'email', { autocomplete: 'email' })], 'Sign up', async (v) => {
    await call('POST', '/v1/signup', { email: v.email });
    f.hidden = true;
    done.textContent = `Check your inbox: we sent a link to ${v.email}. Open it within 24 hours to choose your password.`;
  });
  return [h('h1', {}, 'Sign up'), f, done, h('p', {}, 'Already have an account? ', h('a', { href: '/login' }, 'Log in'))];
}

export function verify() {
  const token = fromFragment('token');
  if (!token) {
    return [h('h1', {}, 'Confirm your address'), h('p', { class: 'alert', role: 'alert' }, 'This page needs the link from your email. Open the link again, or sign up to get a new one.'),
      h('p', {}, h('a', { href: '/signup' }, 'Sign up'))];
  }
  const f = form('verify', [
    field('Choose a password', 'password', 'password', { autocomplete: 'new-password', hint: passwordHint }),
    field('Type it again', 'confirm', 'password', { autocomplete: 'new-password' }),
  ], 'Activate my account', async (v, el) => {
    const r = await call('POST', '/v1/signup/verify', { token, password: newPassword(v, el) });
    remember(r.session);
    loggedIn(r.account);
    navigate('/account');
  });
  return [h('h1', {}, 'Confirm your address'), h('p', {}, 'Your address is proven by this link. Choose the password of your new account.'), f];
}

// A passwordless login offered in the email field's autofill (conditional
// mediation) stays pending while the page is shown; it is aborted when the
// person uses the button instead, or leaves.
let autofill = null;

function stopAutofill() {
  autofill?.abort();
  autofill = null;
}

export function login({ query }) {
  stopAutofill();
  const next = query.get('next');
  const target = next && next.startsWith('/') && !next.startsWith('//') ? next : '/account';
  const finish = (r) => {
    stopAutofill();
    remember(r.session);
    loggedIn(r.account);
    const left = r.recovery_codes_left;
    if (typeof left === 'number' && left <= 3) {
      flash(left === 0
        ? 'You used your last recovery code. Make new ones now on this page.'
        : `Only ${left} recovery code${left === 1 ? '' : 's'} left. Make new ones on this page.`);
      navigate('/security');
      return;
    }
    navigate(target);
  };
  const step = h('div', { id: 'login-step' });
  const f = form('login', [
    field('Email address', 'email', 'email', { autocomplete: 'username webauthn' }),
    field('Password', 'password', 'password', { autocomplete: 'current-password' }),
  ], 'Log in', async (v) => {
    const r = await call('POST', '/v1/login', { email: v.email, password: v.password });
    if (r.mfa_required) {
      stopAutofill();
      f.hidden = true;
      passkeyBox.hidden = true;
      step.replaceChildren(...secondStep(r, finish));
      step.querySelector('input, button')?.focus();
      return;
    }
    finish(r);
  });

  const passkeyErr = h('div', { class: 'alert', role: 'alert', id: 'passkey-login-error' });
  const passwordless = async (mediation) => {
    const { publicKey } = await call('POST', '/v1/login/passkey/options', {});
    const signal = mediation ? (autofill = new AbortController()).signal : undefined;
    const credential = await getPasskey(publicKey, { mediation, signal });
    finish(await call('POST', '/v1/login/passkey', { credential }));
  };
  const passkeyButton = h('button', { type: 'button', class: 'secondary', id: 'passkey-login', onclick: async () => {
    stopAutofill();
    passkeyErr.textContent = '';
    passkeyButton.disabled = true;
    try { await passwordless(undefined); } catch (e) { if (!cancelled(e)) showError(passkeyErr, e); } finally { passkeyButton.disabled = false; }
  } }, 'Sign in with a passkey');
  const passkeyBox = h('div', { id: 'passkey-login-box' }, h('p', {}, passkeyButton), passkeyErr);

  if (passkeysSupported()) {
    PublicKeyCredential.isConditionalMediationAvailable?.().then((ok) => {
      if (!ok || location.pathname !== '/login') return;
      return passwordless('conditional');
    }).catch((e) => { if (!cancelled(e)) showError(passkeyErr, e); });
  } else {
    passkeyBox.hidden = true;
  }
  return [h('h1', {}, 'Log in'), f, step, passkeyBox,
    h('p', {}, h('a', { href: '/forgot-password' }, 'Forgot your password?')),
    h('p', {}, 'New here? ', h('a', { href: '/signup' }, 'Sign up'))];
}

// secondStep is the login's second step, after the right password: a code
// (authenticator app or recovery code) and, with a passkey, its button.
function secondStep(challenge, finish) {
  const { mfa_token: token, methods } = challenge;
  const parts = [h('h2', {}, 'Second step'), h('p', {}, 'Your password is right. Now prove it is you with your second factor.')];
  if (methods.includes('passkey')) {
    const err = h('div', { class: 'alert', role: 'alert', id: 'mfa-passkey-error' });
    const button = h('button', { type: 'button', id: 'mfa-passkey', onclick: async () => {
      err.textContent = '';
      button.disabled = true;
      try {
        const { publicKey } = await call('POST', '/v1/login/mfa/passkey/options', { mfa_token: token });
        const credential = await getPasskey(publicKey);
        finish(await call('POST', '/v1/login/mfa', { mfa_token: token, method: 'passkey', credential }));
      } catch (e) { showError(err, e); } finally { button.disabled = false; }
    } }, 'Use a passkey');
    parts.push(h('p', {}, button), err);
  }
  if (methods.includes('totp') || methods.includes('recovery_code')) {
    parts.push(form('mfa', [field(methods.includes('totp') ? 'Code from your authenticator app, or a recovery code' : 'A recovery code', 'code', 'text',
      { autocomplete: 'one-time-code', spellcheck: 'false', hint: 'Six digits from the app, or one of the recovery codes you saved (each works once).' })],
    'Continue', async (v) => {
      finish(await call('POST', '/v1/login/mfa', { mfa_token: token, ...codeProof(v.code, methods) }));
    }));
  }
  parts.push(h('p', {}, h('a', { href: '/login' }, 'Start again')));
  return parts;
}

export function forgot() {
  const done = h('div', { class: 'notice', role: 'status', id: 'forgot-sent' });
  const f = form('forgot', [field('Email address', 'email', 'email', { autocomplete: 'email' })], 'Email me a reset link', async (v) => {
    await call('POST', '/v1/password/forgot', { email: v.email });
    f.hidden = true;
    done.textContent = `If ${v.email} has an account, we sent it a link to choose a new password. It works for 1 hour.`;
  });
  return [h('h1', {}, 'Forgot your password'), f, done, h('p', {}, h('a', { href: '/login' }, 'Back to log in'))];
}

export function reset() {
  const token = fromFragment('token');
  if (!token) {
    return [h('h1', {}, 'Choose a new password'), h('p', { class: 'alert', role: 'alert' }, 'This page needs the link from your email. Ask for a new one if it has expired.'),
      h('p', {}, h('a', { href: '/forgot-password' }, 'Forgot your password?'))];
  }
  const done = h('div', { class: 'notice', role: 'status', id: 'reset-done' });
  const f = form('reset', [
    field('New password', 'password', 'password', { autocomplete: 'new-password', hint: passwordHint }),
    field('Type it again', 'confirm', 'password', { autocomplete: 'new-password' }),
  ], 'Set the new password', async (v, el) => {
    await call('POST', '/v1/password/reset', { token, new_password: newPassword(v, el) });
    f.hidden = true;
    done.replaceChildren('Your password is changed and every session was signed out. ', h('a', { href: '/login' }, 'Log in'));
  });
  return [h('h1', {}, 'Choose a new password'), f, done];
}
