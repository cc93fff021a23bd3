#!/usr/bin/env python3
"""Runs the runbooks of docs/GUIDE.md against the real program, so the guide
cannot drift from it.

A shell block is a step when an HTML comment right before it says so:

    <!-- step: RUNBOOK [host=NAME] -->
    ```console
    $ tapevault pool list
    NAME ...
    ```

Every step of one RUNBOOK runs, in the guide's order, in one sandbox
directory; each host (default "server") is its own installation
(TAPEVAULT_HOME).  Lines starting with "$ " are commands (bash, in the
sandbox); the lines after a command are what its output (stdout and stderr)
must show: each is matched against a whole output line, in order, other
lines in between allowed; "..." inside a line matches anything.  A command
ending in "# exit N" must exit N, every other command 0.

    <!-- setup: RUNBOOK [host=NAME]
    shell lines, run as they are (not shown in the guide)
    -->

    <!-- kms: RUNBOOK stop -->   (and "start"): the KMS goes down, or comes
                                  back on the same port with the same keys

The guide's paths are the paths of a real server, and they stay so: each
command runs as root in its own mount namespace where /srv, /var/backups,
/etc/tapevault and /var/lib/tapevault (the state directory a root
installation uses without --home) are the sandbox's directories of that
host, and /mnt one directory all hosts share (where the box of tapes is
carried), so nothing outside the sandbox is touched.  A runbook that uses
"kms add" gets a real PyKMIP server on loopback: kms.example.com and port
5696 in the guide stand for it (in commands and expected lines), and its
certificates are put where the guide says (/etc/tapevault/kms-*.pem).

usage: run_guide.py GUIDE.md BINARY_DIR SOURCE_DIR [RUNBOOK...]
       (--record prints every command's real output instead of checking)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

STEP = re.compile(r'^<!-- (step|setup): ([A-Za-z0-9_-]+)(?: host=([A-Za-z0-9_-]+))?\s*(-->)?\s*$')
KMSCTL = re.compile(r'^<!-- kms: ([A-Za-z0-9_-]+) (stop|start) -->\s*$')
EXIT = re.compile(r'\s+# exit (\d+)\s*$')
# what each host sees of the sandbox: mount point -> directory under it
# (/mnt is the one place hosts share: the box of tapes carried between them)
SHARED = {'/mnt': 'mnt'}
PER_HOST = {'/srv': 'srv', '/var/backups': 'var-backups', '/etc/tapevault': 'etc-tapevault',
            '/var/lib/tapevault': 'var-lib-tapevault'}


def parse(path):
    """[(runbook, kind, host, lineno, text)] in the guide's order."""
    lines = open(path, encoding='utf-8').read().split('\n')
    out, i = [], 0
    while i < len(lines):
        k = KMSCTL.match(lines[i])
        if k:
            out.append((k.group(1), 'kms', k.group(2), i + 1, ''))
            i += 1
            continue
        m = STEP.match(lines[i])
        if not m:
            i += 1
            continue
        kind, book, host = m.group(1), m.group(2), m.group(3) or 'server'
        start = i + 1
        if kind == 'setup':
            j = start
            while j < len(lines) and lines[j].strip() != '-->':
                j += 1
            out.append((book, 'setup', host, start, '\n'.join(lines[start:j])))
            i = j + 1
            continue
        if start >= len(lines) or not lines[start].startswith('```console'):
            sys.exit('%s:%d: a step comment must be followed by a ```console block' % (path, i + 1))
        j = start + 1
        while j < len(lines) and not lines[j].startswith('```'):
            j += 1
        out.append((book, 'step', host, start + 1, '\n'.join(lines[start + 1:j])))
        i = j + 1
    return out


class Sandbox:
    def __init__(self, book, bindir, srcdir):
        self.dir = tempfile.mkdtemp(prefix='tvguide-%s.' % book)
        self.bindir, self.srcdir = bindir, srcdir
        self.kms = None
        self.made = []
        for sub in SHARED.values():
            os.makedirs(os.path.join(self.dir, sub))
        # mount points that a machine without tapevault lacks (left empty)
        for mp in list(SHARED) + list(PER_HOST):
            if not os.path.isdir(mp):
                os.makedirs(mp)
                self.made.append(mp)

    def host_dir(self, host, sub):
        d = os.path.join(self.dir, 'hosts', host, sub)
        os.makedirs(d, exist_ok=True)
        return d

    def move(self, text):
        if self.kms:
            text = text.replace('kms.example.com', '127.0.0.1')
            text = re.sub(r'\b5696\b', self.kms['KMS_PORT'], text)
        return text

    def start_kms(self, port=None):
        kd = os.path.join(self.dir, 'kms-server')
        env = dict(os.environ, KMS_WATCH_PID=str(os.getpid()))
        r = subprocess.run(['bash', os.path.join(self.srcdir, 'tests/kms/pykmip-server.sh'),
                            'start', kd] + ([port] if port else []),
                           capture_output=True, text=True, env=env)
        if r.returncode != 0:
            raise RuntimeError('PyKMIP server did not start: ' + r.stdout + r.stderr)
        self.kms = dict(re.findall(r'^(KMS_[A-Z_]+)=(.*)$', r.stdout, re.M))
        self.kms_dir = kd

    def give_kms_certs(self, host):
        etc = self.host_dir(host, PER_HOST['/etc/tapevault'])
        for var, name in (('KMS_CA', 'kms-ca.pem'), ('KMS_CERT', 'kms-client.pem'),
                          ('KMS_KEY', 'kms-client-key.pem')):
            shutil.copy(self.kms[var], os.path.join(etc, name))
            os.chmod(os.path.join(etc, name), 0o600)

    def run(self, host, script, check_shell=False):
        """Runs script as the host sees the machine; (exit, output)."""
        if self.kms:
            self.give_kms_certs(host)
        binds = ['mount --bind %s %s' % (os.path.join(self.dir, sub), mp)
                 for mp, sub in SHARED.items()]
        binds += ['mount --bind %s %s' % (self.host_dir(host, sub), mp)
                  for mp, sub in PER_HOST.items()]
        wrapper = ' && '.join(binds) + ' && cd /srv && exec bash %s -c "$1"' % (
            '-e' if check_shell else '')
        env = dict(os.environ)
        env['PATH'] = self.bindir + ':' + env['PATH']
        env['HOME'] = self.host_dir(host, 'root')
        env['TV_SOURCE_DIR'] = os.path.abspath(self.srcdir)   # for setup blocks
        for k in ('TAPEVAULT_HOME', 'TAPEVAULT_PASSWORD', 'XDG_DATA_HOME'):
            env.pop(k, None)
        r = subprocess.run(['unshare', '-m', 'bash', '-c', wrapper, 'guide', script],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=600)
        return r.returncode, r.stdout

    def stop_kms(self):
        subprocess.run(['bash', os.path.join(self.srcdir, 'tests/kms/pykmip-server.sh'),
                        'stop', self.kms_dir], capture_output=True)

    def close(self):
        if self.kms:
            subprocess.run(['bash', os.path.join(self.srcdir, 'tests/kms/pykmip-server.sh'),
                            'stop', self.kms_dir], capture_output=True)
        for mp in reversed(self.made):
            try:
                os.rmdir(mp)
            except OSError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


def pattern(line):
    parts = [re.escape(p) for p in line.rstrip().split('...')]
    return re.compile('^' + '.*'.join(parts) + r'\s*$')


def commands(block):
    """[(command, exit, [expected lines])]"""
    out = []
    for line in block.split('\n'):
        if line.startswith('$ '):
            cmd = line[2:]
            m = EXIT.search(cmd)
            code = int(m.group(1)) if m else 0
            if m:
                cmd = cmd[:m.start()]
            out.append([cmd, code, []])
        elif out and line.strip():
            out[-1][2].append(line)
    return out


def run_step(sb, host, block, where, record):
    fails = 0
    for cmd, code, want in commands(block):
        rc, got = sb.run(host, sb.move(cmd))
        if record:
            print('$ %s   [exit %d]\n%s' % (cmd, rc, got.rstrip()))
            continue
        lines = [ln.rstrip() for ln in got.split('\n')]
        k, missing = 0, None
        for w in want:
            p = pattern(sb.move(w))
            while k < len(lines) and not p.match(lines[k]):
                k += 1
            if k == len(lines):
                missing = w
                break
            k += 1
        if rc != code or missing is not None:
            fails += 1
            print('not ok - %s: $ %s' % (where, cmd))
            if rc != code:
                print('  exit %d, the guide says %d' % (rc, code))
            if missing is not None:
                print('  the guide shows a line the output lacks: %s' % missing)
            print('  output:\n' + '\n'.join('    ' + ln for ln in lines[:40]))
        else:
            print('ok - %s: $ %s' % (where, cmd))
    return fails


def main():
    args = sys.argv[1:]
    record = '--record' in args
    args = [a for a in args if a != '--record']
    if len(args) < 3:
        sys.exit(__doc__)
    guide, bindir, srcdir, only = args[0], os.path.abspath(args[1]), args[2], args[3:]
    steps = parse(guide)
    books = []
    for s in steps:
        if s[0] not in books:
            books.append(s[0])
    if only:
        unknown = [b for b in only if b not in books]
        if unknown:
            sys.exit('no runbook %s in %s (there are: %s)' % (', '.join(unknown), guide,
                                                              ', '.join(books)))
        books = only
    fails = total = 0
    for book in books:
        sb = Sandbox(book, bindir, srcdir)
        try:
            mine = [s for s in steps if s[0] == book]
            if any('kms add' in s[4] for s in mine):
                sb.start_kms()
            for _, kind, host, lineno, text in mine:
                where = '%s (%s line %d)' % (book, os.path.basename(guide), lineno)
                if kind == 'kms':
                    if host == 'stop':
                        sb.stop_kms()
                    else:
                        sb.start_kms(sb.kms['KMS_PORT'])
                    continue
                if kind == 'setup':
                    rc, out = sb.run(host, text, check_shell=True)
                    if rc != 0:
                        print('not ok - %s: setup failed\n%s' % (where, out))
                        fails += 1
                        break
                    continue
                total += 1
                f = run_step(sb, host, text, where, record)
                fails += f
                if f and not record:
                    break   # later steps build on this one
        finally:
            sb.close()
    print('%d runbook(s), %d step block(s), %d failure(s)' % (len(books), total, fails))
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
