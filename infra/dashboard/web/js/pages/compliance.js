// Compliance (the NDA, SOC 2 / pen-test / questionnaire requests, pen-test
// notices) and the public DMCA takedown form.
import { call } from '../api.js';
import { h, field, form, time } from '../dom.js';

const types = [
  ['pentest_notice', 'Announce a penetration test of my own systems (any plan)'],
  ['soc2_report', 'SOC 2 report (premium, after the NDA)'],
  ['pentest_report', 'Our latest penetration-test results (premium)'],
  ['security_questionnaire', 'Answers to a security questionnaire (premium)'],
];
const typeName = Object.fromEntries(types);

export async function compliance() {
  const list = h('tbody', { id: 'requests' });
  const ndaState = h('p', { id: 'nda-state', role: 'status' });
  async function load() {
    const r = await call('GET', '/v1/compliance/requests?limit=50');
    ndaState.textContent = r.nda.accepted ? `You accepted NDA version ${r.nda.current_version}.` : `NDA version ${r.nda.current_version} is not accepted yet.`;
    list.replaceChildren(...r.requests.map((q) => h('tr', {}, h('td', {}, time(q.created_at)), h('td', {}, typeName[q.type] || q.type), h('td', {}, q.status))));
    return r;
  }
  await load();
  const nda = form('nda', [
    field('Your name', 'signatory_name', 'text', { autocomplete: 'name', maxlength: 200 }),
    field('Your title', 'signatory_title', 'text', { autocomplete: 'organization-title', maxlength: 200 }),
    field('I accept the non-disclosure agreement on behalf of my organisation.', 'accept', 'checkbox'),
  ], 'Accept the NDA', async (v) => {
    if (!v.accept) throw new Error('Tick the box to accept the NDA.');
    await call('POST', '/v1/compliance/nda', { signatory_name: v.signatory_name, signatory_title: v.signatory_title, accept: true });
    await load();
    return 'The NDA is accepted.';
  });

  const extra = {
    pentest_notice: [field('Scope (systems, addresses)', 'scope', 'textarea', { maxlength: 2000 }),
      field('Start', 'start', 'datetime-local'), field('End (at most 30 days after the start)', 'end', 'datetime-local'),
      field('Contact name', 'contact_name', 'text', { autocomplete: 'name' })],
    security_questionnaire: [field('What you need answered', 'description', 'textarea', { maxlength: 2000 }),
      field('Due date (optional)', 'due_date', 'date', { required: false })],
  };
  const typeField = field('Request', 'type', 'select', { options: types });
  const holder = h('div', {});
  const req = form('compliance-request', [typeField, holder], 'Send the request', async (v, f) => {
    const body = { type: v.type };
    for (const el of holder.querySelectorAll('[name]')) {
      if (el.value === '') continue;
      body[el.name] = el.type === 'datetime-local' ? new Date(el.value).toISOString() : el.value;
    }
    await call('POST', '/v1/compliance/requests', body);
    f.reset();
    showExtra();
    await load();
    return 'Your request was sent to your account manager.';
  });
  const select = typeField.querySelector('select');
  function showExtra() { holder.replaceChildren(...(extra[select.value] || [])); }
  select.addEventListener('change', showExtra);
  showExtra();

  return [
    h('h1', {}, 'Compliance'),
    h('h2', {}, 'Non-disclosure agreement'), ndaState, nda,
    h('h2', {}, 'Requests'), req,
    h('table', {}, h('caption', { class: 'hint' }, 'Your requests, newest first'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Sent'), h('th', { scope: 'col' }, 'Request'), h('th', { scope: 'col' }, 'Status'))), list),
  ];
}

export function dmca() {
  const done = h('div', { class: 'notice', role: 'status', id: 'dmca-done' });
  const f = form('dmca', [
    field('URL of the infringing material', 'infringing_url', 'url'),
    field('URL of the original work', 'original_url', 'url'),
    field('Your full name', 'complainant_name', 'text', { autocomplete: 'name' }),
    field('Postal address', 'postal_address', 'textarea', { autocomplete: 'street-address' }),
    field('Telephone', 'telephone', 'tel', { autocomplete: 'tel' }),
    field('Email address', 'email', 'email', { autocomplete: 'email' }),
    field('I have a good faith belief that the use of the material is not authorised by the copyright owner, its agent, or the law.', 'good_faith_statement', 'checkbox'),
    field('The information in this notice is accurate.', 'accuracy_statement', 'checkbox'),
    field('Under penalty of perjury, I am authorised to act on behalf of the owner of the exclusive right that is allegedly infringed.', 'authorized_under_penalty_of_perjury', 'checkbox'),
    field('Signature (type your full name)', 'signature', 'text'),
  ], 'Send the notice', async (v) => {
    const r = await call('POST', '/v1/dmca', v);
    f.hidden = true;
    done.replaceChildren(h('p', {}, r.message), h('p', {}, `Notice ${r.notice.id}, received ${time(r.notice.received_at)}.`));
  });
  return [h('h1', {}, 'Report copyright infringement (DMCA)'),
    h('p', {}, 'Atrium serves and transforms images from its customers’ own storage; it hosts none. Notices are recorded and forwarded so that the site’s owner can remove the material.'),
    f, done];
}
