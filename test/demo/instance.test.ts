// demo/instance: what the launcher reads of a Haraka instance's config/, as Haraka reads it.
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, test } from 'node:test'
import { readInstance } from '../../demo/instance'

const root = mkdtempSync(path.join(tmpdir(), 'instance-'))
after(() => rmSync(root, { recursive: true, force: true }))

test('listeners, the SMTPS port, the LDAP URL and the name, from smtp.ini, ldap_directory.ini and me', () => {
  const config = path.join(root, 'config')
  mkdirSync(config)
  writeFileSync(
    path.join(config, 'smtp.ini'),
    '; listen=0.0.0.0:25\nlisten=[::1]:2525, 127.0.0.1:2587\nsmtps_port=2465\n[headers]\nlisten=x\n',
  )
  writeFileSync(path.join(config, 'ldap_directory.ini'), '[main]\nservers=ldap://localhost:3389, ldap://b\n')
  writeFileSync(path.join(config, 'me'), 'mail.example.com\n')
  assert.deepEqual(readInstance(root), {
    host: '::1',
    listeners: [
      { host: '::1', port: 2525 },
      { host: '127.0.0.1', port: 2587 },
    ],
    smtpsPort: 2465,
    ldapUrl: 'ldap://localhost:3389',
    demoLdap: { host: '127.0.0.1', port: 3389 },
    me: 'mail.example.com',
  })
  assert.throws(() => readInstance(path.join(root, 'nowhere')), { code: 'ENOENT' })
})
