// plugins/auth_stamp/hooks: the paths the end-to-end tests cannot provoke.
// If stripping the forged headers fails, the message must not go through with them;
// a reload with a bad ldap_directory.ini must not take Haraka down.
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { describe, test } from 'node:test'
import constants from 'haraka-constants'
import * as hooks from '../../plugins/auth_stamp/hooks'
import { stamp_message } from '../../plugins/auth_stamp/hooks'
import { parseStampConfig, type StampConfig } from '../../lib/stamp/config'
import { bodyHash, bodyOfRaw } from '../../lib/stamp/body'
import { headerFieldsOf } from '../../lib/mail/fields'
import { verifyMessage, type Verdict } from '../../lib/stamp/sign'
import { fakeAuthenticatedSession } from '../harness/fake_session'
import { delivered, receivedTransaction } from '../harness/transaction'

describe('stamp_message fails closed', () => {
  test('an error while stripping gives 451 4.3.0 (DENYSOFT), once, and logs it', () => {
    const r = parseStampConfig({})
    assert.ok(r.ok)
    const logged: string[] = []
    const connection = {
      notes: {},
      local: { host: 'mail.example.com' },
      auth_results: () => '',
      logerror: (_p: unknown, msg: string) => logged.push(msg),
      transaction: {
        mail_from: { address: 'someone@remote.example', host: 'remote.example' },
        header: {
          get header_list(): string[] {
            throw new Error('header list broken')
          },
        },
      },
    }
    const calls: unknown[][] = []
    const plugin = { cfg: r.cfg, name: 'auth_stamp' }
    ;(stamp_message as (...a: unknown[]) => void).call(
      plugin,
      (...args: unknown[]) => calls.push(args),
      connection,
    )
    assert.equal(calls.length, 1)
    assert.equal(calls[0]![0], constants.denysoft)
    const dsn = calls[0]![1] as { code: number; reply: string }
    assert.equal(dsn.code, 451)
    assert.equal(dsn.reply, '4.3.0 Could not process the message headers, try again later')
    assert.match(logged.join('\n'), /could not strip stamp headers: Error: header list broken/)
  })
})

describe('a reload to identity_value=address with an invalid ldap_directory.ini', () => {
  // A fake of the Plugin surface load_* use: config.get returns `files`, and keeps the change
  // callback haraka-config would call from its watch timer (where a throw is an uncaught exception).
  function fakePlugin(files: Record<string, Record<string, any>>) {
    const watchers: Record<string, () => void> = {}
    const logs: Record<'info' | 'warn' | 'error', string[]> = { info: [], warn: [], error: [] }
    const plugin: Record<string, any> = {
      name: 'auth_stamp',
      timeout: 30,
      config: {
        get(file: string, _opts: unknown, cb: () => void) {
          watchers[file] = cb
          return structuredClone(files[file] ?? {})
        },
      },
      register_hook: () => undefined,
      loginfo: (m: string) => void logs.info.push(m),
      lognotice: (m: string) => void logs.info.push(m),
      logwarn: (m: string) => void logs.warn.push(m),
      logerror: (m: string) => void logs.error.push(m),
    }
    for (const [name, fn] of Object.entries(hooks)) if (typeof fn === 'function') plugin[name] = fn
    return { plugin, watchers, logs }
  }
  const GOOD_DIR = {
    main: {
      servers: 'ldap://127.0.0.1:1',
      base_dn: 'dc=example,dc=com',
      bind_dn: 'cn=x',
      bind_password: 'x',
    },
  }

  test('the reload does not throw: the error is logged, Haraka keeps running and stamps the login, recorded', async () => {
    const files: Record<string, Record<string, any>> = {
      'auth_stamp.ini': { main: {} },
      'ldap_directory.ini': { main: { base_dn: 'dc=x', scope: 'nonsense' } },
    }
    const { plugin, watchers, logs } = fakePlugin(files)
    plugin.register()
    assert.equal(plugin.cfg.identity_value, 'login')

    files['auth_stamp.ini'] = { main: { identity_value: 'address' } }
    assert.doesNotThrow(() => watchers['auth_stamp.ini']!())
    assert.equal(plugin.cfg.identity_value, 'address', 'the new auth_stamp.ini is in effect')
    assert.equal(plugin.dirCfg, undefined)
    assert.match(logs.error.join('\n'), /config\/ldap_directory\.ini is invalid: .*scope/)
    assert.match(
      logs.error.join('\n'),
      /identity_value=address: ldap_directory\.ini is not usable; the login is stamped until it is fixed/,
    )
    // a later edit that is still invalid: no throw either
    assert.doesNotThrow(() => watchers['ldap_directory.ini']!())

    // a message from an authenticated session: stamped with the login, the reason recorded
    const added: Array<[string, string]> = []
    const recorded: Record<string, unknown>[] = []
    const warned: string[] = []
    const connection = fakeAuthenticatedSession({
      logwarn: (_p, m) => void warned.push(m),
      logerror: (_p, m) => assert.fail(m),
      addLeadingHeader: (name, value) => void added.push([name, value]),
      addResult: (_p, r) => void recorded.push(r),
    })
    await new Promise<void>((resolve) =>
      stamp_message.call(plugin as never, () => resolve(), connection as never),
    )
    assert.deepEqual(added, [['X-Authenticated-User', 'alice']])
    assert.deepEqual(recorded, [
      {
        err: ['address(directory_not_configured)'],
        pass: ['stamp(date_added)', 'stamp(message_id_added)', 'stamp(identity)'],
        emit: true,
      },
    ])
    assert.match(
      warned.join('\n'),
      /identity for "alice": ldap_directory\.ini is not usable; stamping the login/,
    )

    // fixed: the directory is opened at the next edit
    files['ldap_directory.ini'] = GOOD_DIR
    watchers['ldap_directory.ini']!()
    assert.equal((plugin['dirCfg'] as { base_dn: string } | undefined)?.base_dn, 'dc=example,dc=com')
    await plugin.shutdown()
  })

  test('at startup the same invalid file still stops Haraka with the file and the problem', () => {
    const { plugin } = fakePlugin({
      'auth_stamp.ini': { main: { identity_value: 'address' } },
      'ldap_directory.ini': { main: { base_dn: 'dc=x', scope: 'nonsense' } },
    })
    assert.throws(() => plugin.register(), /config\/ldap_directory\.ini is invalid: .*scope/)
  })
})

describe('stamp_message on a real Haraka transaction: Date and Message-ID, then a stamp over fields and body', () => {
  const SECRET = 'hook-test-secret-of-at-least-32-bytes'
  function cfgOf(main: Record<string, unknown>): StampConfig {
    const r = parseStampConfig({ main: { key_id: 'k1', key: SECRET, ...main } })
    assert.ok(r.ok, r.ok ? '' : r.errors.join('; '))
    return r.cfg
  }
  const WIRE = [
    'From: alice@example.com',
    'To: bob@example.com',
    'Subject: lunch?',
    '',
    'Shall we have lunch?',
    '..and a dot line',
    '',
  ]

  /** A Haraka transaction fed as DATA feeds it, in a fake session (alice, or unauthenticated). */
  async function session(wire: string[], opts: { login?: boolean } = {}) {
    const txn = await receivedTransaction(wire)
    txn.mail_from = { address: 'alice@example.com', host: 'example.com' }
    const logs: string[] = []
    const recorded: Record<string, unknown>[] = []
    const log = (level: string) => (_p: unknown, m: string) => void logs.push(`${level}: ${m}`)
    const connection = fakeAuthenticatedSession({
      loginfo: log('info'),
      lognotice: log('notice'),
      logwarn: log('warn'),
      logerror: log('error'),
      addLeadingHeader: () => assert.fail('replaced by the real transaction'),
      addResult: (_p, r) => void recorded.push(r),
    }) as any
    if (opts.login === false) connection.notes = {}
    txn.results = { add: (_p: unknown, r: Record<string, unknown>) => void recorded.push(r) }
    connection.transaction = txn
    return { txn, connection, logs, recorded }
  }

  async function run(cfg: StampConfig, connection: unknown): Promise<unknown[][]> {
    const calls: unknown[][] = []
    await new Promise<void>((resolve) =>
      (stamp_message as (...a: unknown[]) => void).call(
        { cfg, name: 'auth_stamp', timeout: 30 },
        (...args: unknown[]) => {
          calls.push(args)
          resolve()
        },
        connection,
      ),
    )
    await new Promise((r) => setImmediate(r))
    return calls
  }

  function verify(cfg: StampConfig, eml: Buffer): Verdict {
    const message = { fields: headerFieldsOf(eml.toString('utf8')), bodyHash: bodyHash(bodyOfRaw(eml)) }
    return verifyMessage(message, new Set(['x-auth-stamp']), {
      keys: cfg.verifyKeys,
      now: Math.floor(Date.now() / 1000),
      maxAge: 60,
    }).verdict
  }
  const reasonOf = (v: Verdict) => (v.valid ? 'valid' : v.reason)

  test('a submission without both: Date and Message-ID added at the end of the header, then signed over', async () => {
    const cfg = cfgOf({ sign: true })
    const { txn, connection, logs, recorded } = await session(WIRE)
    assert.deepEqual(await run(cfg, connection), [[]])
    const list: string[] = txn.header.header_list
    assert.match(list[0]!, /^X-Auth-Stamp: v=2; /)
    assert.equal(list[1], 'X-Authenticated-User: alice\n')
    assert.match(list[list.length - 2]!, /^Date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000\n$/)
    assert.match(list[list.length - 1]!, /^Message-ID: <[0-9a-z]+\.[0-9a-f]{32}@mail\.example\.com>\n$/)
    assert.deepEqual(recorded, [
      {
        pass: ['stamp(date_added)', 'stamp(message_id_added)', 'stamp(identity)', 'stamp(signed)'],
        emit: true,
      },
    ])
    assert.match(
      logs.join('\n'),
      /^info: added Date: .+ \+0000, Message-ID: <[^>]+@mail\.example\.com> \(missing\)$/m,
    )

    const eml = await delivered(txn)
    assert.equal(reasonOf(verify(cfg, eml)), 'valid')
    const text = eml.toString('utf8')
    const tampered: Array<[string, string, string]> = [
      ['Subject', text.replace('Subject: lunch?', 'Subject: wire 1M now'), 'bad_signature'],
      ['To', text.replace('To: bob@example.com', 'To: cfo@example.com'), 'bad_signature'],
      ['From', text.replace('From: alice@example.com', 'From: ceo@example.com'), 'bad_signature'],
      ['body', text.replace('Shall we have lunch?', 'Wire 1M now.'), 'body_hash_mismatch'],
    ]
    for (const [what, copy, reason] of tampered)
      assert.equal(reasonOf(verify(cfg, Buffer.from(copy))), reason, what)
  })

  test('a submission that has them keeps its own; nothing added', async () => {
    const cfg = cfgOf({ sign: true })
    const { txn, connection, recorded } = await session([
      'Date: Tue, 01 Dec 2026 09:00:00 +0000',
      'Message-ID: <own@client.example>',
      ...WIRE,
    ])
    await run(cfg, connection)
    assert.deepEqual(txn.header.get_all('Message-ID'), ['<own@client.example>\n'])
    assert.equal(txn.header.get_all('Date').length, 1)
    assert.deepEqual(recorded, [{ pass: ['stamp(identity)', 'stamp(signed)'], emit: true }])
    assert.equal(reasonOf(verify(cfg, await delivered(txn))), 'valid')
  })

  test('add_date_message_id=false: not signed, and said so (results and log)', async () => {
    const cfg = cfgOf({ sign: true, add_date_message_id: false })
    const { txn, connection, logs, recorded } = await session(WIRE)
    assert.deepEqual(await run(cfg, connection), [[]])
    assert.deepEqual(txn.header.get_all('X-Auth-Stamp'), [])
    assert.deepEqual(txn.header.get_all('X-Authenticated-User'), ['alice'])
    assert.deepEqual(txn.header.get_all('Message-ID'), [])
    assert.deepEqual(recorded, [{ pass: ['stamp(identity)'], fail: ['sign(no_message_id)'], emit: true }])
    assert.match(
      logs.join('\n'),
      /^notice: not signed: the message has no Message-ID \(add_date_message_id=false\)$/m,
    )
  })

  test('two Date fields: not signed even with add_date_message_id=true', async () => {
    const cfg = cfgOf({ sign: true })
    const { txn, connection, recorded } = await session([
      'Date: Tue, 01 Dec 2026 09:00:00 +0000',
      'Date: Wed, 02 Dec 2026 09:00:00 +0000',
      ...WIRE,
    ])
    await run(cfg, connection)
    assert.deepEqual(txn.header.get_all('X-Auth-Stamp'), [])
    assert.deepEqual(recorded, [
      { pass: ['stamp(message_id_added)', 'stamp(identity)'], fail: ['sign(several_dates)'], emit: true },
    ])
  })

  test('without sign, a submission still gets its Date and Message-ID (and no stamp)', async () => {
    const { txn, connection, recorded } = await session(WIRE)
    await run(cfgOf({}), connection)
    assert.equal(txn.header.get_all('Date').length, 1)
    assert.equal(txn.header.get_all('Message-ID').length, 1)
    assert.deepEqual(recorded, [
      { pass: ['stamp(date_added)', 'stamp(message_id_added)', 'stamp(identity)'], emit: true },
    ])
  })

  test('unauthenticated mail gets nothing added', async () => {
    const { txn, connection } = await session(WIRE, { login: false })
    await run(cfgOf({ sign: true }), connection)
    assert.deepEqual(txn.header.get_all('Date'), [])
    assert.deepEqual(txn.header.get_all('Message-ID'), [])
  })

  test('the body cannot be read: not signed (err), the identity header still added, next() once', async () => {
    const cfg = cfgOf({ sign: true })
    const { txn, connection, logs, recorded } = await session(WIRE)
    txn.message_stream.pipe(new PassThrough({ highWaterMark: 1 })) // another reader, never done
    assert.deepEqual(await run(cfg, connection), [[]])
    txn.message_stream.unpipe()
    assert.deepEqual(txn.header.get_all('X-Auth-Stamp'), [])
    assert.deepEqual(txn.header.get_all('X-Authenticated-User'), ['alice'])
    assert.deepEqual(recorded, [
      {
        pass: ['stamp(date_added)', 'stamp(message_id_added)', 'stamp(identity)'],
        err: ['sign(body_unreadable)'],
        emit: true,
      },
    ])
    assert.match(
      logs.join('\n'),
      /^error: not signed: cannot read the body: Cannot pipe while currently piping$/m,
    )
  })

  test('verify mode: the body is hashed first; a stamp on another body is removed (body_hash_mismatch)', async () => {
    const signer = cfgOf({ sign: true })
    const verifier = cfgOf({ verify: true })
    const first = await session(WIRE)
    await run(signer, first.connection)
    const signed = (await delivered(first.txn)).toString('utf8').split('\r\n')

    const kept = await session(signed, { login: false })
    assert.deepEqual(await run(verifier, kept.connection), [[]])
    assert.equal(kept.txn.header.get_all('X-Auth-Stamp').length, 1)
    assert.deepEqual(kept.txn.header.get_all('X-Authenticated-User'), ['alice'])
    assert.deepEqual(kept.recorded, [
      {
        removed: 1,
        removed_fields: ['x-authenticated-user=1'],
        pass: ['verify(valid)', 'stamp(identity_from_stamp)'],
        emit: true,
      },
    ])

    const other = await session(
      signed.map((l) => l.replace('Shall we have lunch?', 'Wire 1M now.')),
      { login: false },
    )
    await run(verifier, other.connection)
    assert.deepEqual(other.txn.header.get_all('X-Auth-Stamp'), [])
    assert.deepEqual(other.txn.header.get_all('X-Authenticated-User'), [])
    assert.match(JSON.stringify(other.recorded), /"fail":\["verify\(body_hash_mismatch\)"\]/)
    assert.match(other.logs.join('\n'), /^notice: stamp removed: body_hash_mismatch: /m)

    const unreadable = await session(signed, { login: false })
    unreadable.txn.message_stream.pipe(new PassThrough({ highWaterMark: 1 }))
    assert.deepEqual(await run(verifier, unreadable.connection), [[]])
    unreadable.txn.message_stream.unpipe()
    assert.deepEqual(unreadable.txn.header.get_all('X-Auth-Stamp'), [])
    assert.match(JSON.stringify(unreadable.recorded), /"fail":\["verify\(body_unreadable\)"\]/)
    assert.match(
      unreadable.logs.join('\n'),
      /^warn: cannot read the body to check the stamp: Cannot pipe while currently piping$/m,
    )
  })
})
