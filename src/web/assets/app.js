/* tapevault web console: plain DOM, no framework.  The login token is kept
 * in this page's memory only (no cookie, no storage) and sent as
 * 'Authorization: Bearer', so other sites cannot make requests with it. */
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  let token = null;
  let tapes = [];
  let selected = null;

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const kid of kids) e.append(kid);
    return e;
  }

  /* A padlock (locked tape) or key (encrypted, key available) icon, with
   * its accessible name. */
  function icon(kind, label) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 16 16');
    svg.setAttribute('class', 'icon ' + kind);
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
    const title = document.createElementNS(ns, 'title');
    title.textContent = label;
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('fill', 'currentColor');
    path.setAttribute('d', kind === 'locked'
      ? 'M4 7V5a4 4 0 1 1 8 0v2h1v8H3V7h1zm2 0h4V5a2 2 0 1 0-4 0v2z'
      : 'M10 1a5 5 0 0 0-4.7 6.7L1 12v3h3v-2h2v-2h2l.3-.3A5 5 0 1 0 10 1zm1 3a1 1 0 1 1 0 2 1 1 0 0 1 0-2z');
    svg.append(title, path);
    return svg;
  }

  async function api(method, path, body) {
    const opts = { method, headers: {} };
    if (token) opts.headers.Authorization = 'Bearer ' + token;
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    const r = await fetch('/api/v1' + path, opts);
    let data = {};
    try { data = await r.json(); } catch (e) { data = {}; }
    if (r.status === 401 && path !== '/login') {
      location.reload();
    }
    if (!r.ok) throw new Error(data.error || ('HTTP ' + r.status));
    return data;
  }

  function status(msg) { $('status').textContent = msg; }

  /* ---- login ---- */
  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const pw = $('password');
    $('login-error').textContent = '';
    try {
      const d = await api('POST', '/login', { user: $('user').value, password: pw.value });
      token = d.token;
      pw.value = '';
      $('who').textContent = d.user + ' (' + d.role + ')';
      $('login-view').remove();   /* one password field on the page from now on: the dialog's */
      $('app-view').hidden = false;
      $('logout').hidden = false;
      await load();
    } catch (e) {
      pw.value = '';
      $('login-error').textContent = e.message;
    }
  });

  $('logout').addEventListener('click', async () => {
    try { await api('POST', '/logout'); } catch (e) { /* gone anyway */ }
    token = null;
    location.reload();
  });

  /* ---- inventory ---- */
  function groupOf(t) {
    if (t.pool) return 'Media pool ' + t.pool;
    return { free: 'Free media', imported: 'Imported media', retired: 'Retired media' }[t.state] ||
      'Unrecognized media';
  }

  function tapeButton(t) {
    const b = el('button', { type: 'button', class: 'tape', 'aria-pressed': String(selected === t.barcode),
      'data-barcode': t.barcode, onclick: () => select(t.barcode) }, el('span', { text: t.barcode }));
    if (t.encrypted && t.locked) b.append(icon('locked', 'locked: encrypted, key not available'));
    else if (t.encrypted) b.append(icon('key', 'encrypted, key available'));
    return b;
  }

  function renderTree(libraries) {
    const tree = $('tree');
    const places = libraries.map((l) => l.name);
    if (tapes.some((t) => t.location === 'offline')) places.push('offline');
    const top = el('ul', { 'aria-label': 'Libraries' });
    for (const place of places) {
      const groups = new Map();
      for (const t of tapes.filter((x) => x.location === place)) {
        const g = groupOf(t);
        if (!groups.has(g)) groups.set(g, []);
        groups.get(g).push(t);
      }
      const label = place === 'offline' ? 'Offline (exported)' : 'Library ' + place;
      const inner = el('ul', { 'aria-label': label });
      for (const [g, ts] of groups) {
        const list = el('ul', { 'aria-label': g });
        for (const t of ts) list.append(el('li', {}, tapeButton(t)));
        inner.append(el('li', {}, el('span', { class: 'group-label', text: g + ' (' + ts.length + ')' }), list));
      }
      if (!groups.size) inner.append(el('li', { text: 'no tapes' }));
      top.append(el('li', {}, el('span', { class: 'group-label', text: label }), inner));
    }
    tree.replaceChildren(top);
  }

  function slotLines(t) {
    const lines = [];
    for (const s of t.slots || []) {
      if (s.type === 'password') {
        lines.push(['Password', s.name]);
        lines.push(['Hint', s.hint || '(none)']);
      } else if (s.type === 'kms') {
        lines.push(['Key id', s.key_id + (s.key_name ? ' (' + s.key_name + ')' : '')]);
        lines.push(['KMS server', s.kms + ' (' + s.host + ':' + s.port + ')']);
      } else {
        lines.push(['Escrow', 'password loss protection']);
      }
    }
    return lines;
  }

  function dl(lines) {
    const d = el('dl');
    for (const [k, v] of lines) d.append(el('dt', { text: k }), el('dd', { text: String(v) }));
    return d;
  }

  function select(barcode) {
    selected = barcode;
    const t = tapes.find((x) => x.barcode === barcode);
    for (const b of document.querySelectorAll('button.tape'))
      b.setAttribute('aria-pressed', String(b.dataset.barcode === barcode));
    $('specify-password').disabled = !(t && t.encrypted && t.locked);
    if (!t) return;
    const enc = !t.encrypted ? 'none' : t.locked ? 'encrypted, locked' : 'encrypted, unlocked';
    $('detail-body').replaceChildren(dl([['Barcode', t.barcode], ['State', t.state],
      ['Pool', t.pool || '-'], ['Location', t.location], ['Media set', t.media_set],
      ['Encryption', enc]].concat(slotLines(t))));
  }

  function renderBackups(backups) {
    const body = $('backups').tBodies[0];
    body.replaceChildren();
    for (const b of backups) {
      const actions = el('td');
      if (b.id) {
        actions.append(el('button', { type: 'button', text: 'Files', 'aria-label': 'Files of ' + b.name,
          onclick: () => showFiles(b) }));
        if (b.state !== 'tape encrypted')
          actions.append(' ', el('button', { type: 'button', text: 'Restore', 'aria-label': 'Restore ' + b.name,
            onclick: () => openRestore(b) }));
      }
      body.append(el('tr', {}, el('td', { text: b.name }), el('td', { text: b.pool || '-' }),
        el('td', { text: b.created || '-' }),
        el('td', { text: b.files === undefined ? '?' : String(b.files) }), el('td', { text: b.state }),
        el('td', { text: (b.tapes || []).join(', ') }), actions));
    }
  }

  async function showFiles(b) {
    const d = await api('GET', '/backups/' + encodeURIComponent(b.id) + '/files?limit=200');
    const list = el('ul', { 'aria-label': 'Files of ' + b.name });
    for (const f of d.files) list.append(el('li', { text: f.type + ' ' + f.size + ' ' + f.path }));
    $('files-view').replaceChildren(el('h3', { text: 'Files of ' + b.name + ' (' + d.items + ' items)' }), list);
  }

  function renderJobs(jobs) {
    const body = $('jobs').tBodies[0];
    body.replaceChildren();
    for (const j of jobs) {
      body.append(el('tr', {}, el('td', { text: String(j.id) }), el('td', { text: j.kind }),
        el('td', { text: j.start }), el('td', { text: j.result }), el('td', { text: String(j.files) }),
        el('td', { text: j.args })));
    }
  }

  async function load() {
    status('Loading…');
    try {
      const [libs, tp, bk, jb] = await Promise.all([api('GET', '/libraries'), api('GET', '/tapes'),
        api('GET', '/backups'), api('GET', '/jobs?limit=20')]);
      tapes = tp.tapes;
      renderTree(libs.libraries);
      renderBackups(bk.backups);
      renderJobs(jb.jobs);
      if (selected) select(selected);
      status('');
    } catch (e) {
      status(e.message);
    }
  }
  $('refresh').addEventListener('click', load);

  /* ---- the decrypt dialog ("Specify password") ---- */
  function methodShown() {
    const kms = $('method-kms').checked;
    $('password-row').hidden = kms;
    $('kms-row').hidden = !kms;
  }
  $('method-password').addEventListener('change', methodShown);
  $('method-kms').addEventListener('change', methodShown);

  $('specify-password').addEventListener('click', () => {
    const t = tapes.find((x) => x.barcode === selected);
    if (!t) return;
    const slots = t.slots || [];
    const pw = slots.some((s) => s.type === 'password');
    const kms = slots.find((s) => s.type === 'kms');
    $('decrypt-tape').textContent = 'Tape ' + t.barcode + (t.pool ? ' of media pool ' + t.pool : '') +
      ' is encrypted.';
    $('decrypt-info').replaceChildren(...dl(slotLines(t)).childNodes);
    $('decrypt-method').hidden = !(pw && kms);
    $('method-password').checked = pw;
    $('method-kms').checked = !pw && !!kms;
    $('decrypt-kms').value = kms ? kms.kms : '';
    $('decrypt-key-id').value = kms ? kms.key_id : '';
    $('decrypt-password').value = '';
    $('decrypt-error').textContent = '';
    methodShown();
    $('decrypt-dialog').showModal();
    (pw ? $('decrypt-password') : $('decrypt-ok')).focus();
  });

  $('decrypt-cancel').addEventListener('click', () => $('decrypt-dialog').close());

  $('decrypt-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const bc = selected;
    const body = $('method-kms').checked
      ? { kms: $('decrypt-kms').value, key_id: $('decrypt-key-id').value }
      : { password: $('decrypt-password').value };
    $('decrypt-ok').disabled = true;
    $('decrypt-error').textContent = '';
    status('Decrypting ' + bc + '…');
    try {
      await api('POST', '/tapes/' + encodeURIComponent(bc) + '/decrypt', body);
      $('decrypt-password').value = '';
      $('decrypt-dialog').close();
      await load();
      status(bc + ' unlocked and cataloged.');
    } catch (e) {
      $('decrypt-error').textContent = e.message;
      status('');
    } finally {
      body.password = '';
      $('decrypt-ok').disabled = false;
    }
  });

  /* ---- restore ---- */
  let restoring = null;
  function openRestore(b) {
    restoring = b;
    $('restore-set').textContent = 'Backup set ' + b.name + ' (' + b.id + ')';
    $('restore-error').textContent = '';
    $('restore-dialog').showModal();
    $('restore-to').focus();
  }
  $('restore-cancel').addEventListener('click', () => $('restore-dialog').close());
  $('restore-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const b = restoring;
    $('restore-ok').disabled = true;
    status('Restoring ' + b.name + '… (job running)');
    /* the job history, read while the job runs: its row says running */
    const poll = setInterval(() => {
      api('GET', '/jobs?limit=20').then((d) => renderJobs(d.jobs), () => {});
    }, 1000);
    try {
      const d = await api('POST', '/backups/' + encodeURIComponent(b.id) + '/restore',
        { to: $('restore-to').value });
      $('restore-dialog').close();
      await load();
      status('Restored ' + b.name + ': ' + d.files + ' files to ' + d.to + '.');
    } catch (e) {
      $('restore-error').textContent = e.message;
      status('');
    } finally {
      clearInterval(poll);
      $('restore-ok').disabled = false;
    }
  });
})();
