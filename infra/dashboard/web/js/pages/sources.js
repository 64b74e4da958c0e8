// Storage sources: list, register (read-only keys, the IAM policy to paste),
// rename, rotate keys, delete. Names and every other field are shown as text.
import { call } from '../api.js';
import { withStepUp } from '../stepup.js';
import { h, field, form, time, showError } from '../dom.js';

// policyFor is the read-only IAM policy for a bucket and prefix (P5).
export function policyFor(bucket, prefix) {
  const b = bucket || 'YOUR-BUCKET';
  const p = (prefix || '').replace(/^\/+/, '');
  const list = { Sid: 'ListTheBucket', Effect: 'Allow', Action: 's3:ListBucket', Resource: `arn:aws:s3:::${b}` };
  if (p) list.Condition = { StringLike: { 's3:prefix': [`${p}*`] } };
  return JSON.stringify({ Version: '2012-10-17', Statement: [list,
    { Sid: 'ReadTheImages', Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/${p}*` }] }, null, 2);
}

export async function sources() {
  const list = h('div', { id: 'sources' });
  const status = h('p', { role: 'status', id: 'sources-status' });
  async function load() {
    const r = await call('GET', '/v1/sources');
    list.replaceChildren(...(r.sources.length ? r.sources.map((s) => card(s, load, status)) : [h('p', {}, 'No sources yet.')]));
  }
  await load();

  const policy = h('pre', { id: 'iam-policy', tabindex: '0', 'aria-label': 'IAM policy to paste' }, policyFor());
  const register = form('source-register', [
    field('Name', 'name', 'text', { maxlength: 100, hint: 'For you to recognise it, e.g. “product photos”.' }),
    field('Type', 'type', 'select', { options: [['s3', 'Amazon S3'], ['s3_compatible', 'S3-compatible (R2, MinIO, …)']] }),
    field('Bucket', 'bucket', 'text', { spellcheck: 'false' }),
    field('Region', 'region', 'text', { value: 'us-east-1', spellcheck: 'false' }),
    field('Prefix (optional)', 'prefix', 'text', { required: false, spellcheck: 'false', hint: 'Only objects under it, e.g. images/' }),
    field('Endpoint (S3-compatible only)', 'endpoint', 'url', { required: false, hint: 'https://…; leave empty for Amazon S3.' }),
    field('Access key id', 'access_key_id', 'text', { autocomplete: 'off', spellcheck: 'false' }),
    field('Secret access key', 'secret_access_key', 'password', { autocomplete: 'off', hint: 'Stored encrypted in AWS Secrets Manager; never shown again.' }),
  ], 'Check and register', async (v, f) => {
    const body = { name: v.name, type: v.type, bucket: v.bucket, region: v.region, access_key_id: v.access_key_id, secret_access_key: v.secret_access_key };
    if (v.prefix) body.prefix = v.prefix;
    if (v.endpoint) body.endpoint = v.endpoint;
    const r = await call('POST', '/v1/sources', body);
    f.reset();
    await load();
    return `Registered “${r.source.name}”. ${r.recommendation}`;
  });
  // The policy follows what is typed.
  const follow = () => { policy.textContent = policyFor(register.elements.bucket.value, register.elements.prefix.value); };
  register.addEventListener('input', follow);
  register.addEventListener('reset', () => setTimeout(follow));

  return [
    h('h1', {}, 'Storage sources'), status, list,
    h('h2', {}, 'Register a source'),
    h('p', { id: 'read-only-recommendation' }, 'We recommend read-only keys: create an IAM user (or role) for Atrium whose policy allows only listing the bucket and reading its objects, and nothing else. Atrium checks the keys by listing at most one object and never writes to your bucket.'),
    h('p', {}, 'Paste this policy (it follows the bucket and prefix you type):'), policy,
    register,
  ];
}

function card(s, reload, status) {
  const headingId = `src-${s.id}-name`;
  const err = h('div', { class: 'alert card-error', role: 'alert' });
  const stepHost = h('div', { class: 'step-up-host' });
  const act = async (fn, msg) => {
    err.textContent = '';
    try { await fn(); await reload(); status.textContent = msg; } catch (e) { showError(err, e); }
  };
  const rename = form(`rename-${s.id}`, [field('New name', 'name', 'text', { value: s.name, maxlength: 100 })], 'Save the name',
    async (v) => act(() => call('PATCH', `/v1/sources/${encodeURIComponent(s.id)}`, { name: v.name }), 'The source was renamed.'), { label: `Rename ${s.name}` });
  const rotate = form(`rotate-${s.id}`, [
    field('New access key id', 'access_key_id', 'text', { autocomplete: 'off', spellcheck: 'false' }),
    field('New secret access key', 'secret_access_key', 'password', { autocomplete: 'off' }),
  ], 'Check and replace the keys', async (v) => act(() => withStepUp(stepHost, () => call('PUT', `/v1/sources/${encodeURIComponent(s.id)}/credentials`, v)), 'The keys were replaced.'), { label: `Rotate the keys of ${s.name}` });
  rename.hidden = rotate.hidden = true;
  const confirmDelete = h('div', { class: 'actions', hidden: true },
    h('span', {}, 'Delete this source and its keys? This cannot be undone.'),
    h('button', { type: 'button', class: 'danger', 'data-action': 'confirm-delete', onclick: () => act(() => call('DELETE', `/v1/sources/${encodeURIComponent(s.id)}`), 'The source was deleted.') }, 'Delete the source'),
    h('button', { type: 'button', class: 'secondary', onclick: () => { confirmDelete.hidden = true; } }, 'Keep it'));
  const toggle = (el, focus) => () => { el.hidden = !el.hidden; if (!el.hidden) el.querySelector(focus)?.focus(); };
  return h('section', { class: 'card', 'aria-labelledby': headingId, 'data-source': s.id },
    h('h3', { id: headingId, class: 'source-name' }, s.name),
    h('dl', {},
      h('dt', {}, 'Bucket'), h('dd', {}, s.type === 's3' ? `s3://${s.bucket}` : `${s.endpoint} · ${s.bucket}`),
      h('dt', {}, 'Region'), h('dd', {}, s.region),
      h('dt', {}, 'Prefix'), h('dd', {}, s.prefix || '(whole bucket)'),
      h('dt', {}, 'Access key'), h('dd', {}, `…${s.access_key_id_hint}`),
      h('dt', {}, 'Keys checked'), h('dd', {}, `${s.verification?.status ?? 'unknown'}, ${time(s.verification?.checked_at)}`)),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', 'data-action': 'rename', 'aria-label': `Rename ${s.name}`, onclick: toggle(rename, 'input') }, 'Rename'),
      h('button', { type: 'button', class: 'secondary', 'data-action': 'rotate', 'aria-label': `Rotate the keys of ${s.name}`, onclick: toggle(rotate, 'input') }, 'Rotate keys'),
      h('button', { type: 'button', class: 'secondary', 'data-action': 'delete', 'aria-label': `Delete ${s.name}`, onclick: toggle(confirmDelete, 'button') }, 'Delete')),
    rename, rotate, stepHost, confirmDelete, err);
}
