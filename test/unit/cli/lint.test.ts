// haraka-ldap lint on config folders with each weakness (one finding each, with
// its file and key), on one that does not parse (exit 2), and on the shipped config/.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chmodSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, test } from 'node:test'
import { lintConfig, lintExitCode, type Finding } from '../../../bin/cli/lint'
import { REPO } from '../../harness/paths'

const CLI = path.join(REPO, 'dist/bin/haraka-ldap.js')
const dirs: string[] = []
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function folder(files: Record<string, string>, modes: Record<string, number> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'haraka-ldap-lint-'))
  dirs.push(dir)
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text)
  for (const [name, mode] of Object.entries(modes)) chmodSync(path.join(dir, name), mode)
  return dir
}

const SAFE_DIRECTORY = [
  '[main]',
  'servers=ldaps://ldap.example.com',
  'bind_dn=cn=haraka,ou=services,dc=example,dc=com',
  'bind_password=s3cret-service',
  'base_dn=ou=people,dc=example,dc=com',
].join('\n')

const WEAK: Record<string, string> = {
  plugins: 'ldap_auth\nauth_relay\n',
  'ldap_directory.ini': `${SAFE_DIRECTORY.replace('ldaps://ldap.example.com', 'ldap://ldap.example.com')}\ntls_reject_unauthorized=false\n`,
  'auth_relay.ini': '[main]\ntrusted_networks=127.0.0.0/8,8.0.0.0/6\n',
  'smtp.ini': '[main]\nlisten=[::0]:25,[::0]:587\nnodes=4\n',
}

function find(findings: Finding[], file: string, key: string, pattern: RegExp): Finding {
  const f = findings.find((x) => x.file === file && x.key === key && pattern.test(x.message))
  assert.ok(f, `no finding for ${file} ${key} ${pattern}: ${JSON.stringify(findings, null, 1)}`)
  return f
}

const weak = () => lintConfig(folder(WEAK, { 'ldap_directory.ini': 0o644 }))

test('ldap:// to another host without StartTLS', () => {
  find(
    weak(),
    'ldap_directory.ini',
    'servers',
    /ldap:\/\/ldap\.example\.com: passwords go to the directory unencrypted/,
  )
})

test('TLS verification of the directory off', () => {
  find(weak(), 'ldap_directory.ini', 'tls_reject_unauthorized', /not verified/)
})

test('the service-account password in a world-readable file', () => {
  find(weak(), 'ldap_directory.ini', 'bind_password', /every local user can read \(mode 644\)/)
})

test('trusted networks with loopback, and a wide range', () => {
  find(weak(), 'auth_relay.ini', 'trusted_networks', /127\.0\.0\.0\/8 trusts local processes/)
  find(weak(), 'auth_relay.ini', 'trusted_networks', /8\.0\.0\.0\/6 is a very wide range/)
})

test('AUTH without TLS: tls not listed before ldap_auth', () => {
  find(weak(), 'plugins', 'tls', /never offers AUTH/)
})

test("AUTH on the inbound port 25 (listen, or Haraka's default port)", () => {
  find(weak(), 'smtp.ini', 'listen', /port 25 \(inbound MX\)/)
  const noSmtpIni = lintConfig(folder({ plugins: 'tls\nldap_auth\n', 'ldap_directory.ini': SAFE_DIRECTORY }))
  find(noSmtpIni, 'smtp.ini', 'port', /port 25 \(inbound MX\)/)
})

test('containment off, or one budget off', () => {
  const off = lintConfig(folder({ ...WEAK, 'auth_relay.ini': '[main]\ncontainment=off\n' }))
  find(off, 'auth_relay.ini', 'containment', /a stolen login may relay without any budget/)
  const one = lintConfig(folder({ ...WEAK, 'auth_relay.ini': '[main]\ncontain_recipients_per_day=0\n' }))
  find(one, 'auth_relay.ini', 'contain_recipients_per_day', /budget is off/)
})

test('several workers without Redis', () => {
  find(weak(), 'smtp.ini', 'nodes', /nodes=4: several worker processes.*set shared_state\.ini store=redis/)
})

test('the weak folder: warnings only, exit 1, and the secret never in a finding', () => {
  const findings = weak()
  assert.equal(findings.filter((f) => f.level === 'warning').length, 8, JSON.stringify(findings, null, 1))
  assert.equal(lintExitCode(findings, false), 1)
  assert.ok(!JSON.stringify(findings).includes('s3cret-service'))
})

test('an enc-file hash that is not SHA512-crypt is an error with its key: exit 2', () => {
  const dir = folder(
    {
      'ldap_directory.ini': SAFE_DIRECTORY,
      'ldap_auth.ini': '[main]\nlocal_users=first\n',
      'auth_enc_file.ini': '[users]\nsvc@example.com=$1$saltsalt$md5hashmd5hashmd5hash\n',
    },
    { 'ldap_directory.ini': 0o600 },
  )
  const findings = lintConfig(dir)
  const f = find(findings, 'auth_enc_file.ini', '[users] svc@example.com', /not a SHA512-crypt hash/)
  assert.equal(f.level, 'error')
  assert.ok(!JSON.stringify(findings).includes('md5hash'), 'the hash is never quoted')
  assert.equal(lintExitCode(findings, false), 2)
})

test('a metrics listener open to other hosts without basic auth; its password in a world-readable file', () => {
  const metrics = (ini: string, mode = 0o640) =>
    lintConfig(
      folder(
        {
          plugins: 'auth_metrics\n',
          'ldap_directory.ini': SAFE_DIRECTORY,
          'auth_metrics.ini': `[main]\n${ini}`,
        },
        { 'ldap_directory.ini': 0o640, 'auth_metrics.ini': mode },
      ),
    )
  const open = metrics('listen=0.0.0.0:9187\n')
  assert.equal(open.length, 1, JSON.stringify(open))
  const f = find(open, 'auth_metrics.ini', 'listen', /reachable from other hosts and has no basic auth/)
  assert.equal(f.level, 'warning')
  assert.equal(lintExitCode(open, false), 1)
  const withAuth = 'listen=0.0.0.0:9187\nuser=prom\npassword=metrics-pass-9\n'
  const readable = metrics(withAuth, 0o644)
  assert.equal(readable.length, 1, JSON.stringify(readable))
  find(
    readable,
    'auth_metrics.ini',
    'password',
    /the metrics password is in a file every local user can read/,
  )
  assert.ok(!JSON.stringify(readable).includes('metrics-pass-9'))
  // on loopback (a port alone), or with basic auth in a 640 file: nothing to say
  assert.deepEqual(metrics('listen=9187\n'), [])
  assert.deepEqual(metrics(withAuth), [])
})

test('workers sharing nothing: nodes>1 without shared_state.ini store=redis is a warning, the redis plugin alone is not enough', () => {
  const dir = folder(
    {
      'ldap_directory.ini': SAFE_DIRECTORY,
      plugins: 'tls\nredis\nldap_auth\n',
      'smtp.ini': '[main]\nlisten=[::0]:587\nnodes=2\n',
    },
    { 'ldap_directory.ini': 0o640 },
  )
  const found = lintConfig(dir).filter((f) => f.key === 'nodes')
  assert.equal(found.length, 1, JSON.stringify(lintConfig(dir)))
  assert.match(found[0]!.message, /nodes=2: .*set shared_state\.ini store=redis/)
})

test('a safe folder: no findings, exit 0 (and the same folder with a 640 file)', () => {
  const dir = folder(
    {
      'ldap_directory.ini': SAFE_DIRECTORY,
      plugins: 'tls\nldap_auth\n',
      'smtp.ini': '[main]\nlisten=[::0]:587,[::0]:465\nnodes=4\n',
      'shared_state.ini': '[main]\nstore=redis\n',
    },
    { 'ldap_directory.ini': 0o640 },
  )
  assert.deepEqual(lintConfig(dir), [])
  const out = spawnSync(process.execPath, [CLI, 'lint', '--config', dir, '--json'], { encoding: 'utf8' })
  assert.equal(out.status, 0, out.stderr)
  assert.deepEqual(JSON.parse(out.stdout), { config: dir, findings: [], exit: 0 })
})

test('the shipped config/: one notice (the demo directory on loopback without TLS), exit 0; 1 with --strict', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'haraka-ldap-lint-shipped-'))
  dirs.push(dir)
  cpSync(path.join(REPO, 'config'), dir, { recursive: true })
  // As an installation keeps it: the service password readable by Haraka's group only.
  chmodSync(path.join(dir, 'ldap_directory.ini'), 0o640)
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [CLI, 'lint', '--config', dir, ...args], { encoding: 'utf8' })
  const out = run()
  assert.equal(out.status, 0, out.stdout + out.stderr)
  assert.match(
    out.stdout,
    /^notice {2}ldap_directory\.ini servers: ldap:\/\/127\.0\.0\.1:3389: unencrypted \(no starttls\), acceptable only because the directory is on this host/m,
  )
  assert.match(out.stdout, /0 error\(s\), 0 warning\(s\), 1 notice\(s\)/)
  assert.equal(run('--strict').status, 1)
  // At 644 (git's mode, before npm install's prepare sets 640) lint says so.
  chmodSync(path.join(dir, 'ldap_directory.ini'), 0o644)
  assert.equal(run().status, 1)
})
