// plugins/auth_stamp/hooks: the one path the end-to-end tests cannot provoke.
// If stripping the forged headers fails, the message must not go through with them.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import constants from 'haraka-constants'
import { stamp_message } from '../plugins/auth_stamp/hooks'
import { parseStampConfig } from '../lib/stamp/config'

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
