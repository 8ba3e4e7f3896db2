// auth_relay's containment on haraka-test-fixtures connections: a suspended or
// deferred login at MAIL, each budget crossed at RCPT with its reply and label,
// observe mode, a store that fails (451 4.3.0), bounces counted, other logins
// and unauthenticated sessions untouched. (On real Haraka: test/e2e/containment.test.ts.)
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Address } from '@haraka/email-address'
import constants from 'haraka-constants'
import type { Connection } from 'haraka'
import { suspendOps } from '../../lib/containment/suspension'
import { MemoryStateStore } from '../../lib/state/memory'
import type { StateStore } from '../../lib/state/store'
import * as hooks from '../../plugins/auth_relay/hooks'
import type { AuthRelay } from '../../plugins/auth_relay/state'
import { type FakeEntry } from '../harness/fake_directory'
import { fakeRelayPlugin } from '../harness/relay_plugin'

const fixtures = require('haraka-test-fixtures') as { connection: { createConnection(): any } }

const person = (uid: string, mail: string): FakeEntry => ({
  dn: `uid=${uid},ou=people,dc=example,dc=com`,
  attributes: { objectClass: ['inetOrgPerson'], uid: [uid], mail: [mail] },
})
const ENTRIES = [person('alice', 'alice@example.com'), person('bob', 'bob@example.com')]
const ALL_OFF = {
  contain_messages_per_minute: '0',
  contain_messages_per_day: '0',
  contain_recipients_per_day: '0',
  contain_external_recipients_per_day: '0',
  contain_external_domains_per_day: '0',
  contain_refused_recipients_per_day: '0',
}

function setup(main: Record<string, string> = {}, store: StateStore = new MemoryStateStore()) {
  const server = { notes: { ldap_submission_state: store } as Record<string, unknown> }
  const { plugin, state, logs } = fakeRelayPlugin({ main: { ...ALL_OFF, ...main } }, ENTRIES, {
    harakaServer: server,
  })
  const connect = (login?: string): Connection & Record<string, any> => {
    const c = fixtures.connection.createConnection()
    c.server = server
    c.remote.ip = '192.0.2.9'
    c.local.ip = '127.0.0.1'
    c.local.port = 587
    const logLine = (_p: unknown, msg: string) => void logs.push(msg)
    for (const l of ['loginfo', 'lognotice', 'logwarn', 'logerror']) c[l] = logLine
    if (login) c.notes.auth_user = login
    c.init_transaction()
    return c
  }
  return { plugin, connect, logs, state, store, server }
}

type Call = { code: number | undefined; msg: any }
function call(fn: (...a: any[]) => void, plugin: AuthRelay, c: unknown, params?: unknown): Promise<Call> {
  return new Promise((resolve) =>
    fn.call(plugin, (code?: number, msg?: unknown) => resolve({ code, msg }), c, params),
  )
}
const env = (text: string) => new Address(text) as never
const mail = (p: AuthRelay, c: Connection, from = '<alice@example.com>') =>
  call(hooks.sender_gate, p, c, [env(from), {}])
const rcpt = (p: AuthRelay, c: Connection, to: string) => call(hooks.relay_gate, p, c, [env(to)])
const results = (c: Connection) => c.results.get('auth_relay') ?? {}

function expect(r: Call, code: number, reply: RegExp) {
  assert.equal(r.code, code >= 500 ? constants.deny : constants.denysoft)
  assert.equal(r.msg.code, code)
  assert.match(String(r.msg.reply), reply)
}

describe('MAIL FROM', () => {
  test('a suspended login: 550 5.7.1 with the rule, before any directory search; others untouched', async () => {
    const { plugin, connect, store, state, logs } = setup()
    await store.run(
      suspendOps({ login: 'alice@example.com', since: 1, rule: 'operator', reason: 'phished' }),
      Date.now(),
    )
    const c = connect('Alice@Example.com')
    const before = state.searches
    expect(
      await mail(plugin, c),
      550,
      /^5\.7\.1 Sending suspended for this login \(operator\), contact your administrator$/,
    )
    assert.equal(state.searches, before)
    assert.deepEqual(results(c).fail, ['contain(suspended)'])
    assert.ok(
      logs.some((l) =>
        /MAIL refused for "Alice@Example.com": suspended since 1970-01-01T00:00:00.001Z by operator: phished/.test(
          l,
        ),
      ),
      logs.join('\n'),
    )
    const b = connect('bob@example.com')
    assert.equal((await mail(plugin, b, '<bob@example.com>')).code, undefined)
  })
  test('observe mode: recorded, not refused', async () => {
    const { plugin, connect, store } = setup({ containment: 'observe' })
    await store.run(
      suspendOps({ login: 'alice@example.com', since: 1, rule: 'operator', reason: 'x' }),
      Date.now(),
    )
    const c = connect('alice@example.com')
    assert.equal((await mail(plugin, c)).code, undefined)
    assert.deepEqual(results(c).fail, ['contain(suspended)'])
  })
  test('off: the store is not even asked', async () => {
    const failing: StateStore = {
      kind: 'redis',
      run: async () => assert.fail('asked'),
      close: async () => {},
    }
    const { plugin, connect } = setup({ containment: 'off' }, failing)
    assert.equal((await mail(plugin, connect('alice@example.com'))).code, undefined)
  })
})

describe('budgets at RCPT', () => {
  test('messages_per_minute: the second message gets 451 4.7.1, then MAIL is deferred', async () => {
    const { plugin, connect } = setup({ contain_messages_per_minute: '1' })
    const c = connect('alice@example.com')
    assert.equal((await mail(plugin, c)).code, undefined)
    assert.equal((await rcpt(plugin, c, '<x@remote.example>')).code, constants.ok)
    assert.equal((await rcpt(plugin, c, '<y@remote.example>')).code, constants.ok, 'the same message')
    c.init_transaction()
    expect(
      await rcpt(plugin, c, '<x@remote.example>'),
      451,
      /^4\.7\.1 Sending limit reached \(messages_per_minute\), try again later$/,
    )
    // the rest of that transaction gets the same answer without counting
    expect(await rcpt(plugin, c, '<z@remote.example>'), 451, /^4\.7\.1 /)
    assert.deepEqual(results(c).fail, ['contain(messages_per_minute)', 'contain(messages_per_minute)'])
    c.init_transaction()
    expect(await mail(plugin, c), 451, /^4\.7\.1 Sending limit reached \(messages_per_minute\)/)
    assert.ok(results(c).fail.includes('contain(deferred)'))
    // bob is untouched
    const b = connect('bob@example.com')
    assert.equal((await mail(plugin, b, '<bob@example.com>')).code, undefined)
    assert.equal((await rcpt(plugin, b, '<x@remote.example>')).code, constants.ok)
  })
  test('each daily budget crosses with its own label', async () => {
    const cases: Array<[string, (p: AuthRelay, c: Connection & Record<string, any>) => Promise<Call>]> = [
      [
        'messages_per_day',
        async (p, c) => {
          await rcpt(p, c, '<a@example.com>')
          c.init_transaction()
          return rcpt(p, c, '<a@example.com>')
        },
      ],
      [
        'recipients_per_day',
        async (p, c) => {
          await rcpt(p, c, '<a@example.com>')
          return rcpt(p, c, '<bob@example.com>')
        },
      ],
      [
        'external_recipients_per_day',
        async (p, c) => {
          await rcpt(p, c, '<a@remote.example>')
          await rcpt(p, c, '<bob@example.com>')
          await rcpt(p, c, '<A@remote.example>')
          return rcpt(p, c, '<b@remote.example>')
        },
      ],
      [
        'external_domains_per_day',
        async (p, c) => {
          await rcpt(p, c, '<a@one.example>')
          await rcpt(p, c, '<b@one.example>')
          return rcpt(p, c, '<a@two.example>')
        },
      ],
    ]
    for (const [budget, drive] of cases) {
      const { plugin, connect, logs } = setup({ [`contain_${budget}`]: '1' })
      const c = connect('alice@example.com')
      const r = await drive(plugin, c)
      expect(r, 451, new RegExp(`^4\\.7\\.1 Sending limit reached \\(${budget}\\)`))
      assert.deepEqual(results(c).fail, [`contain(${budget})`], budget)
      assert.ok(
        logs.some(
          (l) =>
            l.includes(`"alice@example.com" deferred: ${budget}: 2 `) &&
            l.includes('keys login=alice@example.com'),
        ),
        logs.join('\n'),
      )
    }
  })
  test('refused recipients count (a relay trick here), and crossing defers the next MAIL', async () => {
    const { plugin, connect } = setup({ contain_refused_recipients_per_day: '1' })
    const c = connect('alice@example.com')
    assert.equal((await rcpt(plugin, c, '<u%remote.example@example.com>')).code, constants.deny)
    const second = await rcpt(plugin, c, '<v%remote.example@example.com>')
    expect(second, 550, /^5\.7\.1 Relaying denied: percent hack$/)
    assert.deepEqual(results(c).fail, [
      'rcpt(percent_hack)',
      'contain(refused_recipients_per_day)',
      'rcpt(percent_hack)',
    ])
    c.init_transaction()
    expect(await mail(plugin, c), 451, /^4\.7\.1 Sending limit reached \(refused_recipients_per_day\)/)
  })
  test('contain_suspend_on: 550 5.7.1 at once, and every MAIL after', async () => {
    const { plugin, connect } = setup({
      contain_external_domains_per_day: '1',
      contain_suspend_on: 'external_domains_per_day',
    })
    const c = connect('alice@example.com')
    await rcpt(plugin, c, '<a@one.example>')
    expect(
      await rcpt(plugin, c, '<a@two.example>'),
      550,
      /^5\.7\.1 Sending suspended for this login \(external_domains_per_day\)/,
    )
    const again = connect('alice@example.com')
    expect(
      await mail(plugin, again),
      550,
      /^5\.7\.1 Sending suspended for this login \(external_domains_per_day\)/,
    )
  })
  test('observe: a crossed budget is recorded and the recipient accepted', async () => {
    const { plugin, connect } = setup({ containment: 'observe', contain_recipients_per_day: '1' })
    const c = connect('alice@example.com')
    await rcpt(plugin, c, '<a@example.com>')
    assert.equal((await rcpt(plugin, c, '<b@example.com>')).code, constants.ok)
    assert.deepEqual(results(c).fail, ['contain(recipients_per_day)'])
    assert.equal(
      (await mail(plugin, connect('alice@example.com'))).code,
      undefined,
      'nothing was recorded as a deferral',
    )
  })
  test('unauthenticated sessions are not counted', async () => {
    const store = new MemoryStateStore()
    const { plugin, connect } = setup(
      { contain_recipients_per_day: '1', trusted_networks: '192.0.2.0/24' },
      store,
    )
    const c = connect()
    for (let i = 0; i < 3; i++)
      assert.equal((await rcpt(plugin, c, `<r${i}@remote.example>`)).code, constants.ok)
    assert.equal(store.size, 0)
  })
})

describe('the store fails', () => {
  const down: StateStore = {
    kind: 'redis',
    run: async () => {
      throw new Error('redis down (fail closed)')
    },
    close: async () => {},
  }
  test('MAIL and an accepted RCPT: 451 4.3.0, err contain(state_unavailable), logged', async () => {
    const { plugin, connect, logs } = setup({ contain_recipients_per_day: '10' }, down)
    const c = connect('alice@example.com')
    expect(await mail(plugin, c), 451, /^4\.3\.0 Sending limits cannot be checked, try again later$/)
    expect(await rcpt(plugin, c, '<a@remote.example>'), 451, /^4\.3\.0 /)
    assert.deepEqual(results(c).err, ['contain(state_unavailable)', 'contain(state_unavailable)'])
    assert.ok(
      logs.some((l) =>
        l.includes('MAIL: containment check for "alice@example.com": redis down (fail closed): 451'),
      ),
    )
  })
  test('a refused recipient that cannot be counted keeps its own refusal', async () => {
    const { plugin, connect, logs } = setup({ contain_refused_recipients_per_day: '10' }, down)
    const c = connect('alice@example.com')
    expect(await rcpt(plugin, c, '<u%remote.example@example.com>'), 550, /percent hack/)
    assert.ok(logs.some((l) => l.includes('refused recipient of "alice@example.com" not counted')))
  })
  test('a store that never answers: 451 4.3.0 within the deadline', async () => {
    const hung: StateStore = { kind: 'redis', run: () => new Promise(() => {}), close: async () => {} }
    const { plugin, connect } = setup({}, hung)
    ;(plugin as { timeout: number }).timeout = 2 // plugin timeout 2 s: our deadline comes well before
    const started = Date.now()
    expect(await mail(plugin, connect('alice@example.com')), 451, /^4\.3\.0 /)
    assert.ok(Date.now() - started < 2000)
  })
})

describe('a store that answers at once (runNow)', () => {
  test('its batches are answered synchronously, never through run(); one that throws is 451 4.3.0', async () => {
    const memory = new MemoryStateStore()
    let runNow = 0
    let throwNow = false
    const sync: StateStore = {
      kind: 'memory',
      run: async () => assert.fail('run() used although runNow() answers at once'),
      runNow(ops, now) {
        runNow++
        if (throwNow) throw new Error('store bug')
        return memory.runNow(ops, now)
      },
      close: async () => {},
    }
    const { plugin, connect } = setup({ contain_recipients_per_day: '1' }, sync)
    const c = connect('alice@example.com')
    assert.equal((await mail(plugin, c)).code, undefined)
    assert.equal((await rcpt(plugin, c, '<a@remote.example>')).code, constants.ok)
    assert.equal(runNow, 2, 'MAIL gate and RCPT count, one batch each')
    const refused = await rcpt(plugin, c, '<b@remote.example>')
    assert.equal(refused.code, constants.denysoft, 'the second recipient crosses recipients_per_day=1')
    throwNow = true
    expect(await mail(plugin, connect('alice@example.com')), 451, /^4\.3\.0 /)
  })
})

describe('bounce hook', () => {
  test('bounced recipients count for the login that sent them; the bounce always goes on', async () => {
    const { plugin, store, logs } = setup({
      contain_refused_recipients_per_day: '2',
      contain_suspend_on: 'refused_recipients_per_day',
    })
    const hmail = { todo: { notes: { auth_relay_contain_login: 'alice@example.com' }, rcpt_to: [1, 2, 3] } }
    const r1 = await call(hooks.contain_bounce, plugin, hmail, { bounced_rcpt: [1, 2] })
    assert.equal(r1.code, undefined)
    const r2 = await call(hooks.contain_bounce, plugin, hmail, { bounced_rcpt: [1] })
    assert.equal(r2.code, undefined)
    const [s] = await store.run([{ op: 'get', key: 'contain:susp:alice@example.com' }], Date.now())
    assert.match(String(s), /"rule":"refused_recipients_per_day"/)
    assert.ok(
      logs.some((l) =>
        l.startsWith('contain(refused_recipients_per_day) bounce: "alice@example.com" suspended'),
      ),
      logs.join('\n'),
    )
    // a bounce of mail that was not an authenticated login's: nothing counted
    const other = await call(hooks.contain_bounce, plugin, { todo: { notes: {} } }, {})
    assert.equal(other.code, undefined)
  })
})
