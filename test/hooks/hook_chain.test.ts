// A hook's async chain never leaves a rejection unhandled (Node would exit,
// Haraka with it) and calls next() exactly once: haraka/next_once, and
// every auth_relay/auth_stamp hook whose handler or bookkeeping throws.
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { setImmediate as tick } from 'node:timers/promises'
import { Address } from '@haraka/email-address'
import constants from 'haraka-constants'
import type { Connection } from 'haraka'
import { endChain, nextOnce } from '../../haraka/next_once'
import { parseDirectoryConfig, type DirectoryConfig } from '../../lib/ldap/config'
import { DirectoryHandle } from '../../lib/ldap/handle'
import { parseRelayConfig } from '../../lib/relay/config'
import { parseStampConfig } from '../../lib/stamp/config'
import * as relay from '../../plugins/auth_relay/hooks'
import type { AuthRelay } from '../../plugins/auth_relay/state'
import { stamp_message } from '../../plugins/auth_stamp/hooks'
import { fakeDirectory } from '../harness/fake_directory'
import { fakeAuthenticatedSession } from '../harness/fake_session'

const fixtures = require('haraka-test-fixtures') as { connection: { createConnection(): any } }

const unhandled: unknown[] = []
const onUnhandled = (err: unknown) => void unhandled.push(err)
process.on('unhandledRejection', onUnhandled)
after(() => void process.off('unhandledRejection', onUnhandled))

type Call = { code: number | undefined; msg: any }

/** Run a hook; resolves with every next() call once things settle (or after 2 s). */
async function run(
  fn: (...args: any[]) => void,
  plugin: unknown,
  connection: unknown,
  params?: unknown[],
): Promise<Call[]> {
  const calls: Call[] = []
  fn.call(plugin, (code?: number, msg?: unknown) => void calls.push({ code, msg }), connection, params)
  for (let i = 0; i < 200 && calls.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
  await new Promise((r) => setTimeout(r, 50))
  await tick()
  return calls
}

const ALICE = {
  dn: 'uid=alice,ou=people,dc=example,dc=com',
  attributes: { objectClass: ['inetOrgPerson'], uid: ['alice'], mail: ['alice@example.com'] },
}
const directory = (cfg: DirectoryConfig) => fakeDirectory(cfg, [ALICE]).dir

function relayPlugin(main: Record<string, string> = {}): AuthRelay {
  const parsed = parseRelayConfig({ main })
  assert.ok(parsed.ok)
  const dir = parseDirectoryConfig({
    main: { base_dn: 'ou=people,dc=example,dc=com', bind_dn: 'cn=x', bind_password: 'x' },
  })
  assert.ok(dir.ok)
  const plugin = {
    name: 'auth_relay',
    cfg: parsed.cfg,
    dirCfg: dir.cfg,
    directory: new DirectoryHandle(directory),
    recipients: new DirectoryHandle(directory),
    grantFile: undefined,
    localDomains: new Set(['example.com']),
  } as unknown as AuthRelay
  plugin.directory.update(dir.cfg)
  plugin.recipients.update(dir.cfg)
  return plugin
}

/** A connection whose results store throws: a bug in the bookkeeping after (or while) deciding. */
function brokenConnection(login?: string): Connection & Record<string, any> {
  const c = fixtures.connection.createConnection()
  c.remote.ip = '192.0.2.9'
  c.local.ip = '127.0.0.1'
  c.local.port = 25
  if (login) c.notes.auth_user = login
  c.init_transaction()
  c.errors = [] as string[]
  c.logerror = (_p: unknown, msg: string) => void c.errors.push(msg)
  c.results.add = () => {
    throw new Error('results store broken')
  }
  return c
}

function assertTempfail(calls: Call[], c: Record<string, any>) {
  assert.equal(calls.length, 1, 'next() called exactly once')
  assert.equal(calls[0]!.code, constants.denysoft)
  assert.equal(calls[0]!.msg.code, 451)
  assert.equal(calls[0]!.msg.reply, '4.3.0 Local error in processing, try again later')
  assert.match(c.errors.join('\n'), /internal error: Error: results store broken/)
  assert.deepEqual(unhandled, [])
}

describe('nextOnce and endChain', () => {
  test('next is called once; later calls are ignored; called tells', () => {
    const calls: unknown[][] = []
    const once = nextOnce((...a: unknown[]) => void calls.push(a))
    assert.equal(once.called, false)
    once(constants.ok)
    once(constants.deny)
    assert.equal(once.called, true)
    assert.deepEqual(calls, [[constants.ok]])
  })

  test('a handler that throws: logged, next(fallback) once, nothing unhandled', async () => {
    const calls: unknown[][] = []
    const logged: string[] = []
    const once = nextOnce((...a: unknown[]) => void calls.push(a))
    const chain = Promise.resolve('decided').then(() => {
      throw new Error('handler bug')
    })
    endChain(chain, once, (m: string) => logged.push(m), constants.denysoft, 'tempfail')
    await tick()
    await tick()
    assert.deepEqual(calls, [[constants.denysoft, 'tempfail']])
    assert.match(logged[0]!, /^internal error: Error: handler bug/)
    assert.deepEqual(unhandled, [])
  })

  test('a throw after next() was called: logged only; a throwing logger or next is contained', async () => {
    const calls: unknown[][] = []
    const once = nextOnce((...a: unknown[]) => void calls.push(a))
    const chain = Promise.resolve().then(() => {
      once(constants.ok)
      throw new Error('after answering')
    })
    const logged: string[] = []
    endChain(chain, once, (m: string) => logged.push(m), constants.denysoft)
    const broken = nextOnce(() => {
      throw new Error('next broken')
    })
    endChain(Promise.reject(new Error('x')), broken, () => {
      throw new Error('logger broken')
    })
    await new Promise((r) => setTimeout(r, 20))
    assert.deepEqual(calls, [[constants.ok]])
    assert.match(logged[0]!, /after answering/)
    assert.equal(broken.called, true)
    assert.deepEqual(unhandled, [])
  })
})

describe('auth_relay hooks whose handler throws', () => {
  test('sender_gate: 451 4.3.0 (DENYSOFT) once, logged', async () => {
    const c = brokenConnection('alice@example.com')
    assertTempfail(
      await run(relay.sender_gate, relayPlugin(), c, [new Address('<alice@example.com>'), {}]),
      c,
    )
  })

  test('relay_gate, recipient verification: 451 4.3.0 once, logged', async () => {
    const c = brokenConnection()
    assertTempfail(
      await run(relay.relay_gate, relayPlugin({ verify_recipients: 'true' }), c, [
        new Address('<alice@example.com>'),
      ]),
      c,
    )
  })

  test('relay_gate, POP-before-SMTP lookup: 451 4.3.0 once, logged', async () => {
    const plugin = relayPlugin({ pop_before_smtp_redis: 'true' })
    const c = brokenConnection()
    c.server = { notes: { redis: { isReady: true, get: async () => String(Math.floor(Date.now() / 1000)) } } }
    assertTempfail(await run(relay.relay_gate, plugin, c, [new Address('<x@remote.example>')]), c)
  })

  test('header_gate: 451 4.3.0 once, logged', async () => {
    const c = brokenConnection('alice@example.com')
    ;(c.transaction as any).header.parse(['From: alice@example.com\n'])
    assertTempfail(await run(relay.header_gate, relayPlugin(), c), c)
  })
})

describe('auth_stamp whose record() throws', () => {
  test('stamp_message: the headers were already handled; next() once (CONT), logged, nothing unhandled', async () => {
    const r = parseStampConfig({})
    assert.ok(r.ok)
    const errors: string[] = []
    const added: string[] = []
    const connection = fakeAuthenticatedSession({
      logerror: (_p, m) => void errors.push(m),
      addLeadingHeader: (name) => void added.push(name),
      addResult: () => {
        throw new Error('results store broken')
      },
    })
    const calls = await run(stamp_message, { cfg: r.cfg, name: 'auth_stamp', timeout: 30 }, connection)
    assert.deepEqual(calls, [{ code: undefined, msg: undefined }])
    assert.deepEqual(added, ['X-Authenticated-User'])
    assert.match(errors.join('\n'), /internal error: Error: results store broken/)
    assert.deepEqual(unhandled, [])
  })
})
