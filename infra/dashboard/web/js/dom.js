// DOM helpers. Every string goes into the page as text (Text nodes,
// textContent, attribute values): nothing here parses HTML.

// h makes an element: h('a', {href: '/x'}, 'text', child, ...).
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if ((k === 'value' && tag === 'select') || k === 'checked') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

let seq = 0;
const uid = (name) => `f${++seq}-${name}`;

// field is a labelled control. type 'select' takes options [[value, label]];
// 'textarea' a multi-line text; 'checkbox' a box with its label beside it.
export function field(label, name, type = 'text', opts = {}) {
  const id = opts.id || uid(name);
  const hintId = opts.hint ? `${id}-hint` : undefined;
  // A checkbox is checked by the form's own code, with a message of its own.
  const common = { id, name, required: type !== 'checkbox' && opts.required !== false, 'aria-describedby': hintId, autocomplete: opts.autocomplete };
  let control;
  if (type === 'select') {
    control = h('select', common, (opts.options || []).map(([v, l]) => h('option', { value: v }, l)));
  } else if (type === 'textarea') {
    control = h('textarea', { ...common, rows: 4, maxlength: opts.maxlength });
  } else {
    control = h('input', { ...common, type, maxlength: opts.maxlength, minlength: opts.minlength, value: opts.value,
      spellcheck: type === 'text' ? opts.spellcheck : undefined, inputmode: opts.inputmode });
  }
  const hint = opts.hint ? h('p', { class: 'hint', id: hintId }, opts.hint) : null;
  if (type === 'checkbox') {
    return h('div', { class: 'field check' }, control, h('label', { for: id }, label), hint);
  }
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hint);
}

// form builds a form whose submit runs onSubmit(values, form). While it runs,
// the button is disabled; an error it throws is shown (and announced) above
// the button; a string it returns is shown as a notice.
export function form(id, fields, submitLabel, onSubmit, opts = {}) {
  const alert = h('div', { class: 'alert', role: 'alert', id: `${id}-error` });
  const notice = h('div', { class: 'notice', role: 'status', id: `${id}-notice` });
  const button = h('button', { type: 'submit', id: `${id}-submit`, class: opts.danger ? 'danger' : undefined }, submitLabel);
  const f = h('form', { id, novalidate: opts.novalidate, 'aria-label': opts.label }, fields, alert, button, notice);
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    alert.textContent = '';
    notice.textContent = '';
    const values = {};
    for (const el of f.elements) {
      if (!el.name) continue;
      values[el.name] = el.type === 'checkbox' ? el.checked : el.value;
    }
    button.disabled = true;
    f.setAttribute('aria-busy', 'true');
    try {
      const msg = await onSubmit(values, f);
      if (typeof msg === 'string') notice.textContent = msg;
    } catch (err) {
      showError(alert, err);
    } finally {
      button.disabled = false;
      f.removeAttribute('aria-busy');
    }
  });
  return f;
}

// showError writes a human message for err into el and moves focus there.
export function showError(el, err) {
  el.replaceChildren(...errorNodes(err));
  el.setAttribute('tabindex', '-1');
  el.focus();
}

let describe = (err) => [String(err?.message || err)];
export function setDescriber(fn) { describe = fn; }
function errorNodes(err) {
  return describe(err).map((line, i) => (i === 0 ? h('p', { class: 'msg' }, line) : h('p', { class: 'field-error' }, line)));
}

export function time(s) {
  if (!s) return '—';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? String(s) : d.toLocaleString();
}

// saveFile offers a Blob to the person as a download.
export function saveFile(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
