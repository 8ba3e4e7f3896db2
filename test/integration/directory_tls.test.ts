// TLS to the directory on a real slapd: LDAPS and StartTLS with a CA file,
// certificate and name verification on by default, and no credential ever
// sent over a connection whose certificate failed.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { generate, type SubjectAltNameEntry } from 'selfsigned'
import { authenticate } from '../../lib/authn/password'
import { directoryWarnings } from '../../lib/ldap/config'
import type { LdapDirectory } from '../../lib/ldap/directory'
import { DirectoryUnavailableError } from '../../lib/ldap/errors'
import { openServer } from '../../lib/ldap/connect'
import { generateSelfSigned, type KeyPair } from '../../demo/tls'
import { TestDirectories, testDirectoryConfig } from '../harness/directories'
import { sniRecordingServer, type SniRecorder } from '../harness/fake_ldap'
import { startSlapd, type Slapd } from '../harness/slapd'
import { ALICE, DEMO_LDIF } from '../harness/stack'

/** A directory outage whose message matches: authenticate lets the error through, class and message kept. */
const outage =
  (message = /./) =>
  (err: unknown) =>
    err instanceof DirectoryUnavailableError && message.test(err.message)

let slapd: Slapd
/** A second server whose certificate names only ldap.example.test (no 127.0.0.1, no localhost). */
let misnamed: Slapd
let tmp: string
let caFile: string
let misnamedCaFile: string
/** Servers whose certificate names only IP:127.0.0.1, resp. only DNS:localhost, each with its CA file. */
let ipOnly: Slapd
let ipOnlyCaFile: string
let localhostOnly: Slapd
let localhostOnlyCaFile: string

const dirs = new TestDirectories()
const configFor = (overrides: { servers: string } & Record<string, unknown>) =>
  testDirectoryConfig(overrides.servers, overrides)
const open = (overrides: { servers: string } & Record<string, unknown>): LdapDirectory =>
  dirs.open(overrides.servers, overrides)

/** A self-signed certificate with these subjectAltNames only (selfsigned: type 2 DNS, type 7 IP). */
async function selfSignedWith(commonName: string, altNames: SubjectAltNameEntry[]): Promise<KeyPair> {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames }],
  })
  return { key: pems.private, cert: pems.cert }
}

/** The same port by name: ldap://127.0.0.1:<port> becomes ldap://localhost:<port>. */
const byName = (url: string) => url.replace('//127.0.0.1:', '//localhost:')

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

  const other = await selfSignedWith('ldap.example.test', [{ type: 2, value: 'ldap.example.test' }])
  misnamedCaFile = path.join(tmp, 'misnamed-ca.pem')
  writeFileSync(misnamedCaFile, other.cert)
  misnamed = await startSlapd({ ldif: [DEMO_LDIF], tls: other })

  // The common name is neither the IP nor localhost, so only the subjectAltName can match.
  const ip = await selfSignedWith('ip-only.example.test', [{ type: 7, ip: '127.0.0.1' }])
  ipOnlyCaFile = path.join(tmp, 'ip-only-ca.pem')
  writeFileSync(ipOnlyCaFile, ip.cert)
  ipOnly = await startSlapd({ ldif: [DEMO_LDIF], tls: ip })
  const name = await selfSignedWith('localhost-only.example.test', [{ type: 2, value: 'localhost' }])
  localhostOnlyCaFile = path.join(tmp, 'localhost-only-ca.pem')
  writeFileSync(localhostOnlyCaFile, name.cert)
  localhostOnly = await startSlapd({ ldif: [DEMO_LDIF], tls: name })
})
after(async () => {
  await dirs.closeAll()
  await slapd?.dispose()
  await misnamed?.dispose()
  await ipOnly?.dispose()
  await localhostOnly?.dispose()
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
    await assert.rejects(
      authenticate(d, 'search', ALICE.uid, ALICE.password),
      outage(/self.signed|certificate/i),
    )
    assert.equal(binds(slapd), before, 'no BIND reached the server')
  })

  test('a certificate that does not name the server is refused, even from a trusted CA', async () => {
    const before = binds(misnamed)
    const d = open({ servers: misnamed.ldapsUrl, tls_ca_file: misnamedCaFile })
    await assert.rejects(
      authenticate(d, 'search', ALICE.uid, ALICE.password),
      outage(/altnames|hostname|IP/i),
    )
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
    await assert.rejects(authenticate(d, 'search', ALICE.uid, ALICE.password), outage())
    assert.equal(binds(slapd), before)
  })
})

// The certificate must name the host of the URL, whichever way TLS starts: an
// IP URL needs an IP subjectAltName, a DNS URL a DNS one. StartTLS used to
// check every IP URL against "localhost" (issue 10, item 3).
describe('server identity: the URL host, for LDAPS and StartTLS alike', () => {
  const STARTTLS_REQUEST = /EXT oid=1\.3\.6\.1\.4\.1\.1466\.20037/

  const modes = [
    { mode: 'StartTLS', url: (s: Slapd) => s.url, extra: { starttls: true } },
    { mode: 'LDAPS', url: (s: Slapd) => s.ldapsUrl, extra: {} },
  ] as const

  for (const { mode, url, extra } of modes) {
    const accepted = async (server: Slapd, servers: string, caFile: string) => {
      const from = server.logTail(1_000_000).length
      const d = open({ servers, tls_ca_file: caFile, ...extra })
      const r = await authenticate(d, 'search', ALICE.uid, ALICE.password)
      assert.equal(r.outcome, 'OK', r.reason)
      if (mode === 'StartTLS') {
        const log = server.logTail(1_000_000).slice(from)
        assert.ok(
          log.search(/ BIND dn="/) > log.search(STARTTLS_REQUEST),
          'the first BIND came after StartTLS',
        )
      }
    }
    const refused = async (server: Slapd, servers: string, caFile: string) => {
      const from = server.logTail(1_000_000).length
      const before = binds(server)
      const d = open({ servers, tls_ca_file: caFile, ...extra })
      await assert.rejects(authenticate(d, 'search', ALICE.uid, ALICE.password), outage(/altnames/i))
      assert.equal(binds(server), before, 'no BIND reached the server')
      // The refusal came from the certificate check, not from a server that was never reached.
      if (mode === 'StartTLS') assert.match(server.logTail(1_000_000).slice(from), STARTTLS_REQUEST)
    }

    test(`${mode} to 127.0.0.1: a certificate naming IP:127.0.0.1 only is accepted`, () =>
      accepted(ipOnly, url(ipOnly), ipOnlyCaFile))
    test(`${mode} to 127.0.0.1: a certificate naming DNS:localhost only is refused before any BIND`, () =>
      refused(localhostOnly, url(localhostOnly), localhostOnlyCaFile))
    test(`${mode} to localhost: a certificate naming DNS:localhost only is accepted`, () =>
      accepted(localhostOnly, byName(url(localhostOnly)), localhostOnlyCaFile))
    test(`${mode} to localhost: a certificate naming IP:127.0.0.1 only is refused before any BIND`, () =>
      refused(ipOnly, byName(url(ipOnly)), ipOnlyCaFile))
  }
})

// RFC 6066 section 3: "Literal IPv4 and IPv6 addresses are not permitted in HostName".
describe('SNI: the host name for a DNS URL, nothing for an IP URL', () => {
  let pair: KeyPair
  let fakeCaFile: string
  const fakes: SniRecorder[] = []
  before(async () => {
    pair = await generateSelfSigned('ldap.example.test')
    fakeCaFile = path.join(tmp, 'sni-ca.pem')
    writeFileSync(fakeCaFile, pair.cert)
  })
  after(async () => {
    await Promise.all(fakes.map((f) => f.close()))
  })

  for (const scheme of ['ldap', 'ldaps'] as const) {
    const mode = scheme === 'ldap' ? 'StartTLS' : 'LDAPS'
    for (const host of ['127.0.0.1', 'localhost']) {
      test(`${mode} to ${host}: SNI ${host === 'localhost' ? 'localhost' : 'not sent'}`, async () => {
        const fake = await sniRecordingServer(pair, scheme)
        fakes.push(fake)
        const servers = fake.url.replace('//127.0.0.1:', `//${host}:`)
        const client = await openServer(
          servers,
          configFor({ servers, tls_ca_file: fakeCaFile, starttls: scheme === 'ldap' }),
        )
        // The server's side of the handshake ends just after the client's.
        const sni = await fake.servername
        await client.unbind().catch(() => undefined)
        if (host === 'localhost') assert.equal(sni, 'localhost')
        else assert.ok(!sni, `no SNI, got ${String(sni)}`)
      })
    }
  }
})
