// haraka-ldap suspended list|release and suspend against admin sockets served
// as the plugin serves them (two processes' memory stores): text and --json
// output, exit codes 0/1/2.
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { serveAdmin, type AdminServer } from '../../../lib/admin/socket'
import { containmentCommands } from '../../../lib/containment/operator'
import { MemoryStateStore } from '../../../lib/state/memory'
import { main } from '../../../bin/haraka-ldap'

const root = mkdtempSync(path.join(tmpdir(), 'susp-'))
const config = path.join(root, 'config')
const stores = [new MemoryStateStore(), new MemoryStateStore()]
let servers: AdminServer[] = []

before(async () => {
  mkdirSync(config)
  writeFileSync(path.join(config, 'auth_relay.ini'), '[main]\nadmin_socket_dir=run\n')
  servers = await Promise.all(
    stores.map((s, i) =>
      serveAdmin(
        path.join(root, 'run'),
        containmentCommands(() => s),
        5000 + i,
      ),
    ),
  )
})
after(async () => {
  await Promise.all(servers.map((s) => s.close()))
  rmSync(root, { recursive: true, force: true })
})

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const io = {
    out: (t: string) => void (out += t),
    err: (t: string) => void (err += t),
    stdin: process.stdin,
  }
  const code = await main(io, [...argv, '--config', config])
  return { code, out, err }
}

test('suspend on every process, list shows who, since when, why; release; a second release exits 1', async () => {
  const s = await cli('suspend', 'Mallory@Example.com', '--reason', 'phished on Monday')
  assert.equal(s.code, 0, s.err)
  assert.match(s.out, /^mallory@example\.com suspended: phished on Monday$/m)
  assert.match(s.out, /\(2 of 2 Haraka processes answered\)/)
  const list = await cli('suspended', 'list', '--json')
  assert.equal(list.code, 0)
  const doc = JSON.parse(list.out)
  assert.deepEqual(
    doc.suspended.map((x: { login: string; rule: string; reason: string }) => [x.login, x.rule, x.reason]),
    [['mallory@example.com', 'operator', 'phished on Monday']],
  )
  assert.equal(typeof doc.suspended[0].since, 'number')
  assert.deepEqual(
    doc.processes.map((p: { answered: boolean }) => p.answered),
    [true, true],
  )
  const text = await cli('suspended', 'list')
  assert.match(text.out, /^login +since +rule +reason$/m)
  assert.match(text.out, /^mallory@example\.com +\d{4}-\d\d-\d\dT[\d:.]+Z +operator +phished on Monday$/m)
  const rel = await cli('suspended', 'release', 'mallory@example.com', '--json')
  assert.equal(rel.code, 0, rel.err)
  const r = JSON.parse(rel.out)
  assert.equal(r.released, true)
  assert.equal(r.suspension.rule, 'operator')
  assert.equal((await cli('suspended', 'list')).out.split('\n')[0], 'no login is suspended')
  const again = await cli('suspended', 'release', 'mallory@example.com')
  assert.equal(again.code, 1)
  assert.match(again.out, /was neither suspended nor deferred/)
})

test('usage and unreachable Haraka: exit 2 with the reason', async () => {
  assert.equal((await cli('suspended')).code, 2)
  assert.equal((await cli('suspended', 'release')).code, 2)
  assert.equal((await cli('suspend')).code, 2)
  const bad = await cli('suspend', 'a\u0001b', '--json')
  assert.equal(bad.code, 2)
  assert.match(JSON.parse(bad.out).error, /control characters/)
  const other = path.join(root, 'other')
  mkdirSync(other)
  writeFileSync(path.join(other, 'auth_relay.ini'), '[main]\nadmin_socket_dir=nowhere\n')
  let err = ''
  const io = { out: () => undefined, err: (t: string) => void (err += t), stdin: process.stdin }
  assert.equal(await main(io, ['suspended', 'list', '--config', other]), 2)
  assert.match(err, /no Haraka process serves an admin socket in .*nowhere \(is Haraka running\?\)/)
  writeFileSync(path.join(other, 'auth_relay.ini'), '[main]\nadmin_socket_dir=none\n')
  err = ''
  assert.equal(await main(io, ['suspended', 'list', '--config', other]), 2)
  assert.match(err, /admin_socket_dir=none in .*: this command reaches Haraka only through its admin socket/)
})
