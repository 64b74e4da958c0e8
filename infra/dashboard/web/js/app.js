// The dashboard's shell: routes, navigation and the session's state. Pages
// are modules loaded on first use, so the first load stays small.
import { call, forget, ApiError } from './api.js';
import { h, setDescriber } from './dom.js';
import { describe } from './messages.js';

setDescriber(describe);

const page = (mod, name) => async () => (await import(`./pages/${mod}.js`))[name];

// Every path an email, Stripe or a page links to. The static server and any
// host serving this dashboard answer each with index.html.
const routes = {
  '/': { load: async () => home },
  '/signup': { load: page('auth', 'signup'), title: 'Sign up' },
  '/verify-email': { load: page('auth', 'verify'), title: 'Confirm your address' },
  '/login': { load: page('auth', 'login'), title: 'Log in' },
  '/forgot-password': { load: page('auth', 'forgot'), title: 'Forgot your password' },
  '/reset-password': { load: page('auth', 'reset'), title: 'Choose a new password' },
  '/account': { load: page('account', 'overview'), title: 'Account', auth: true },
  '/settings': { load: page('account', 'settings'), title: 'Settings', auth: true },
  '/settings/sessions': { load: page('account', 'sessions'), title: 'Sessions', auth: true },
  '/sessions': { load: page('account', 'sessions'), title: 'Sessions', auth: true },
  '/security': { load: page('security', 'security'), title: 'Security', auth: true },
  '/account-deleted': { load: page('account', 'deleted'), title: 'Account deletion' },
  '/sources': { load: page('sources', 'sources'), title: 'Sources', auth: true },
  '/billing': { load: page('billing', 'billing'), title: 'Billing', auth: true },
  '/logs': { load: page('billing', 'logs'), title: 'Request logs', auth: true },
  '/compliance': { load: page('compliance', 'compliance'), title: 'Compliance', auth: true },
  '/dmca': { load: page('compliance', 'dmca'), title: 'DMCA notice' },
};

// session.account is the logged-in account, null when logged out, undefined
// while unknown (a cookie session is only known by asking the API).
export const session = { account: undefined };

export async function currentAccount() {
  if (session.account === undefined) {
    try {
      session.account = await call('GET', '/v1/account');
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== 'unauthenticated') throw err;
      session.account = null;
    }
  }
  return session.account;
}

export function loggedIn(account) { session.account = account; }
export function loggedOut() { session.account = null; forget(); }

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

function home() {
  navigate(session.account ? '/account' : '/login', { replace: true });
  return null;
}

const main = document.getElementById('main');
const nav = document.getElementById('nav');

function renderNav() {
  const here = location.pathname;
  const link = (href, text) => h('li', {}, h('a', { href, 'aria-current': here === href ? 'page' : undefined }, text));
  const items = session.account
    ? [link('/account', 'Account'), link('/sources', 'Sources'), link('/billing', 'Billing'), link('/logs', 'Request logs'),
      link('/compliance', 'Compliance'), link('/security', 'Security'), link('/settings', 'Settings'),
      h('li', {}, h('button', { type: 'button', class: 'secondary', id: 'logout', onclick: logout }, 'Log out'))]
    : [link('/login', 'Log in'), link('/signup', 'Sign up')];
  nav.replaceChildren(h('ul', {}, items));
}

async function logout() {
  try { await call('POST', '/v1/logout'); } catch { /* the session may be gone already */ }
  loggedOut();
  navigate('/login');
}

let renderSeq = 0;
export async function render() {
  const seq = ++renderSeq;
  const route = routes[location.pathname] || null;
  try {
    if (!route) {
      show(seq, 'Not found', [h('h1', {}, 'Page not found'), h('p', {}, h('a', { href: '/' }, 'Go to the start page'))]);
      return;
    }
    if (route.auth && !(await currentAccount())) {
      navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
      return;
    }
    const view = await route.load();
    const nodes = await view({ query: new URLSearchParams(location.search) });
    if (nodes) show(seq, route.title, nodes);
  } catch (err) {
    if (err instanceof ApiError && err.code === 'unauthenticated') {
      loggedOut();
      navigate('/login', { replace: true });
      return;
    }
    show(seq, 'Error', [h('h1', {}, 'Something went wrong'), h('div', { class: 'alert', role: 'alert' }, describe(err).map((l) => h('p', {}, l)))]);
  }
}

// flash keeps a message for the next page shown (a warning after a login).
let flashed = '';
export function flash(text) { flashed = text; }

function show(seq, title, nodes) {
  if (seq !== renderSeq) return; // a later navigation won
  document.title = title ? `${title} · Atrium` : 'Atrium';
  renderNav();
  main.replaceChildren(...nodes);
  if (flashed) {
    main.querySelector('h1')?.after(h('p', { class: 'alert', role: 'alert', id: 'flash' }, flashed));
    flashed = '';
  }
  // Move focus to the new page's heading, as a screen reader user expects.
  const h1 = main.querySelector('h1');
  if (h1) { h1.setAttribute('tabindex', '-1'); h1.focus(); }
  main.dataset.page = location.pathname;
}

// Links within the dashboard change the page without a reload.
document.addEventListener('click', (ev) => {
  const a = ev.target instanceof Element ? ev.target.closest('a[href]') : null;
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  if (a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !(url.pathname in routes)) return;
  ev.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});
window.addEventListener('popstate', render);

currentAccount().catch(() => null).finally(render);
