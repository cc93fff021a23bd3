/* tapevault web console: plain DOM, no framework.  The login token is kept
 * in this page's memory only (no cookie, no storage) and sent as
 * 'Authorization: Bearer', so other sites cannot make requests with it. */
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  let token = null;
  let tapes = [];
  let selected = null;
  let role = 'viewer';

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
      role = d.role;
      me = d.user;
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
    $('verify-tape').disabled = !(t && role !== 'viewer');
    $('escrow-request').disabled = !(t && t.encrypted && t.locked);
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

  /* ---- the audit log (operators and admins) ---- */
  let auditRows = [];
  function renderAudit() {
    const f = $('audit-filter').value.toLowerCase();
    const body = $('audit').tBodies[0];
    const rows = auditRows.filter((a) => !f ||
      [a.actor, a.action, a.key_path, a.tapes, a.detail].join(' ').toLowerCase().includes(f));
    body.replaceChildren(...rows.slice(-300).reverse().map((a) => el('tr', {},
      el('td', { text: new Date(a.time * 1000).toISOString().replace('.000', '') }),
      el('td', { text: a.actor }), el('td', { text: a.action }), el('td', { text: a.key_path }),
      el('td', { text: a.tapes }), el('td', { text: a.detail }))));
  }
  $('audit-filter').addEventListener('input', renderAudit);

  /* ---- users (admins) ---- */
  function renderUsers(users, me) {
    const body = $('users').tBodies[0];
    body.replaceChildren(...users.map((u) => {
      const sel = el('select', { 'aria-label': 'Role of ' + u.name });
      for (const r of ['viewer', 'operator', 'admin']) {
        const o = el('option', { value: r, text: r });
        if (r === u.role) o.selected = true;
        sel.append(o);
      }
      sel.addEventListener('change', async () => {
        try {
          await api('PUT', '/users/' + encodeURIComponent(u.name), { role: sel.value });
          status('User ' + u.name + ' is now ' + sel.value + '.');
        } catch (e) { status(e.message); }
        loadUsers();
      });
      const rm = el('button', { type: 'button', text: 'Remove', 'aria-label': 'Remove user ' + u.name,
        onclick: async () => {
          try {
            await api('DELETE', '/users/' + encodeURIComponent(u.name));
            status('User ' + u.name + ' removed.');
          } catch (e) { status(e.message); }
          loadUsers();
        } });
      if (u.name === me) rm.disabled = true;
      return el('tr', {}, el('td', { text: u.name }), el('td', {}, sel), el('td', { text: u.created }),
        el('td', {}, rm));
    }));
  }
  let me = '';
  async function loadUsers() {
    if (role !== 'admin') return;
    try { renderUsers((await api('GET', '/users')).users, me); } catch (e) { status(e.message); }
  }
  $('user-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const pw = $('new-password');
    $('user-error').textContent = '';
    try {
      const d = await api('POST', '/users', { name: $('new-user').value, role: $('new-role').value,
        password: pw.value });
      status('User ' + d.name + ' added (' + d.role + ').');
      $('new-user').value = '';
    } catch (e) {
      $('user-error').textContent = e.message;
    } finally {
      pw.value = '';
    }
    loadUsers();
  });

  async function load() {
    status('Loading…');
    try {
      const [libs, tp, bk, jb] = await Promise.all([api('GET', '/libraries'), api('GET', '/tapes'),
        api('GET', '/backups'), api('GET', '/jobs?limit=20')]);
      tapes = tp.tapes;
      renderTree(libs.libraries);
      renderBackups(bk.backups);
      renderJobs(jb.jobs);
      if (role !== 'viewer') {
        auditRows = (await api('GET', '/audit')).audit;
        $('audit-view').hidden = false;
        renderAudit();
      }
      if (role === 'admin') {
        $('users-view').hidden = false;
        $('escrow-request').hidden = false;
        $('escrow-response-label').hidden = false;
        $('escrow-response').disabled = false;
        await loadUsers();
      }
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

  /* ---- jobs started from this console: their live progress ---- */
  const live = new Map();   /* id -> the job as GET /jobs/{id} gives it */

  function mib(n) { return (n / 1048576).toFixed(1) + ' MiB'; }

  function progressText(j) {
    const p = j.progress || {};
    const parts = [];
    if (p.bytes_total) parts.push(mib(p.bytes_done) + ' of ' + mib(p.bytes_total));
    else if (p.bytes_done) parts.push(mib(p.bytes_done));
    if (p.items_total > 1) parts.push(p.items_done + ' of ' + p.items_total + ' tapes');
    if (p.rate > 0) parts.push(mib(p.rate) + '/s');
    if (p.current) parts.push('now: ' + p.current);
    return parts.join(', ');
  }

  function renderLive() {
    const list = $('live-jobs');
    if (!live.size) return;
    const items = [];
    for (const j of [...live.values()].reverse()) {
      const p = j.progress || {};
      const pct = typeof p.percent === 'number' ? Math.max(0, Math.min(100, p.percent)) : null;
      const bar = el('progress', { max: '100', 'aria-label': 'Progress of ' + j.kind + ' job ' + j.id,
        'data-job': String(j.id) });
      if (pct !== null) bar.value = pct;
      const head = el('span', { class: 'job-head', text: j.kind + ' job ' + j.id + ' (' + j.args + '): ' + j.state });
      const detail = el('span', { class: 'job-detail', text: (pct !== null ? pct.toFixed(0) + '% ' : '') + progressText(j) });
      const li = el('li', { class: 'live-job state-' + j.state, 'data-job': String(j.id) }, head, ' ', bar, ' ', detail);
      if (j.error) li.append(el('p', { class: 'error', text: j.error }));
      if (j.problems && j.problems.length) {
        const pl = el('ul', { 'aria-label': 'Problems of job ' + j.id });
        for (const m of j.problems) pl.append(el('li', { text: m }));
        li.append(pl);
      }
      items.push(li);
    }
    list.replaceChildren(...items);
  }

  /* Polls a job until it ends; resolves with its last state. */
  function watchJob(id) {
    return new Promise((resolve, reject) => {
      const tick = async () => {
        try {
          const j = await api('GET', '/jobs/' + id);
          live.set(id, j);
          renderLive();
          if (j.state === 'queued' || j.state === 'running') setTimeout(tick, 400);
          else resolve(j);
        } catch (e) { reject(e); }
      };
      tick();
    });
  }

  /* POST a job's route, then follow it; resolves with the finished job. */
  async function runJob(path, body) {
    const j = await api('POST', path, body);
    live.set(j.id, j);
    renderLive();
    return watchJob(j.id);
  }

  $('verify-tape').addEventListener('click', async () => {
    const bc = selected;
    status('Verifying ' + bc + '… (job running)');
    try {
      const j = await runJob('/verify', { barcodes: [bc] });
      status(j.state === 'ok' ? 'Verified ' + bc + ': ' + mib(j.result.bytes) + ' read, no error.'
        : 'Verify of ' + bc + ': ' + j.state + (j.error ? ': ' + j.error : ''));
      load();
    } catch (e) {
      status(e.message);
    }
  });

  /* ---- escrow (admins): a request for the selected tape, saved as a
   * file to send to the authority; its response, read from a file ---- */
  $('escrow-request').addEventListener('click', async () => {
    const bc = selected;
    try {
      const d = await api('POST', '/escrow/request', { barcodes: [bc] });
      const a = el('a', { href: URL.createObjectURL(new Blob([d.request], { type: 'text/plain' })),
        download: d.filename });
      document.body.append(a);
      a.click();
      a.remove();
      status('Escrow request for ' + bc + ' saved as ' + d.filename + ': send it to the escrow authority.' +
        (d.problems.length ? ' ' + d.problems.join(' ') : ''));
    } catch (e) {
      status('Escrow request: ' + e.message);
    }
  });
  $('escrow-response').addEventListener('change', async (ev) => {
    const f = ev.target.files[0];
    ev.target.value = '';
    if (!f) return;
    try {
      await api('POST', '/escrow/response', { response: await f.text() });
      await load();
      status('Escrow response applied: its tapes are unlocked and cataloged.');
    } catch (e) {
      status('Escrow response: ' + e.message);
    }
  });

  /* ---- restore ---- */
  let restoring = null;
  /* the file picker: the set's tree, a directory at a time (GET
   * /backups/{set}/files?dir=PATH); chosen paths kept across directories */
  const chosen = new Set();
  let pickerDir = '';

  function pickedPaths() { return [...chosen]; }

  function chosenText() {
    $('picker-chosen').textContent = chosen.size
      ? chosen.size + ' chosen: ' + [...chosen].join(', ')
      : 'Nothing chosen: the whole set.';
  }

  async function pickerOpen(dir) {
    const b = restoring;
    try {
      const d = await api('GET', '/backups/' + encodeURIComponent(b.id) + '/files?dir=' + encodeURIComponent(dir));
      pickerDir = d.dir;
      $('picker-dir').textContent = '/' + d.dir;
      $('picker-up').disabled = d.dir === '';
      const items = d.entries.map((e) => {
        const box = el('input', { type: 'checkbox', id: 'pick-' + e.path, 'data-path': e.path });
        box.checked = chosen.has(e.path);
        box.addEventListener('change', () => {
          if (box.checked) chosen.add(e.path); else chosen.delete(e.path);
          chosenText();
        });
        const li = el('li', {}, box, el('label', { for: 'pick-' + e.path, text: e.name + (e.type === 'directory' ? '/' : '') }));
        if (e.children)
          li.append(' ', el('button', { type: 'button', class: 'open-dir', text: 'Open',
            'aria-label': 'Open directory ' + e.name, onclick: () => pickerOpen(e.path) }));
        else if (e.size !== null && e.type === 'file')
          li.append(el('span', { class: 'size', text: ' ' + e.size + ' bytes' }));
        return li;
      });
      if (d.more) items.push(el('li', { text: '… more entries than shown' }));
      $('picker-list').replaceChildren(...items);
    } catch (e) {
      $('restore-error').textContent = e.message;
    }
  }

  $('picker-up').addEventListener('click', () => {
    const i = pickerDir.lastIndexOf('/');
    pickerOpen(i < 0 ? '' : pickerDir.slice(0, i));
  });

  function openRestore(b) {
    restoring = b;
    chosen.clear();
    chosenText();
    $('picker-list').replaceChildren();
    $('restore-set').textContent = 'Backup set ' + b.name + ' (' + b.id + ')';
    $('restore-error').textContent = '';
    $('restore-dialog').showModal();
    $('restore-to').focus();
    pickerOpen('');
  }
  $('restore-cancel').addEventListener('click', () => $('restore-dialog').close());
  $('restore-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const b = restoring;
    $('restore-ok').disabled = true;
    let started;
    try {
      const body = { to: $('restore-to').value };
      const picked = pickedPaths();
      if (picked.length) body.paths = picked;
      started = await api('POST', '/backups/' + encodeURIComponent(b.id) + '/restore', body);
    } catch (e) {
      $('restore-error').textContent = e.message;
      $('restore-ok').disabled = false;
      return;
    }
    $('restore-dialog').close();
    $('restore-ok').disabled = false;
    live.set(started.id, started);
    renderLive();
    status('Restoring ' + b.name + '… (job ' + started.id + ' running)');
    try {
      const j = await watchJob(started.id);
      await load();
      if (j.state === 'ok')
        status('Restored ' + b.name + ': ' + j.result.files + ' files to ' + j.result.to + '.');
      else
        status('Restore of ' + b.name + ': ' + j.state + (j.error ? ': ' + j.error : ''));
    } catch (e) {
      status(e.message);
    }
  });
})();
