// Sign up, confirm the address, log in, and reset a forgotten password.
import { call, remember } from '../api.js';
import { h, field, form } from '../dom.js';
import { navigate, loggedIn } from '../app.js';

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

export function login({ query }) {
  const next = query.get('next');
  const f = form('login', [
    field('Email address', 'email', 'email', { autocomplete: 'username' }),
    field('Password', 'password', 'password', { autocomplete: 'current-password' }),
  ], 'Log in', async (v) => {
    const r = await call('POST', '/v1/login', { email: v.email, password: v.password });
    remember(r.session);
    loggedIn(r.account);
    navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/account');
  });
  return [h('h1', {}, 'Log in'), f,
    h('p', {}, h('a', { href: '/forgot-password' }, 'Forgot your password?')),
    h('p', {}, 'New here? ', h('a', { href: '/signup' }, 'Sign up'))];
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
