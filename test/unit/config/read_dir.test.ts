// lib/config/read_dir: a plugin's ini read from config folders without Haraka, with the plugins'
// syntax (values as written) and haraka-config's merge (key by key, the later folder wins).
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { readConfig, readIni } from '../../../lib/config/read_dir'
import { authStampIni } from '../../../lib/stamp/config'

const root = mkdtempSync(path.join(tmpdir(), 'read-dir-'))
after(() => rmSync(root, { recursive: true, force: true }))
let n = 0

/** A fresh folder holding the given files. */
function folder(files: Record<string, string> = {}): string {
  const dir = path.join(root, String(++n))
  mkdirSync(dir)
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text)
  return dir
}

const plain = (raw: unknown) => JSON.parse(JSON.stringify(raw))

describe('readIni', () => {
  test('defaults, then overrides: key by key, the later folder wins; sections merge too', () => {
    const defaults = folder({ 'x.ini': 'a=1\nb=2\n[extra]\nk=v\n' })
    const overrides = folder({ 'x.ini': '[main]\nb=0042\nlist[]=p\nlist[]=q\n' })
    assert.deepEqual(plain(readIni([defaults, overrides], 'x.ini')), {
      main: { a: '1', b: '0042', list: ['p', 'q'] },
      extra: { k: 'v' },
    })
  })

  test('a folder without the file is skipped; none has it: empty, as haraka-config reads it', () => {
    const defaults = folder({ 'x.ini': 'a=1\n' })
    assert.deepEqual(plain(readIni([defaults, folder()], 'x.ini')), { main: { a: '1' } })
    assert.deepEqual(plain(readIni([folder(), folder()], 'x.ini')), {})
  })

  test('required: a file no folder has throws its ENOENT; one folder having it is enough', () => {
    assert.throws(() => readIni([folder()], 'x.ini', { required: true }), { code: 'ENOENT' })
    assert.deepEqual(plain(readIni([folder(), folder({ 'x.ini': 'a=1' })], 'x.ini', { required: true })), {
      main: { a: '1' },
    })
  })

  test('a file that cannot be read for another reason throws, never reads as empty', () => {
    const dir = folder()
    mkdirSync(path.join(dir, 'x.ini'))
    assert.throws(() => readIni([dir], 'x.ini'), { code: 'EISDIR' })
  })

  test('the same folder named twice is read once', () => {
    const dir = folder({ 'x.ini': 'list[]=a\n' })
    assert.deepEqual(plain(readIni([dir, `${dir}/`], 'x.ini')), { main: { list: ['a'] } })
  })
})

describe('readConfig', () => {
  const KEY = 'k'.repeat(32)
  test("the plugin's parse function gets the text as written: a numeric-looking secret stays exact", () => {
    const dir = folder({ 'auth_stamp.ini': `[main]\nsign=true\nkey_id=k1\nkey=0${'7'.repeat(31)}\n` })
    const r = readConfig([dir], authStampIni(dir))
    assert.ok(r.ok, r.ok ? '' : r.errors.join('; '))
    assert.equal(r.cfg.key, `0${'7'.repeat(31)}`)
    assert.equal(r.cfg.sign, true)
  })

  test('an invalid file gives the errors of the parse function, naming the key', () => {
    const dir = folder({ 'auth_stamp.ini': `sign=ture\nkey_id=k1\nkey=${KEY}\n` })
    const r = readConfig([dir], authStampIni(dir))
    assert.ok(!r.ok)
    assert.match(r.errors.join('; '), /\[main\] sign: "ture" is not true or false/)
  })
})
