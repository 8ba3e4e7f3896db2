// haraka-ldap test and sender against a real slapd with the demo directory: the
// command as an operator runs it (a child process, the password on stdin), its
// --json document, its text and its exit codes; never a secret in its output.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { SERVICE_ACCOUNT } from '../harness/directories'
import { REPO } from '../harness/paths'
import { freePort } from '../harness/ports'
import { startSlapd, type Slapd } from '../harness/slapd'
import { DEMO_LDIF } from '../harness/stack'

const CLI = path.join(REPO, 'dist/bin/haraka-ldap.js')
const ALICE_PASSWORD = 'wonderland-42'
const GROUP = 'cn=submitters,ou=groups,dc=example,dc=com'

let slapd: Slapd
const dirs: string[] = []

/** A config/ folder: ldap_directory.ini on `servers`, and the other files as given. */
function configDir(servers: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'haraka-ldap-cli-'))
  dirs.push(dir)
  const main = { servers, ...SERVICE_ACCOUNT, timeout: 2000, connect_timeout: 500 }
  writeFileSync(
    path.join(dir, 'ldap_directory.ini'),
    `[main]\n${Object.entries(main)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  )
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text)
  return dir
}

function cli(args: string[], input = '') {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8', timeout: 20000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

function noSecrets(out: { stdout: string; stderr: string }, password: string): void {
  for (const secret of [password, SERVICE_ACCOUNT.bind_password]) {
    assert.ok(!out.stdout.includes(secret), 'a secret on stdout')
    assert.ok(!out.stderr.includes(secret), 'a secret on stderr')
  }
}

before(async () => {
  slapd = await startSlapd({ ldif: [DEMO_LDIF] })
})

after(async () => {
  await slapd?.dispose()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe('haraka-ldap test', () => {
  test('a right password: the search, the DN, the bind, the decision and 235, exit 0', () => {
    const dir = configDir(slapd.url)
    const out = cli(['test', 'alice', '--config', dir, '--json'], `${ALICE_PASSWORD}\n`)
    assert.equal(out.code, 0, out.stderr)
    noSecrets(out, ALICE_PASSWORD)
    const r = JSON.parse(out.stdout)
    assert.equal(r.login, 'alice')
    assert.equal(r.server, slapd.url)
    assert.deepEqual(r.servers, [{ url: slapd.url, up: true }])
    const [search, bind] = r.steps
    assert.equal(search.op, 'search')
    assert.equal(search.base, SERVICE_ACCOUNT.base_dn)
    assert.match(search.filter, /uid=alice/)
    assert.equal(search.result, 'found')
    assert.equal(search.dn, 'uid=alice,ou=people,dc=example,dc=com')
    assert.deepEqual(bind, { op: 'bind', dn: 'uid=alice,ou=people,dc=example,dc=com', result: 'ok' })
    assert.deepEqual(r.decision, { verdict: 'pass', outcome: 'OK', rule: 'authn', reason: 'bind_ok' })
    assert.equal(r.identity, 'alice')
    assert.deepEqual(r.reply, { code: 235, enh: '2.7.0', text: 'Authentication successful' })
    assert.match(r.cache, /^off/)
  })

  test('a wrong password: the bind refused, 535, exit 1 (text output)', () => {
    const dir = configDir(slapd.url)
    const out = cli(['test', 'alice', '--config', dir], 'not-her-password\n')
    assert.equal(out.code, 1, out.stderr)
    noSecrets(out, 'not-her-password')
    assert.match(out.stdout, /^bind {6}uid=alice,ou=people,dc=example,dc=com: invalid_credentials$/m)
    assert.match(out.stdout, /^decision  fail: authn\(invalid_credentials\) PASSWORD_MISMATCH$/m)
    assert.match(out.stdout, /^reply {5}535 5\.7\.8 /m)
  })

  test('an unknown login: the search finds none, no bind, exit 1', () => {
    const out = cli(['test', 'nobody', '--config', configDir(slapd.url), '--json'], 'x\n')
    assert.equal(out.code, 1)
    const r = JSON.parse(out.stdout)
    assert.deepEqual(
      r.steps.map((s: { op: string; result?: string }) => [s.op, s.result]),
      [['search', 'none']],
    )
    assert.equal(r.decision.reason, 'no_such_user')
    assert.equal(r.reply.code, 535)
  })

  test('every account-state check with its verdict: a required group carol is not in', () => {
    const dir = configDir(slapd.url, {
      'ldap_auth.ini': `[main]\nrequire_group=${GROUP}\ndisabled_attribute=employeeType\n`,
    })
    const out = cli(['test', 'carol', '--config', dir, '--json'], 'higher-further-faster\n')
    assert.equal(out.code, 1, out.stderr)
    const r = JSON.parse(out.stdout)
    assert.deepEqual(r.account_checks, [
      { check: 'disabled_attribute=employeeType', verdict: 'pass' },
      { check: 'require_group (member)', verdict: 'fail', reason: 'not_in_required_group' },
    ])
    assert.equal(r.decision.rule, 'authz')
    assert.equal(r.decision.reason, 'not_in_required_group')
    assert.equal(r.reply.code, 535)
    // alice is in it: the same checks pass
    const ok = JSON.parse(cli(['test', 'alice', '--config', dir, '--json'], `${ALICE_PASSWORD}\n`).stdout)
    assert.deepEqual(
      ok.account_checks.map((c: { verdict: string }) => c.verdict),
      ['pass', 'pass'],
    )
    assert.equal(ok.reply.code, 235)
  })

  test('the directory down: 454 and the server marked down, exit 1', async () => {
    const closed = `ldap://127.0.0.1:${await freePort()}`
    const out = cli(['test', 'alice', '--config', configDir(closed), '--json'], `${ALICE_PASSWORD}\n`)
    assert.equal(out.code, 1, out.stderr)
    noSecrets(out, ALICE_PASSWORD)
    const r = JSON.parse(out.stdout)
    assert.equal(r.decision.outcome, 'DIRECTORY_DOWN')
    assert.equal(r.reply.code, 454)
    assert.equal(r.server, null)
    assert.deepEqual(r.servers, [{ url: closed, up: false }])
  })

  test('usage and configuration errors exit 2; a password is never an argument', () => {
    const dir = configDir(slapd.url)
    assert.equal(cli(['test', '--config', dir]).code, 2)
    const asArg = cli(['test', 'alice', '--password', ALICE_PASSWORD, '--config', dir])
    assert.equal(asArg.code, 2)
    assert.match(asArg.stderr, /never an argument/)
    assert.equal(cli(['test', 'alice', '--config', dir], '\n').code, 2, 'empty password')
    const bad = configDir(slapd.url, { 'ldap_auth.ini': '[main]\nmax_failures=lots\n' })
    const invalid = cli(['test', 'alice', '--config', bad, '--json'], `${ALICE_PASSWORD}\n`)
    assert.equal(invalid.code, 2)
    assert.match(JSON.parse(invalid.stdout).error, /ldap_auth\.ini is invalid: \[main\] max_failures/)
    assert.equal(cli(['frobnicate']).code, 2)
    assert.equal(cli([]).code, 2)
  })
})

describe('haraka-ldap sender', () => {
  const relay = `[main]\nsubaddress_separator=+\n[send_as]\nteam@example.com=${GROUP}\n`

  test('a listed address: which attribute, exit 0', () => {
    const dir = configDir(slapd.url, { 'auth_relay.ini': relay })
    const out = cli(['sender', 'alice', 'a.liddell@example.com', '--config', dir, '--json'])
    assert.equal(out.code, 0, out.stderr)
    noSecrets(out, ALICE_PASSWORD)
    const r = JSON.parse(out.stdout)
    assert.equal(r.entry, 'uid=alice,ou=people,dc=example,dc=com')
    assert.deepEqual(r.addresses, [
      { attribute: 'mail', address: 'alice@example.com' },
      { attribute: 'mail', address: 'a.liddell@example.com' },
    ])
    assert.deepEqual(r.ownership, { owned: true, via: 'listed', attribute: 'mail' })
    assert.deepEqual(r.mail_from, { verdict: 'pass', reason: 'owned', enforced: true })
    assert.deepEqual(r.headers, { verdict: 'pass', header_alignment: 'refuse' })
  })

  test('a sub-address and a send-as group', () => {
    const dir = configDir(slapd.url, { 'auth_relay.ini': relay })
    const sub = JSON.parse(
      cli(['sender', 'alice', 'alice+news@example.com', '--config', dir, '--json']).stdout,
    )
    assert.deepEqual(sub.ownership, { owned: true, via: 'subaddress', attribute: 'mail' })
    assert.equal(sub.mail_from.reason, 'subaddress')
    const shared = cli(['sender', 'bob', 'team@example.com', '--config', dir])
    assert.equal(shared.code, 0)
    assert.match(shared.stdout, new RegExp(`team@example.com: send_as \\(member of ${GROUP}\\)`))
    assert.equal(cli(['sender', 'carol', 'team@example.com', '--config', dir]).code, 1, 'carol is not in it')
  })

  test("another login's address: refused with the reply MAIL FROM would get, exit 1", () => {
    const dir = configDir(slapd.url, { 'auth_relay.ini': relay })
    const out = cli(['sender', 'alice', 'bob@example.com', '--config', dir, '--json'])
    assert.equal(out.code, 1)
    const r = JSON.parse(out.stdout)
    assert.deepEqual(r.ownership, { owned: false })
    assert.equal(r.mail_from.verdict, 'fail')
    assert.equal(r.mail_from.reason, 'not_owned')
    assert.match(r.mail_from.reply, /^553 5\.7\.1 /)
    assert.equal(r.headers.verdict, 'fail')
    assert.match(r.headers.reply, /^5\d\d 5\.7\.1 /)
    const nul = JSON.parse(cli(['sender', 'alice', '<>', '--config', dir, '--json']).stdout)
    assert.equal(nul.mail_from.reason, 'null_sender')
  })

  test('the directory down: 451 as auth_relay answers it, exit 1', async () => {
    const closed = `ldap://127.0.0.1:${await freePort()}`
    const out = cli(['sender', 'alice', 'alice@example.com', '--config', configDir(closed), '--json'])
    assert.equal(out.code, 1, out.stderr)
    noSecrets(out, ALICE_PASSWORD)
    const r = JSON.parse(out.stdout)
    assert.equal(r.mail_from.reason, 'directory_unavailable')
    assert.match(r.mail_from.reply, /^451 4\.4\.3 /)
  })

  test('usage errors exit 2', () => {
    assert.equal(cli(['sender', 'alice', '--config', configDir(slapd.url)]).code, 2)
  })
})
