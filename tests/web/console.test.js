// Browser test of the tapevault web console (run by tests/cli/t_webui.sh):
// the seed's decrypt flow in headless chromium, driven by puppeteer-core.
//   node console.test.js URL USER PWFILE TAPE-PWFILE HINT SHOTDIR RESTORE-DIR PICK-DIR
//        BULK-DIR ADMIN ADMIN-PWFILE
// Then: a restore of files chosen in the file picker, a long restore
// watched live (its progress bar must move), the audit log view, and an
// admin adding and removing a user.
// Prints TAP-style "ok" / "not ok" lines; exits 1 when anything failed.
'use strict';
const fs = require('fs');
const path = require('path');
const puppeteer = require('puppeteer-core');

const [url, user, pwFile, tapePwFile, hint, shots, restoreTo, pickTo, bulkTo, admin, adminPwFile] =
  process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const read = (f) => fs.readFileSync(f, 'utf8').replace(/\r?\n$/, '');
let fails = 0;
function ok(cond, what) {
  console.log((cond ? 'ok - ' : 'not ok - ') + what);
  if (!cond) fails++;
}

/* The accessible names under an element, from chromium's accessibility tree. */
async function names(page, handle) {
  const snap = await page.accessibility.snapshot({ root: handle, interestingOnly: false });
  const out = [];
  (function walk(n) {
    if (!n) return;
    if (n.name) out.push(n.role + ':' + n.name);
    (n.children || []).forEach(walk);
  })(snap);
  return out;
}

async function main() {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    acceptInsecureCerts: true,
    args: ['--no-sandbox', '--ignore-certificate-errors', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const problems = [];
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 800 });
    // errors the page logs (a CSP violation among them), but not the 4xx
    // answers the test provokes (the wrong password)
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(String(e)));
    await page.goto(url + '/', { waitUntil: 'networkidle0' });

    // log in, with the keyboard
    await page.type('input[name="user"]', user);
    await page.type('input[name="password"]', read(pwFile));
    await page.keyboard.press('Enter');
    const tape = await page.waitForSelector('button.tape[data-barcode="VT0001L9"]', { timeout: 15000 });
    ok(true, 'logged in: the inventory shows VT0001L9');
    ok((await page.$$('input[name="password"]')).length === 1, 'the login form is gone (one password field left: the dialog\'s)');
    let n = await names(page, tape);
    ok(n.some((x) => /^(img|image):.*locked/.test(x)), 'the tape carries an icon whose accessible name contains "locked" (' + n.join(', ') + ')');
    const tree = await page.$eval('#tree', (e) => e.textContent);
    ok(/Library lib/.test(tree) && /Media pool vault|Imported media/.test(tree), 'the tree shows the library and the tape\'s pool');
    await page.screenshot({ path: path.join(shots, 'web-inventory-locked.png') });

    // select the tape with the keyboard, then "Specify password" on the ribbon
    await tape.focus();
    await page.keyboard.press('Enter');
    ok(await page.$eval('button.tape[data-barcode="VT0001L9"]', (b) => b.getAttribute('aria-pressed')) === 'true', 'Enter selects the tape');
    const specify = await page.waitForSelector('::-p-aria(Specify password)');
    ok(!(await specify.evaluate((b) => b.disabled)), '"Specify password" is offered for the locked tape');
    await specify.click();
    await page.waitForSelector('#decrypt-dialog[open]');
    const dialogText = await page.$eval('#decrypt-dialog', (d) => d.innerText);
    ok(dialogText.includes(hint), 'the dialog shows the hint');
    const pwField = await page.$('::-p-aria([name="Password"][role="textbox"])');
    ok(pwField !== null && await pwField.evaluate((e) => e.name === 'password' && e.type === 'password'),
      'a password field (accessible name "Password")');
    ok(await page.evaluate(() => document.activeElement && document.activeElement.id === 'decrypt-password'),
      'the password field has the focus');
    await page.screenshot({ path: path.join(shots, 'web-decrypt-dialog.png') });

    // a wrong password first: said in the dialog, the tape stays locked
    await page.keyboard.type('not the password');
    await (await page.$('::-p-aria(OK)')).click();
    await page.waitForFunction(() => document.getElementById('decrypt-error').textContent.length > 0, { timeout: 30000 });
    ok(/wrong password/.test(await page.$eval('#decrypt-error', (e) => e.textContent)), 'a wrong password is said in the dialog');

    // the right one, OK: the tape unlocks
    await page.$eval('#decrypt-password', (e) => { e.value = ''; });
    await page.focus('#decrypt-password');
    await page.keyboard.type(read(tapePwFile));
    await (await page.$('::-p-aria(OK)')).click();
    await page.waitForFunction(() => !document.querySelector('#decrypt-dialog[open]'), { timeout: 60000 });
    await page.waitForFunction(() => /unlocked/.test(document.getElementById('status').textContent), { timeout: 30000 });
    const after = await page.$('button.tape[data-barcode="VT0001L9"]');
    n = await names(page, after);
    ok(n.filter((x) => /^(img|image):/.test(x)).every((x) => !/locked/.test(x)), 'the tape is unlocked: no "locked" icon (' + n.join(', ') + ')');
    const rows = await page.$eval('#backups', (t) => t.innerText);
    ok(/nightly[\s\S]*restorable/.test(rows), 'its backup set is listed as restorable');

    // restore the set from the console
    await (await page.waitForSelector('::-p-aria(Restore nightly)')).click();
    await page.waitForSelector('#restore-dialog[open]');
    await page.type('#restore-to', restoreTo);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /Restored/.test(document.getElementById('status').textContent), { timeout: 60000 });
    ok(true, 'the set restores from the console');
    const jobs = await page.$eval('#jobs', (t) => t.innerText);
    ok(/restore[\s\S]*ok/.test(jobs) && /decrypt/.test(jobs), 'the job list shows the decrypt and the restore');
    await page.screenshot({ path: path.join(shots, 'web-jobs.png'), fullPage: true });

    // the file picker: restore one chosen file of the set
    await (await page.waitForSelector('::-p-aria(Restore nightly)')).click();
    await page.waitForSelector('#restore-dialog[open]');
    for (let i = 0; i < 20; i++) {
      if (await page.$('#picker-list input[data-path$="docs/report.txt"]')) break;
      const before = await page.$eval('#picker-dir', (e) => e.textContent);
      const open = await page.waitForSelector('#picker-list button.open-dir', { timeout: 10000 });
      await open.click();
      await page.waitForFunction((b) => document.getElementById('picker-dir').textContent !== b, {}, before);
    }
    const pick = await page.$('#picker-list input[data-path$="docs/report.txt"]');
    ok(pick !== null, 'the picker browses the set\'s tree down to docs/report.txt');
    const pickName = await names(page, await page.$('#picker-list'));
    ok(pickName.some((x) => /checkbox:report\.txt/.test(x)), 'each entry is a checkbox named by the file (' + pickName.slice(0, 6).join(', ') + ')');
    await pick.click();
    ok(/1 chosen/.test(await page.$eval('#picker-chosen', (e) => e.textContent)), 'the picker says one is chosen');
    await page.screenshot({ path: path.join(shots, 'web-file-picker.png') });
    await page.$eval('#restore-to', (e) => { e.value = ''; });
    await page.type('#restore-to', pickTo);
    await (await page.$('#restore-ok')).click();
    await page.waitForFunction((to) => document.getElementById('status').textContent.includes(to), { timeout: 60000 }, pickTo);
    ok(/^Restored nightly/.test(await page.$eval('#status', (e) => e.textContent)), 'the chosen file restores');

    // a long restore, watched live: its progress bar moves
    await (await page.waitForSelector('::-p-aria(Restore bulk)')).click();
    await page.waitForSelector('#restore-dialog[open]');
    await page.$eval('#restore-to', (e) => { e.value = ''; });
    await page.type('#restore-to', bulkTo);
    await page.keyboard.press('Enter');
    const running = () => page.evaluate(() => {
      const li = document.querySelector('#live-jobs li.live-job.state-running');
      const bar = li && li.querySelector('progress');
      return bar && bar.hasAttribute('value') ? { v: bar.value, text: li.innerText } : null;
    });
    let first = null;
    for (let i = 0; i < 200 && !first; i++) {
      const r = await running();
      if (r && r.v > 0 && r.v < 100) first = r;
      else await sleep(50);
    }
    ok(first !== null, 'the running restore shows a progress value between 0 and 100' + (first ? ' (' + first.v.toFixed(1) + '%)' : ''));
    const bar = await page.$('#live-jobs li.state-running progress');
    const barNames = bar ? await names(page, bar) : [];
    ok(barNames.some((x) => /Progress of restore job/.test(x)), 'the progress bar has an accessible name (' + barNames.join(', ') + ')');
    ok(first && /MiB of .*MiB/.test(first.text) && /MiB\/s/.test(first.text), 'it says bytes done of total and the rate (' + (first ? first.text.replace(/\s+/g, ' ') : '') + ')');
    ok(first && /now: \S*bulk\/files\/f\d+\.bin/.test(first.text), 'and the file being restored');
    await page.screenshot({ path: path.join(shots, 'web-job-running.png'), fullPage: true });
    await sleep(1000);
    const second = await running();
    ok(first && second && second.v > first.v, 'the progress moves (' + (first ? first.v.toFixed(1) : '?') + '% then ' + (second ? second.v.toFixed(1) : 'ended') + '%)');
    await page.waitForFunction(() => /Restored bulk/.test(document.getElementById('status').textContent), { timeout: 120000 });
    ok(/100%/.test(await page.$eval('#live-jobs', (e) => e.innerText)), 'the finished job shows 100%');

    // the audit log view
    await page.waitForSelector('#audit-view:not([hidden])');
    const audit = await page.$eval('#audit', (t) => t.innerText);
    ok(/web decrypt/.test(audit) && /web restore/.test(audit), 'the audit log view lists the web decrypt and restores');
    await page.type('#audit-filter', 'web decrypt');
    const shown = await page.$$eval('#audit tbody tr', (rs) => rs.map((r) => r.innerText));
    ok(shown.length > 0 && shown.every((r) => /web decrypt/.test(r)), 'the filter narrows it to the decrypts (' + shown.length + ' rows)');
    await page.screenshot({ path: path.join(shots, 'web-audit.png'), fullPage: true });

    // an admin manages users in the console
    await (await page.$('#logout')).click();
    await page.waitForSelector('input[name="user"]');
    await page.type('input[name="user"]', admin);
    await page.type('input[name="password"]', read(adminPwFile));
    await page.keyboard.press('Enter');
    await page.waitForSelector('#users-view:not([hidden]) #users tbody tr');
    let users = await page.$eval('#users', (t) => t.innerText);
    ok(/boss/.test(users) && /op/.test(users) && /view/.test(users), 'the admin sees the users');
    // escrow: the admin asks for a request for a tape without an escrow slot: said why
    await (await page.waitForSelector('button.tape[data-barcode="VT0001L9"]')).click();
    ok(await page.$eval('#escrow-request', (b) => !b.hidden), 'the admin has the "Escrow request" button');
    ok(await page.$eval('#escrow-request', (b) => b.disabled), '... disabled for a tape that is not locked');
    const respNames = await names(page, await page.$('#escrow-response'));
    ok(await page.$eval('#escrow-response', (b) => !b.disabled) && respNames.some((x) => /Apply escrow response/.test(x)),
      'and an "Apply escrow response…" file field (' + respNames.join(', ') + ')');
    await page.type('#new-user', 'clerk');
    await page.select('#new-role', 'viewer');
    await page.type('#new-password', 'clerk pass 8Hh');
    await (await page.$('#user-add')).click();
    await page.waitForFunction(() => /clerk/.test(document.getElementById('users').innerText), { timeout: 15000 });
    ok(true, 'the admin adds a user');
    const rmBtn = await page.waitForSelector('::-p-aria([name="Remove user clerk"][role="button"])');
    await rmBtn.focus();
    await page.keyboard.press('Enter');   /* with the keyboard */
    try {
      await page.waitForFunction(() => !/clerk/.test(document.getElementById('users').innerText), { timeout: 15000 });
      ok(true, 'and removes it');
    } catch (e) {
      ok(false, 'and removes it (status: ' + await page.$eval('#status', (x) => x.textContent) + '; ' +
        problems.join(' | ') + '; disabled: ' + await rmBtn.evaluate((b) => b.disabled + ' ' + b.outerHTML) + ')');
    }

    ok(problems.length === 0, 'no script error and no Content-Security-Policy violation' +
      (problems.length ? ': ' + problems.join(' | ') : ''));
  } finally {
    await browser.close();
  }
}

main().then(() => process.exit(fails ? 1 : 0), (e) => {
  console.log('not ok - the browser test stopped: ' + (e && e.stack ? e.stack.split('\n')[0] : e));
  process.exit(1);
});
