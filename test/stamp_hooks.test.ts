// plugins/auth_stamp/hooks: the paths the end-to-end tests cannot provoke.
// If stripping the forged headers fails, the message must not go through with them;
// a reload with a bad ldap_directory.ini must not take Haraka down.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import constants from 'haraka-constants'
import * as hooks from '../plugins/auth_stamp/hooks'
import { stamp_message } from '../plugins/auth_stamp/hooks'
import { parseStampConfig } from '../lib/stamp/config'
import { fakeAuthenticatedSession } from './harness/fake_session'

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
    ;(stamp_message as (...a: unknown[]) => void).call(plugin, (...args: unknown[]) => calls.push(args), connection)
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
  const GOOD_DIR = { main: { servers: 'ldap://127.0.0.1:1', base_dn: 'dc=example,dc=com', bind_dn: 'cn=x', bind_password: 'x' } }

  test('the reload does not throw: the error is logged, Haraka keeps running and stamps the login, recorded', async () => {
    const files: Record<string, Record<string, any>> = { 'auth_stamp.ini': { main: {} }, 'ldap_directory.ini': { main: { base_dn: 'dc=x', scope: 'nonsense' } } }
    const { plugin, watchers, logs } = fakePlugin(files)
    plugin.register()
    assert.equal(plugin.cfg.identity_value, 'login')

    files['auth_stamp.ini'] = { main: { identity_value: 'address' } }
    assert.doesNotThrow(() => watchers['auth_stamp.ini']!())
    assert.equal(plugin.cfg.identity_value, 'address', 'the new auth_stamp.ini is in effect')
    assert.equal(plugin.dirCfg, undefined)
    assert.match(logs.error.join('\n'), /config\/ldap_directory\.ini is invalid: .*scope/)
    assert.match(logs.error.join('\n'), /identity_value=address: ldap_directory\.ini is not usable; the login is stamped until it is fixed/)
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
    await new Promise<void>((resolve) => stamp_message.call(plugin as never, () => resolve(), connection as never))
    assert.deepEqual(added, [['X-Authenticated-User', 'alice']])
    assert.deepEqual(recorded, [{ err: ['address(directory_not_configured)'], pass: ['stamp(identity)'], emit: true }])
    assert.match(warned.join('\n'), /identity for "alice": ldap_directory\.ini is not usable; stamping the login/)

    // fixed: the directory is opened at the next edit
    files['ldap_directory.ini'] = GOOD_DIR
    watchers['ldap_directory.ini']!()
    assert.equal((plugin['dirCfg'] as { base_dn: string } | undefined)?.base_dn, 'dc=example,dc=com')
    await plugin.shutdown()
  })

  test('at startup the same invalid file still stops Haraka with the file and the problem', () => {
    const { plugin } = fakePlugin({ 'auth_stamp.ini': { main: { identity_value: 'address' } }, 'ldap_directory.ini': { main: { base_dn: 'dc=x', scope: 'nonsense' } } })
    assert.throws(() => plugin.register(), /config\/ldap_directory\.ini is invalid: .*scope/)
  })
})
