// TLS to the directory on a real slapd: LDAPS and StartTLS with a CA file,
// certificate and name verification on by default, and no credential ever
// sent over a connection whose certificate failed.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { generate } from 'selfsigned'
import { authenticate } from '../lib/auth/authenticate'
import { directoryWarnings } from '../lib/ldap/config'
import type { AuthDirectory } from '../lib/ldap/directory'
import { generateSelfSigned } from '../demo/tls'
import { TestDirectories, testDirectoryConfig } from './harness/directories'
import { startSlapd, type Slapd } from './harness/slapd'
import { ALICE, DEMO_LDIF } from './harness/stack'

let slapd: Slapd
/** A second server whose certificate names only ldap.example.test (no 127.0.0.1, no localhost). */
let misnamed: Slapd
let tmp: string
let caFile: string
let misnamedCaFile: string

const dirs = new TestDirectories()
const configFor = (overrides: { servers: string } & Record<string, unknown>) => testDirectoryConfig(overrides.servers, overrides)
const open = (overrides: { servers: string } & Record<string, unknown>): AuthDirectory => dirs.open(overrides.servers, overrides)

/** BIND operations slapd has logged (the service account's or a user's). */
function binds(server: Slapd): number {
  return (server.logTail(1_000_000).match(/ BIND dn="/g) ?? []).length
}

before(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'ldap-tls-'))
  const pair = await generateSelfSigned('ldap.example.test')
  caFile = path.join(tmp, 'ca.pem')
  writeFileSync(caFile, pair.cert)
  slapd = await startSlapd({ ldif: [DEMO_LDIF], tls: pair })

  const other = await generate([{ name: 'commonName', value: 'ldap.example.test' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'ldap.example.test' }] }],
  })
  misnamedCaFile = path.join(tmp, 'misnamed-ca.pem')
  writeFileSync(misnamedCaFile, other.cert)
  misnamed = await startSlapd({ ldif: [DEMO_LDIF], tls: { key: other.private, cert: other.cert } })
})
after(async () => {
  await dirs.closeAll()
  await slapd?.dispose()
  await misnamed?.dispose()
  rmSync(tmp, { recursive: true, force: true })
})

describe('LDAPS', () => {
  test('with the CA file: authenticates, and no weakening warning is logged', async () => {
    const cfg = configFor({ servers: slapd.ldapsUrl, tls_ca_file: caFile })
    assert.deepEqual(directoryWarnings(cfg), [])
    const d = open({ servers: slapd.ldapsUrl, tls_ca_file: caFile })
    assert.equal((await authenticate(d, 'search', ALICE.uid, ALICE.password)).outcome, 'OK')
    assert.equal((await authenticate(d, 'search', ALICE.uid, 'wrong')).outcome, 'PASSWORD_MISMATCH')
  })

  test('an untrusted certificate (no CA file: system CAs) is an outage, and nothing is sent', async () => {
    const before = binds(slapd)
    const d = open({ servers: slapd.ldapsUrl })
    const r = await authenticate(d, 'search', ALICE.uid, ALICE.password)
    assert.equal(r.outcome, 'DIRECTORY_DOWN')
    assert.match(r.reason, /self.signed|certificate/i)
    assert.equal(binds(slapd), before, 'no BIND reached the server')
  })

  test('a certificate that does not name the server is refused, even from a trusted CA', async () => {
    const before = binds(misnamed)
    const d = open({ servers: misnamed.ldapsUrl, tls_ca_file: misnamedCaFile })
    const r = await authenticate(d, 'search', ALICE.uid, ALICE.password)
    assert.equal(r.outcome, 'DIRECTORY_DOWN')
    assert.match(r.reason, /altnames|hostname|IP/i)
    assert.equal(binds(misnamed), before, 'no BIND reached the server')
  })

  test('tls_reject_unauthorized=false (lab only) connects anyway, with a warning', async () => {
    const overrides = { servers: misnamed.ldapsUrl, tls_reject_unauthorized: false }
    assert.match(directoryWarnings(configFor(overrides)).join('\n'), /not verified/)
    const d = open(overrides)
    assert.equal((await authenticate(d, 'search', ALICE.uid, ALICE.password)).outcome, 'OK')
  })
})

describe('StartTLS', () => {
  test('with the CA file: the connection is upgraded before the first BIND, then authenticates', async () => {
    const d = open({ servers: slapd.url, starttls: true, tls_ca_file: caFile })
    const from = slapd.logTail(1_000_000).length
    assert.equal((await authenticate(d, 'search', 'alice@example.com', ALICE.password)).outcome, 'OK')
    const log = slapd.logTail(1_000_000).slice(from)
    const starttls = log.search(/EXT oid=1\.3\.6\.1\.4\.1\.1466\.20037/)
    const bind = log.search(/ BIND dn="/)
    assert.ok(starttls >= 0, 'slapd saw a StartTLS request')
    assert.ok(bind > starttls, 'the first BIND came after StartTLS')
  })

  test('an untrusted certificate after StartTLS is an outage, and no BIND is sent in clear or otherwise', async () => {
    const before = binds(slapd)
    const d = open({ servers: slapd.url, starttls: true })
    assert.equal((await authenticate(d, 'search', ALICE.uid, ALICE.password)).outcome, 'DIRECTORY_DOWN')
    assert.equal(binds(slapd), before)
  })
})
