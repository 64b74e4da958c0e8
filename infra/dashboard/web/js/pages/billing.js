// Billing (plan, Stripe Checkout and Customer Portal) and request logs.
import { call } from '../api.js';
import { h, time, showError } from '../dom.js';

// toStripe sends the browser to a Stripe-hosted page (never a page of ours:
// card numbers never touch Atrium).
function toStripe(url) {
  if (typeof url !== 'string' || !url.startsWith('https://')) throw new Error('The API returned an unexpected billing address.');
  location.assign(url);
}

export async function billing({ query }) {
  const b = await call('GET', '/v1/billing');
  const err = h('div', { class: 'alert', role: 'alert', id: 'billing-error' });
  const go = (path) => async (ev) => {
    ev.target.disabled = true;
    err.textContent = '';
    try { toStripe((await call('POST', path, path.endsWith('checkout') ? { plan: 'premium' } : undefined)).url); } catch (e) { showError(err, e); ev.target.disabled = false; }
  };
  const back = query.get('checkout');
  return [
    h('h1', {}, 'Billing'),
    back === 'success' ? h('p', { class: 'notice', role: 'status' }, 'Thank you. Your plan changes as soon as Stripe confirms the payment, usually within seconds.') : null,
    back === 'cancelled' ? h('p', { class: 'notice', role: 'status' }, 'Checkout was cancelled; nothing was charged.') : null,
    h('dl', { id: 'billing' },
      h('dt', {}, 'Plan'), h('dd', { id: 'billing-plan' }, b.plan),
      h('dt', {}, 'Subscription'), h('dd', { id: 'billing-status' }, b.subscription_status),
      h('dt', {}, 'Current period ends'), h('dd', {}, time(b.current_period_end)),
      h('dt', {}, 'Cancels at period end'), h('dd', {}, b.cancel_at_period_end ? 'yes' : 'no'),
      b.grace_until ? [h('dt', {}, 'Payment failed; premium until'), h('dd', {}, time(b.grace_until))] : null),
    h('p', {}, 'Payments are handled by Stripe: your card details go to Stripe only, never to Atrium.'),
    h('div', { class: 'actions' },
      b.plan === 'premium' ? null : h('button', { type: 'button', id: 'checkout', onclick: go('/v1/billing/checkout') }, 'Upgrade to premium'),
      h('button', { type: 'button', id: 'portal', class: 'secondary', onclick: go('/v1/billing/portal') }, 'Manage billing (Stripe)')),
    err,
  ];
}

export async function logs({ query }) {
  const limit = Math.min(Math.max(Number.parseInt(query.get('limit') || '20', 10) || 20, 1), 100);
  const body = h('tbody', { id: 'logs' });
  const err = h('div', { class: 'alert', role: 'alert', id: 'logs-error' });
  const more = h('button', { type: 'button', id: 'logs-more', class: 'secondary', hidden: true }, 'Load older entries');
  const count = h('p', { role: 'status', id: 'logs-count' });
  let cursor = null;
  async function page() {
    const q = new URLSearchParams({ limit: String(limit) });
    if (cursor) q.set('cursor', cursor);
    const r = await call('GET', `/v1/logs?${q}`);
    body.append(...r.logs.map((l) => h('tr', {},
      h('td', {}, time(l.time)), h('td', {}, l.method), h('td', {}, l.route), h('td', {}, String(l.status)),
      h('td', {}, l.code || ''), h('td', {}, `${l.latency_ms} ms`), h('td', {}, h('code', {}, l.request_id)))));
    cursor = r.next_cursor || null;
    more.hidden = !cursor;
    count.textContent = `${body.children.length} entries shown${cursor ? '' : ' (all)'}.`;
  }
  more.addEventListener('click', async () => {
    more.disabled = true;
    try { await page(); } catch (e) { showError(err, e); } finally { more.disabled = false; }
  });
  await page();
  return [
    h('h1', {}, 'Request logs'),
    h('p', {}, 'Your API requests of the last 90 days, newest first. They hold no personal data, and are deleted after 90 days.'),
    h('table', {}, h('thead', {}, h('tr', {}, ['Time', 'Method', 'Route', 'Status', 'Code', 'Latency', 'Request id'].map((c) => h('th', { scope: 'col' }, c)))), body),
    count, more, err,
  ];
}
