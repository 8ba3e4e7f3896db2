// tls_context on a real Haraka, side by side with stock Haraka on the same config:
// every STARTTLS behaviour it could touch must come out the same (SNI per-host
// certificates, requireAuthorized per port, client certificates, OCSP stapling,
// certificate reload, smtps, no session resumption), and the patched one must build
// one TLS context per certificate, not one per connection.
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createTestCa, type Pem, type TestCa } from '../harness/certs'
import { startHaraka, type HarakaInstance } from '../harness/haraka'
import { REPO } from '../harness/paths'
import { freePort } from '../harness/ports'
import { handshake, type Handshake, type HandshakeOptions } from '../harness/starttls'

const OCSP_BODY = Buffer.from('a stapled OCSP response from the test responder')
const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256

let ca: TestCa
let ocspServer: http.Server
let ocspUrl: string
let server: Pem
let other: Pem
let client: Pem
const variants: Array<{ label: string; plugins: string; h?: HarakaInstance }> = [
  { label: 'stock', plugins: 'tls\n' },
  { label: 'tls_context', plugins: 'tls\ntls_context\n' },
]

before(async () => {
  ocspServer = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/ocsp-response' })
      res.end(OCSP_BODY)
    })
  })
  await new Promise<void>((resolve) => ocspServer.listen(0, '127.0.0.1', resolve))
  const addr = ocspServer.address()
  ocspUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`
  ca = createTestCa()
  server = ca.issue('mail.example.com', { dns: ['localhost'], ocspUrl })
  other = ca.issue('other.example')
  client = ca.issue('client.example', { client: true })
  for (const v of variants) {
    const ports = { inbound: await freePort(), submission: await freePort(), smtps: await freePort() }
    v.h = await startHaraka({
      ldapUrl: 'ldap://127.0.0.1:9', // no LDAP plugin is loaded
      ports,
      // Haraka 3.3.4's OCSP stapling crashes without this (see the shim): both variants get it.
      env: { NODE_OPTIONS: `--require ${path.join(REPO, 'dist/test/harness/ocsp_probe_shim.js')}` },
      files: {
        plugins: v.plugins,
        'tls_key.pem': server.key,
        'tls_cert.pem': server.cert + ca.cert, // the chain: OCSP needs the issuer
        'tls_ca.pem': ca.cert,
        'tls/other.example.pem': other.key + other.cert,
      },
      ini: {
        'tls.ini': {
          main: { requireAuthorized: String(ports.submission), requestOCSP: 'true', ca: 'tls_ca.pem' },
        },
      },
    })
  }
})

after(async () => {
  for (const v of variants) await v.h?.stop()
  ocspServer?.close()
  ca?.dispose()
})

/** The same handshake on stock and on tls_context Haraka: both results, or both errors. */
async function both(
  opts: Omit<HandshakeOptions, 'host' | 'port'> & { port?: keyof HarakaInstance['ports'] },
) {
  const out: Array<Handshake | Error> = []
  for (const v of variants) {
    const h = v.h!
    out.push(
      await handshake({ ...opts, host: h.host, port: h.ports[opts.port ?? 'inbound'] }).catch(
        (err: unknown) => err as Error,
      ),
    )
  }
  return out as [Handshake | Error, Handshake | Error]
}

function ok(r: Handshake | Error, label: string): Handshake {
  if (r instanceof Error) {
    if (process.env.DEBUG_TLS) for (const v of variants) console.log(v.h?.logs().slice(-2500))
    assert.fail(`${label}: ${r.message}`)
  }
  return r
}

describe('tls_context on a real Haraka, against stock Haraka', () => {
  test('it patches STARTTLS at startup and says so; stock does not', () => {
    assert.match(
      variants[1]!.h!.logs(),
      /\[tls_context\] sharing one TLS context per certificate for STARTTLS \(Haraka 3\.3\.4\)/,
    )
    assert.doesNotMatch(variants[0]!.h!.logs(), /tls_context/)
  })

  test('SNI: each servername gets its own certificate, no servername the default', async () => {
    for (const [servername, pem] of [
      ['other.example', other],
      ['mail.example.com', server],
      [undefined, server],
    ] as const) {
      for (const [i, r] of (await both({ ...(servername ? { servername } : {}) })).entries()) {
        const got = ok(r, `${variants[i]!.label} ${servername}`)
        assert.equal(got.peer.fingerprint256, fingerprint(pem.cert), `${variants[i]!.label} ${servername}`)
        assert.equal(got.ehloCode, 250)
      }
    }
  })

  test('requireAuthorized per port: submission refuses a client without a certificate, inbound does not', async () => {
    for (const [i, r] of (await both({ port: 'submission' })).entries()) {
      assert.ok(r instanceof Error, `${variants[i]!.label}: expected the handshake to be refused`)
      assert.match(r.message, /certificate required|alert|ECONNRESET|socket hang up/i, variants[i]!.label)
    }
    for (const r of await both({ port: 'inbound' })) assert.equal(ok(r, 'inbound').ehloCode, 250)
  })

  test('client certificates: accepted where required, the peer certificate visible to plugins as stock', async () => {
    for (const v of variants) {
      const h = v.h!
      const before = h.logs().length
      const r = await handshake({
        host: h.host,
        port: h.ports.submission,
        key: client.key,
        cert: client.cert,
      })
      assert.equal(r.ehloCode, 250, v.label)
      let line: string | undefined
      for (let i = 0; i < 50 && !line; i++, await sleep(100)) {
        line = h
          .logs()
          .slice(before)
          .split('\n')
          .find((l) => l.includes('[tls] secured:'))
      }
      assert.ok(line, `${v.label}: no "secured:" line from the tls plugin`)
      // Stock Haraka never marks a STARTTLS peer as verified (Node sets `authorized`
      // only for tls.Server sockets); tls_context keeps that as it is.
      assert.match(line, /verified=false/, v.label)
      assert.match(line, /cn="client\.example"/, v.label)
    }
  })

  test('requireAuthorized and a client certificate from an unknown CA: as stock (accepted, never verified)', async () => {
    const stranger = createTestCa('Unknown CA')
    try {
      const cert = stranger.issue('stranger.example', { client: true })
      const results = await both({ port: 'submission', key: cert.key, cert: cert.cert })
      // Node checks the chain only for tls.Server sockets; Haraka's STARTTLS socket is not
      // one, so OpenSSL's FAIL_IF_NO_PEER_CERT refuses only a client without a certificate.
      for (const [i, r] of results.entries()) assert.equal(ok(r, variants[i]!.label).ehloCode, 250)
    } finally {
      stranger.dispose()
    }
  })

  test('OCSP stapling: the responder answer is stapled for a servername, as stock', async () => {
    for (const [i, r] of (await both({ servername: 'mail.example.com', requestOCSP: true })).entries()) {
      const got = ok(r, variants[i]!.label)
      assert.deepEqual(got.ocsp, OCSP_BODY, `${variants[i]!.label}: stapled response`)
    }
  })

  test('no session resumption across connections (per-connection contexts never allowed it)', async () => {
    for (const [i, r] of (await both({})).entries()) {
      const first = ok(r, variants[i]!.label)
      const h = variants[i]!.h!
      const again = await handshake({
        host: h.host,
        port: h.ports.inbound,
        ...(first.session ? { session: first.session } : {}),
      })
      assert.equal(again.reused, false, variants[i]!.label)
    }
  })

  test('smtps (implicit TLS) works as before with the default certificate', async () => {
    for (const [i, r] of (await both({ port: 'smtps', implicit: true })).entries()) {
      const got = ok(r, variants[i]!.label)
      assert.equal(got.peer.fingerprint256, fingerprint(server.cert), variants[i]!.label)
      assert.equal(got.ehloCode, 250)
    }
  })

  test('one context for many connections: built once, not per session', async () => {
    const h = variants[1]!.h!
    for (let i = 0; i < 5; i++) await handshake({ host: h.host, port: h.ports.inbound })
    assert.equal(h.logs().match(/built STARTTLS context #/g)?.length, 1, h.logs())
  })

  test('certificate reload: after new cert files and a tls.ini change, new sessions get only the new certificate', async () => {
    const renewed = ca.issue('mail.example.com', { dns: ['localhost'], ocspUrl })
    const renewedOther = ca.issue('other.example')
    for (const v of variants) {
      const config = path.join(v.h!.dir, 'config')
      writeFileSync(path.join(config, 'tls_key.pem'), renewed.key)
      writeFileSync(path.join(config, 'tls_cert.pem'), renewed.cert + ca.cert)
      writeFileSync(path.join(config, 'tls/other.example.pem'), renewedOther.key + renewedOther.cert)
      const ini = readFileSync(path.join(config, 'tls.ini'), 'utf8')
      writeFileSync(path.join(config, 'tls.ini'), `${ini}\n; renewed\n`)
    }
    for (const v of variants) {
      const h = v.h!
      const cases: Array<[string | undefined, Pem]> = [
        [undefined, renewed],
        ['mail.example.com', renewed],
        ['other.example', renewedOther],
      ]
      for (const [servername, pem] of cases) {
        const want = fingerprint(pem.cert)
        const opts = { host: h.host, port: h.ports.inbound, ...(servername ? { servername } : {}) }
        let got = ''
        for (let i = 0; i < 100 && got !== want; i++) {
          got = (await handshake(opts)).peer.fingerprint256
          if (got !== want) await sleep(100)
        }
        assert.equal(got, want, `${v.label} ${servername}: the renewed certificate within 10 s`)
        for (let i = 0; i < 5; i++) {
          assert.equal(
            (await handshake(opts)).peer.fingerprint256,
            want,
            `${v.label} ${servername}: never the old one again`,
          )
        }
      }
    }
    const patched = variants[1]!.h!.logs()
    assert.equal(
      patched.match(/built STARTTLS context #/g)?.length,
      2,
      'one more context, for the new certificate',
    )
  })
})
