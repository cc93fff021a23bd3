// Browser test of the tapevault web console (run by tests/cli/t_webui.sh):
// the seed's decrypt flow in headless chromium, driven by puppeteer-core.
//   node console.test.js URL USER PWFILE TAPE-PWFILE HINT SHOTDIR RESTORE-DIR
// Prints TAP-style "ok" / "not ok" lines; exits 1 when anything failed.
'use strict';
const fs = require('fs');
const path = require('path');
const puppeteer = require('puppeteer-core');

const [url, user, pwFile, tapePwFile, hint, shots, restoreTo] = process.argv.slice(2);
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
