// lib/config/secret_file: a secret file read relative to the instance directory, with its mode.
import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { readSecretFile } from '../../../lib/config/secret_file'

const root = mkdtempSync(path.join(tmpdir(), 'secret-file-'))
after(() => rmSync(root, { recursive: true, force: true }))

describe('readSecretFile', () => {
  test('a relative name is read under the base directory, with its permission bits', () => {
    writeFileSync(path.join(root, 'pw'), 's3cret\n')
    chmodSync(path.join(root, 'pw'), 0o640)
    const errors: string[] = []
    assert.deepEqual(readSecretFile('password_file', 'pw', root, errors), {
      path: path.join(root, 'pw'),
      mode: 0o640,
      text: 's3cret\n',
    })
    assert.deepEqual(errors, [])
  })

  test('a file that cannot be read: undefined, and the option, path and code as the error', () => {
    const errors: string[] = []
    assert.equal(readSecretFile('key_file', 'missing.key', root, errors), undefined)
    assert.deepEqual(errors, [`[main] key_file: cannot read ${path.join(root, 'missing.key')} (ENOENT)`])
  })
})
