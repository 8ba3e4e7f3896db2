// auth_relay's hooks on haraka-test-fixtures connections with a fake directory:
// the return code, the DSN and the results each decision records. (The same
// hooks on real Haraka and slapd: test/e2e/relay*.test.ts.)
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { Address } from '@haraka/email-address'
import constants from 'haraka-constants'
import type { Connection } from 'haraka'
import { GrantFile } from '../../lib/relay/grants'
import * as hooks from '../../plugins/auth_relay/hooks'
import type { AuthRelay } from '../../plugins/auth_relay/state'
import { type FakeEntry } from '../harness/fake_directory'
import { fakeRelayPlugin } from '../harness/relay_plugin'

const fixtures = require('haraka-test-fixtures') as { connection: { createConnection(): any } }

const person = (uid: string, mail: string[]): FakeEntry => ({
  dn: `uid=${uid},ou=people,dc=example,dc=com`,
  attributes: { objectClass: ['inetOrgPerson'], uid: [uid], mail },
})
const ENTRIES: FakeEntry[] = [
  person('alice', ['alice@example.com', 'a.liddell@example.com']),
  person('john', ['john@example.com']),
  person('john.smith', ['john.smith@example.com']),
  {
    dn: 'cn=sales,ou=groups,dc=example,dc=com',
    attributes: { objectClass: ['groupOfNames'], member: ['uid=alice,ou=people,dc=example,dc=com'] },
  },
]

function makePlugin(main: Record<string, string> = {}, extra: Record<string, Record<string, string>> = {}) {
  const { plugin, state, logs } = fakeRelayPlugin({ main, ...extra }, ENTRIES)
  return { plugin, state, logs }
}

function makeConnection(
  opts: { login?: string; ip?: string; port?: number } = {},
): Connection & Record<string, any> {
  const c = fixtures.connection.createConnection()
  c.remote.ip = opts.ip ?? '192.0.2.9'
  c.local.ip = '127.0.0.1'
  c.local.port = opts.port ?? 25
  if (opts.login) c.notes.auth_user = opts.login
  c.init_transaction()
  return c
}

type Call = { code: number | undefined; msg: any }

function call(
  fn: (...args: any[]) => void,
  plugin: AuthRelay,
  connection: Connection,
  params?: unknown[],
): Promise<Call> {
  return new Promise((resolve) => {
    fn.call(plugin, (code?: number, msg?: unknown) => resolve({ code, msg }), connection, params)
  })
}

const results = (c: Connection) => c.results.get('auth_relay') ?? {}
const env = (text: string) => new Address(text) as never

describe('hook wiring', () => {
  test('every registered method is an exported function', () => {
    for (const method of Object.values(hooks.HOOKS))
      assert.equal(typeof (hooks as Record<string, unknown>)[method], 'function', method)
  })
})

describe('relay_gate', () => {
  test('a trick: DENY with its DSN, fail rcpt(<trick>)', async () => {
    const { plugin } = makePlugin()
    const c = makeConnection()
    const r = await call(hooks.relay_gate, plugin, c, [env('<u%remote.example@example.com>')])
    assert.equal(r.code, constants.deny)
    assert.equal(r.msg.code, 550)
    assert.match(String(r.msg.reply), /^5\.7\.1 Relaying denied: percent hack$/)
    assert.deepEqual(results(c).fail, ['rcpt(percent_hack)'])
  })
  test('local domain OK; remote refused without AUTH; authenticated and trusted relay', async () => {
    const { plugin } = makePlugin({ trusted_networks: '198.51.100.0/24' })
    const c = makeConnection()
    assert.equal((await call(hooks.relay_gate, plugin, c, [env('<alice@example.com>')])).code, constants.ok)
    assert.equal((await call(hooks.relay_gate, plugin, c, [env('<x@remote.example>')])).code, constants.deny)
    assert.deepEqual(results(c).pass, ['rcpt(local_domain)'])
    assert.deepEqual(results(c).fail, ['rcpt(relay_denied)'])
    const a = makeConnection({ login: 'alice@example.com' })
    assert.equal((await call(hooks.relay_gate, plugin, a, [env('<x@remote.example>')])).code, constants.ok)
    assert.deepEqual(results(a).pass, ['rcpt(authenticated)'])
    const t = makeConnection({ ip: '198.51.100.7' })
    assert.equal((await call(hooks.relay_gate, plugin, t, [env('<x@remote.example>')])).code, constants.ok)
    assert.deepEqual(results(t).pass, ['rcpt(trusted_network)'])
    assert.equal(t.relaying, true)
  })
  test('verify_recipients: found, unknown (550 5.1.1), postmaster, directory down (451 4.4.3)', async () => {
    const { plugin, state } = makePlugin({ verify_recipients: 'true' })
    const c = makeConnection()
    assert.equal((await call(hooks.relay_gate, plugin, c, [env('<alice@example.com>')])).code, constants.ok)
    const unknown = await call(hooks.relay_gate, plugin, c, [env('<nobody@example.com>')])
    assert.equal(unknown.code, constants.deny)
    assert.equal(unknown.msg.code, 550)
    assert.match(String(unknown.msg.reply), /^5\.1\.1 /)
    const searches = state.searches
    assert.equal(
      (await call(hooks.relay_gate, plugin, c, [env('<PostMaster@example.com>')])).code,
      constants.ok,
    )
    assert.equal(state.searches, searches, 'postmaster is not looked up')
    state.down = true
    const down = await call(hooks.relay_gate, plugin, c, [env('<alice@example.com>')])
    assert.equal(down.code, constants.denysoft)
    assert.equal(down.msg.code, 451)
    assert.deepEqual(results(c).pass, ['rcpt(local_user)', 'rcpt(local_domain)'])
    assert.deepEqual(results(c).fail, ['rcpt(unknown_user)'])
    assert.deepEqual(results(c).err, ['rcpt(directory_unavailable)'])
  })
})

describe('load_host_list', () => {
  test('an internationalised host_list entry matches the A-label Haraka hands the rcpt hook', async () => {
    const { plugin } = makePlugin()
    const withConfig = Object.assign(plugin, {
      config: { get: () => ['example.com', 'B\u00fccher.Example'] },
    })
    hooks.load_host_list.call(withConfig)
    const c = makeConnection()
    assert.equal(
      (await call(hooks.relay_gate, plugin, c, [env('<u@b\u00fccher.example>')])).code,
      constants.ok,
    )
    assert.equal(
      (await call(hooks.relay_gate, plugin, c, [env('<u@xn--bcher-kva.example>')])).code,
      constants.ok,
    )
    assert.deepEqual(results(c).pass, ['rcpt(local_domain)', 'rcpt(local_domain)'])
  })
})

describe('relay_gate with POP/IMAP-before-SMTP', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'relay-hooks-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('the grant is looked up again in each transaction: a removed grant stops at the next one', async () => {
    const file = path.join(dir, 'grants')
    const { plugin } = makePlugin({ pop_before_smtp_file: file })
    plugin.grantFile = new GrantFile(file)
    writeFileSync(file, `192.0.2.9 ${Math.floor(Date.now() / 1000)}\n`)
    const c = makeConnection()
    assert.equal((await call(hooks.relay_gate, plugin, c, [env('<x@remote.example>')])).code, constants.ok)
    // within the transaction the answer is kept: the file is not read again
    writeFileSync(file, '# no grants any more\n')
    assert.equal((await call(hooks.relay_gate, plugin, c, [env('<y@remote.example>')])).code, constants.ok)
    // RSET / next MAIL: a new transaction checks again
    c.init_transaction()
    const r = await call(hooks.relay_gate, plugin, c, [env('<x@remote.example>')])
    assert.equal(r.code, constants.deny)
    assert.equal(r.msg.code, 550)
    assert.deepEqual(results(c).pass, ['rcpt(pop_before_smtp)', 'rcpt(pop_before_smtp)'])
    assert.deepEqual(results(c).fail, ['rcpt(relay_denied)'])
  })
})

describe('sender_gate', () => {
  test('owned, send-as and not owned, with results; the entry is read once per session', async () => {
    const { plugin, state } = makePlugin(
      {},
      { send_as: { 'sales@example.com': 'cn=sales,ou=groups,dc=example,dc=com' } },
    )
    const c = makeConnection({ login: 'alice@example.com' })
    assert.equal(
      (await call(hooks.sender_gate, plugin, c, [env('<A.Liddell@example.com>'), {}])).code,
      undefined,
    )
    assert.equal((await call(hooks.sender_gate, plugin, c, [env('<sales@example.com>'), {}])).code, undefined)
    const spoof = await call(hooks.sender_gate, plugin, c, [env('<bob@example.com>'), {}])
    assert.equal(spoof.code, constants.deny)
    assert.equal(spoof.msg.code, 553)
    assert.deepEqual(results(c).pass, ['sender(owned)', 'sender(send_as)'])
    assert.deepEqual(results(c).fail, ['sender(not_owned)'])
    assert.equal(state.searches, 1)
  })
  test('observe mode records but lets through; null sender refused by default', async () => {
    const { plugin } = makePlugin({ enforce_sender: 'false' })
    const c = makeConnection({ login: 'alice@example.com' })
    assert.equal((await call(hooks.sender_gate, plugin, c, [env('<bob@example.com>'), {}])).code, undefined)
    assert.deepEqual(results(c).fail, ['sender(not_owned)'])
    const strict = makePlugin().plugin
    const n = makeConnection({ login: 'alice@example.com' })
    assert.equal((await call(hooks.sender_gate, strict, n, [env('<>'), {}])).code, constants.deny)
    assert.deepEqual(results(n).fail, ['sender(null_sender)'])
  })
  test('AUTH= parameter: believed for an owned address, ignored otherwise; noted on the transaction', async () => {
    const { plugin } = makePlugin()
    const a = makeConnection({ login: 'alice@example.com' })
    await call(hooks.sender_gate, plugin, a, [
      env('<alice@example.com>'),
      { AUTH: '<a.liddell@example.com>' },
    ])
    assert.equal(a.transaction!.notes.auth_relay_mail_auth, '<a.liddell@example.com>')
    assert.deepEqual(results(a).pass, ['sender(owned)', 'mail_auth(authenticated)'])
    const u = makeConnection()
    assert.equal(
      (await call(hooks.sender_gate, plugin, u, [env('<x@remote.example>'), { AUTH: '<alice@example.com>' }]))
        .code,
      undefined,
    )
    assert.equal(u.transaction!.notes.auth_relay_mail_auth, '<>')
    assert.deepEqual(results(u).skip, ['mail_auth(unauthenticated)'])
  })
  test('inbound_local_sender: refuse gives 550 5.7.1; observe records only; remote senders untouched', async () => {
    const refuse = makePlugin({ inbound_local_sender: 'refuse' }).plugin
    const c = makeConnection()
    const r = await call(hooks.sender_gate, refuse, c, [env('<alice@example.com>'), {}])
    assert.equal(r.code, constants.deny)
    assert.equal(r.msg.code, 550)
    assert.deepEqual(results(c).fail, ['mail(local_sender_unauthenticated)'])
    assert.equal((await call(hooks.sender_gate, refuse, c, [env('<x@remote.example>'), {}])).code, undefined)
    const observe = makePlugin({ inbound_local_sender: 'observe' }).plugin
    const o = makeConnection()
    assert.equal(
      (await call(hooks.sender_gate, observe, o, [env('<alice@example.com>'), {}])).code,
      undefined,
    )
    assert.deepEqual(results(o).fail, ['mail(local_sender_unauthenticated)'])
  })
  test('subaddress_separator=.: another entry\u2019s address is not a sub-address (553); the lookup failing is 451 4.4.3', async () => {
    const { plugin, state } = makePlugin({ subaddress_separator: '.' })
    const c = makeConnection({ login: 'john@example.com' })
    assert.equal(
      (await call(hooks.sender_gate, plugin, c, [env('<john.lists@example.com>'), {}])).code,
      undefined,
    )
    const r = await call(hooks.sender_gate, plugin, c, [env('<John.Smith@example.com>'), {}])
    assert.equal(r.code, constants.deny)
    assert.equal(r.msg.code, 553)
    assert.deepEqual(results(c).pass, ['sender(subaddress)'])
    assert.deepEqual(results(c).fail, ['sender(not_owned)'])
    state.down = true
    // the login's entry is cached for the session; the new address still needs the directory
    const down = await call(hooks.sender_gate, plugin, c, [env('<john.other@example.com>'), {}])
    assert.equal(down.code, constants.denysoft)
    assert.equal(down.msg.code, 451)
    assert.deepEqual(results(c).err, ['sender(directory_unavailable)'])
  })
  test('directory down: 451 4.4.3 and err sender(directory_unavailable)', async () => {
    const { plugin, state } = makePlugin()
    state.down = true
    const c = makeConnection({ login: 'alice@example.com' })
    const r = await call(hooks.sender_gate, plugin, c, [env('<alice@example.com>'), {}])
    assert.equal(r.code, constants.denysoft)
    assert.equal(r.msg.code, 451)
    assert.deepEqual(results(c).err, ['sender(directory_unavailable)'])
  })
})

describe('header_gate', () => {
  const withHeaders = (c: any, fields: string[]) => {
    c.transaction.header.parse(fields)
    return c
  }
  test('aligned passes; a foreign From is 550 5.7.1 with fail header(from_not_owned)', async () => {
    const { plugin } = makePlugin()
    const ok = withHeaders(makeConnection({ login: 'alice@example.com' }), [
      'From: Alice <alice@example.com>\n',
    ])
    assert.equal((await call(hooks.header_gate, plugin, ok)).code, undefined)
    assert.deepEqual(results(ok).pass, ['header(aligned)'])
    const bad = withHeaders(makeConnection({ login: 'alice@example.com' }), ['From: bob@example.com\n'])
    const r = await call(hooks.header_gate, plugin, bad)
    assert.equal(r.code, constants.deny)
    assert.equal(r.msg.code, 550)
    assert.match(String(r.msg.reply), /^5\.7\.1 From header address not owned/)
    assert.deepEqual(results(bad).fail, ['header(from_not_owned)'])
  })
  test("add_sender replaces the client Sender with the login's primary address", async () => {
    const { plugin } = makePlugin({ header_alignment: 'add_sender' })
    const c = withHeaders(makeConnection({ login: 'alice@example.com' }), [
      'From: bob@example.com\n',
      'Sender: bob@example.com\n',
    ])
    assert.equal((await call(hooks.header_gate, plugin, c)).code, undefined)
    assert.deepEqual(c.transaction.header.get_all('sender'), ['alice@example.com'])
    assert.deepEqual(results(c).fail, ['header(from_not_owned)'])
    assert.deepEqual(results(c).pass, ['header(sender_added)'])
  })
  test('a malformed field name is 550 5.7.1 with fail header(malformed_field_name), also with add_sender (a Sender cannot fix it)', async () => {
    for (const mode of ['refuse', 'add_sender']) {
      const { plugin } = makePlugin({ header_alignment: mode })
      const c = withHeaders(makeConnection({ login: 'alice@example.com' }), [
        'From: alice@example.com\n',
        'From\x00: bob@example.com\n',
      ])
      const r = await call(hooks.header_gate, plugin, c)
      assert.equal(r.code, constants.deny, mode)
      assert.equal(r.msg.code, 550)
      assert.match(String(r.msg.reply), /^5\.7\.1 Malformed header field name/)
      assert.deepEqual(results(c).fail, ['header(malformed_field_name)'])
      assert.deepEqual(results(c).pass, [])
      assert.deepEqual(c.transaction.header.get_all('sender'), [])
    }
  })
  test('a malformed field name is refused before any directory lookup: 550 even while the directory is down', async () => {
    const { plugin, state } = makePlugin()
    state.down = true
    const c = withHeaders(makeConnection({ login: 'alice@example.com' }), [
      'From: alice@example.com\n',
      'From\x00: bob@example.com\n',
    ])
    const r = await call(hooks.header_gate, plugin, c)
    assert.equal(r.code, constants.deny)
    assert.equal(r.msg.code, 550)
    assert.equal(state.searches, 0)
    assert.deepEqual(results(c).fail, ['header(malformed_field_name)'])
  })
  test('unauthenticated or header_alignment=off: not checked', async () => {
    const { plugin } = makePlugin()
    const c = withHeaders(makeConnection(), ['From: bob@example.com\n'])
    assert.equal((await call(hooks.header_gate, plugin, c)).code, undefined)
    assert.equal(c.results.get('auth_relay'), undefined)
    const off = makePlugin({ header_alignment: 'off' }).plugin
    const o = withHeaders(makeConnection({ login: 'alice@example.com' }), ['From: bob@example.com\n'])
    assert.equal((await call(hooks.header_gate, off, o)).code, undefined)
    assert.equal(o.results.get('auth_relay'), undefined)
  })
})

// Issue 10 items 2 and 5: the From/Sender fields are bounded before the
// (super-linear) address parser sees them, and the sub-address checks cost at
// most a bounded number of directory searches, none after the hook answered.
describe('header_gate bounds', () => {
  const withHeaders = (c: any, fields: string[]) => {
    c.transaction.header.parse(fields)
    return c
  }
  /** A From: of `n` distinct sub-addresses of alice, folded one per line. */
  const subaddressFrom = (n: number, first = 1) =>
    `From: ${Array.from({ length: n }, (_, i) => `alice+${first + i}@example.com`).join(',\r\n ')}\n`
  /** A long display name of short words (the parser's slow case) before alice's own address, folded. */
  const longDisplayName = (bytes: number) =>
    `From: ${'a '.repeat(bytes / 2).replace(/(.{900})/g, '$1\r\n ')}<alice@example.com>\n`
  /** The connection's log lines (hooks log through connection.logX). */
  const logsOf = (c: any) => {
    const lines: string[] = []
    for (const level of ['loginfo', 'lognotice', 'logwarn', 'logerror'])
      c[level] = (_plugin: unknown, msg: string) => void lines.push(msg)
    return lines
  }
  const flush = async () => {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
  }

  test('a From: over identity_header_max_bytes (default 8192) is refused unparsed: 550 5.7.1, fail header(too_large)', async () => {
    const { plugin, state } = makePlugin()
    const c = withHeaders(makeConnection({ login: 'alice@example.com' }), [longDisplayName(20_000)])
    const logs = logsOf(c)
    const r = await call(hooks.header_gate, plugin, c)
    assert.equal(r.code, constants.deny)
    assert.equal(r.msg.code, 550)
    assert.match(String(r.msg.reply), /^5\.7\.1 From or Sender header too large$/)
    assert.deepEqual(results(c).fail, ['header(too_large)'])
    assert.equal(state.searches, 0)
    assert.ok(
      logs.some((l) =>
        /message refused for "alice@example\.com": too large: From\/Sender fields are \d+ bytes \(1 field\(s\)\), over the limit of 8192/.test(
          l,
        ),
      ),
      logs.join('\n'),
    )
  })
  test('several From/Sender fields count together; a display name under the limit is judged as before', async () => {
    const { plugin } = makePlugin()
    const many = withHeaders(makeConnection({ login: 'alice@example.com' }), [
      longDisplayName(5000),
      longDisplayName(5000),
    ])
    const r = await call(hooks.header_gate, plugin, many)
    assert.equal(r.code, constants.deny)
    assert.deepEqual(results(many).fail, ['header(too_large)'])
    const ok = withHeaders(makeConnection({ login: 'alice@example.com' }), [longDisplayName(7000)])
    assert.equal((await call(hooks.header_gate, plugin, ok)).code, undefined)
    assert.deepEqual(results(ok).pass, ['header(aligned)'])
  })
  test('more From/Sender addresses than identity_header_max_addresses: 550 5.7.1 header(too_many_addresses), no search', async () => {
    const { plugin, state } = makePlugin({ subaddress_separator: '+', identity_header_max_addresses: '10' })
    const c = withHeaders(makeConnection({ login: 'alice@example.com' }), [
      subaddressFrom(10),
      'Sender: alice@example.com\n',
    ])
    const r = await call(hooks.header_gate, plugin, c)
    assert.equal(r.code, constants.deny)
    assert.match(String(r.msg.reply), /^5\.7\.1 Too many From or Sender addresses$/)
    assert.deepEqual(results(c).fail, ['header(too_many_addresses)'])
    assert.equal(state.searches, 0)
  })
  test('enforce_sender=false: over a bound is recorded and logged, the message passes unparsed and unsearched', async () => {
    const { plugin, state } = makePlugin({ enforce_sender: 'false' })
    const c = withHeaders(makeConnection({ login: 'alice@example.com' }), [longDisplayName(20_000)])
    const logs = logsOf(c)
    assert.equal((await call(hooks.header_gate, plugin, c)).code, undefined)
    assert.deepEqual(results(c).fail, ['header(too_large)'])
    assert.equal(state.searches, 0)
    assert.ok(logs.some((l) => l.startsWith('message would be refused (enforce_sender=false)')))
  })
  test('3000 distinct sub-addresses in From: (was about 6000 searches) cost no search at all', async () => {
    const { plugin, state } = makePlugin({ subaddress_separator: '+' })
    const c = withHeaders(makeConnection({ login: 'alice@example.com' }), [subaddressFrom(3000)])
    const r = await call(hooks.header_gate, plugin, c)
    assert.equal(r.code, constants.deny)
    assert.equal(r.msg.code, 550)
    assert.ok(state.searches <= 1, `${state.searches} searches`)
  })
  test('at the limits, 100 sub-addresses cost at most 1 + 2 x 100 searches', async () => {
    const { plugin, state } = makePlugin({ subaddress_separator: '+' })
    const c = withHeaders(makeConnection({ login: 'alice@example.com' }), [
      subaddressFrom(99),
      'Sender: alice@example.com\n',
    ])
    assert.equal((await call(hooks.header_gate, plugin, c)).code, undefined)
    assert.deepEqual(results(c).pass, ['header(aligned)'])
    assert.ok(state.searches <= 1 + 2 * 100, `${state.searches} searches`)
  })
  test('the checks stop at the first address the login does not own', async () => {
    const { plugin, state } = makePlugin({ subaddress_separator: '+' })
    const from = `From: alice+1@example.com, bob@example.com, ${Array.from({ length: 50 }, (_, i) => `alice+${i + 2}@example.com`).join(', ')}\n`
    const c = withHeaders(makeConnection({ login: 'alice@example.com' }), [
      from,
      'Sender: alice@example.com\n',
    ])
    const r = await call(hooks.header_gate, plugin, c)
    assert.equal(r.code, constants.deny)
    assert.deepEqual(results(c).fail, ['header(from_not_owned)'])
    // the login's entry, then alice+1@ (as a login and as a recipient); bob@ needs no search
    assert.equal(state.searches, 3)
  })
  test('after the hook answered at its deadline (inside the plugin timeout), no further search runs', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const { plugin, state } = makePlugin({ subaddress_separator: '+' })
    ;(plugin as { timeout: number }).timeout = 4
    let release!: () => void
    state.hold = new Promise((resolve) => (release = resolve))
    const c = withHeaders(makeConnection({ login: 'alice@example.com' }), [subaddressFrom(50)])
    const logs = logsOf(c)
    const got: { answer?: Call } = {}
    void call(hooks.header_gate, plugin, c).then((r) => (got.answer = r))
    await flush()
    assert.equal(state.searches, 1)
    // plugin timeout 4 s less the margin (1 s): the hook answers at 3 s, before Haraka's "plugin timeout"
    t.mock.timers.tick(2999)
    await flush()
    assert.equal(got.answer, undefined)
    t.mock.timers.tick(1)
    await flush()
    const answer = got.answer as Call | undefined
    assert.ok(answer, 'no answer at the deadline')
    assert.equal(answer.code, constants.denysoft)
    assert.equal(answer.msg.code, 451)
    assert.match(String(answer.msg.reply), /^4\.4\.3 /)
    assert.deepEqual(results(c).err, ['header(timeout)'])
    state.hold = undefined
    release()
    await flush()
    assert.equal(state.searches, 1)
    assert.deepEqual(results(c).pass ?? [], [])
    assert.ok(
      logs.some((l) => /no verdict within 3000 ms \(plugin timeout 4 s\): 451/.test(l)),
      logs.join('\n'),
    )
    assert.ok(
      logs.some((l) => /header check for "alice@example\.com" stopped/.test(l)),
      logs.join('\n'),
    )
  })
  test('add_sender: what comes after the deadline answer adds no label and leaves the Sender alone', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const { plugin, state } = makePlugin({ header_alignment: 'add_sender' })
    ;(plugin as { timeout: number }).timeout = 4
    let release!: () => void
    state.hold = new Promise((resolve) => (release = resolve))
    const c = withHeaders(makeConnection({ login: 'alice@example.com' }), [
      'From: bob@example.com\n',
      'Sender: bob@example.com\n',
    ])
    const logs = logsOf(c)
    const got: { answer?: Call } = {}
    void call(hooks.header_gate, plugin, c).then((r) => (got.answer = r))
    await flush()
    assert.equal(state.searches, 1)
    t.mock.timers.tick(3000)
    await flush()
    assert.equal(got.answer?.code, constants.denysoft)
    assert.deepEqual(results(c).err, ['header(timeout)'])
    state.hold = undefined
    release()
    await flush()
    assert.deepEqual(results(c).pass ?? [], [])
    assert.deepEqual(results(c).fail ?? [], [])
    assert.deepEqual(c.transaction.header.get_all('Sender'), ['bob@example.com\n'])
    assert.ok(
      logs.some((l) => /header check for "alice@example\.com" stopped: the hook has answered/.test(l)),
      logs.join('\n'),
    )
  })
  test('a client that disconnects stops the checks', async () => {
    const { plugin, state } = makePlugin({ subaddress_separator: '+' })
    let release!: () => void
    state.hold = new Promise((resolve) => (release = resolve))
    const c = withHeaders(makeConnection({ login: 'alice@example.com' }), [subaddressFrom(50)])
    const logs = logsOf(c)
    void call(hooks.header_gate, plugin, c)
    await flush()
    assert.equal(state.searches, 1)
    c.state = constants.connection.state.DISCONNECTING
    state.hold = undefined
    release()
    await flush()
    assert.equal(state.searches, 1)
    assert.deepEqual(results(c).pass ?? [], [])
    assert.ok(
      logs.some((l) => /header check for "alice@example\.com" stopped: the client disconnected/.test(l)),
      logs.join('\n'),
    )
  })
})
