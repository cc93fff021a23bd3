// Load on the REST API (bench/web_load.sh): C concurrent clients, each in
// a loop for S seconds, alternately GET /api/v1/tapes and a page of files
// of the set (GET /api/v1/backups/SET/files?limit=L&offset=random), over
// HTTPS with keep-alive.  Prints requests, errors, rate and latencies.
//   node web_load.js URL TOKEN SET ITEMS CLIENTS SECONDS PAGE
'use strict';
const https = require('https');
const [url, token, set, items, clients, seconds, page] = process.argv.slice(2);
const agent = new https.Agent({ keepAlive: true, maxSockets: Number(clients), rejectUnauthorized: false });
const lat = { tapes: [], files: [] };
let errors = 0;
const firstErrors = [];

function get(path) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const rq = https.get(url + path, { agent, headers: { Authorization: 'Bearer ' + token } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        let ok = res.statusCode === 200;
        if (ok) { try { JSON.parse(Buffer.concat(chunks)); } catch (e) { ok = false; } }
        resolve({ ok, ms, why: 'HTTP ' + res.statusCode });
      });
    });
    rq.on('error', (e) => resolve({ ok: false, ms: 0, why: String(e) }));
  });
}

async function client(end) {
  let k = 0;
  while (Date.now() < end) {
    const files = k++ % 2 === 1;
    const off = Math.floor(Math.random() * Math.max(1, Number(items) - Number(page)));
    const path = files ? '/api/v1/backups/' + encodeURIComponent(set) + '/files?limit=' + page + '&offset=' + off
      : '/api/v1/tapes';
    const r = await get(path);
    if (!r.ok) { errors++; if (firstErrors.length < 5) firstErrors.push(r.why); continue; }
    (files ? lat.files : lat.tapes).push(r.ms);
  }
}

function pct(a, p) {
  if (!a.length) return NaN;
  const s = a.slice().sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))];
}

(async () => {
  const end = Date.now() + Number(seconds) * 1000;
  const t0 = Date.now();
  await Promise.all(Array.from({ length: Number(clients) }, () => client(end)));
  const secs = (Date.now() - t0) / 1000;
  const all = lat.tapes.concat(lat.files);
  console.log(`clients ${clients}, ${secs.toFixed(1)} s, requests ${all.length + errors}, errors ${errors}` +
    (firstErrors.length ? ' (' + firstErrors.join('; ') + ')' : ''));
  console.log(`rate ${(all.length / secs).toFixed(1)} req/s`);
  for (const [name, a] of [['tapes', lat.tapes], ['files', lat.files], ['all', all]])
    console.log(`${name.padEnd(6)} n=${a.length} p50=${pct(a, 50).toFixed(1)} ms p90=${pct(a, 90).toFixed(1)} ms ` +
      `p99=${pct(a, 99).toFixed(1)} ms max=${Math.max(...a).toFixed(1)} ms`);
  process.exit(errors ? 1 : 0);
})();
