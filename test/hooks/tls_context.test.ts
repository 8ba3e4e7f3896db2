// tls_context's register(): patches Haraka's tls_socket or, when it cannot, logs why
// and leaves Haraka stock. (On a real Haraka: test/e2e/tls_context.test.ts.)
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import path from 'node:path'
import { test } from 'node:test'
import { register } from '../../plugins/tls_context/hooks'
import { REPO } from '../harness/paths'

function fakePlugin(modules: Record<string, unknown>) {
  const logs: string[] = []
  const log = (level: string) => (msg: string) => logs.push(`${level} ${msg}`)
  const plugin = {
    name: 'tls_context',
    haraka_require(name: string): unknown {
      if (!(name in modules)) throw new Error(`Cannot find module './${name}'`)
      return modules[name]
    },
    logdebug: log('debug'),
    loginfo: log('info'),
    lognotice: log('notice'),
    logwarn: log('warn'),
    logerror: log('error'),
    logcrit: log('crit'),
  }
  return { plugin, logs }
}

test('an unknown tls_socket shape: a warning, nothing patched, no throw', () => {
  const tlsSocket = { createServer: () => {}, certsByHost: {} }
  const { plugin, logs } = fakePlugin({ tls_socket: tlsSocket, 'package.json': { version: '3.3.4' } })
  const before = tlsSocket.createServer
  register.call(plugin as never)
  assert.equal(tlsSocket.createServer, before)
  assert.equal(logs.length, 1)
  assert.match(logs[0]!, /^warn not patching STARTTLS \(stock behaviour\): tls_socket\.Server is not/)
})

test('no tls_socket in this Haraka: a warning, no throw', () => {
  const { plugin, logs } = fakePlugin({})
  register.call(plugin as never)
  assert.match(logs[0]!, /^warn not patching STARTTLS \(stock behaviour\): cannot load Haraka's tls_socket/)
})

test("Haraka's real tls_socket: patched, one notice with the version", () => {
  const harakaRequire = createRequire(path.join(REPO, 'node_modules/Haraka/package.json'))
  const { plugin, logs } = fakePlugin({
    tls_socket: harakaRequire('./tls_socket'),
    'package.json': harakaRequire('./package.json'),
  })
  register.call(plugin as never)
  register.call(plugin as never) // a second load in the same process: no second patch, no second line
  assert.deepEqual(logs, ['notice sharing one TLS context per certificate for STARTTLS (Haraka 3.3.4)'])
})
