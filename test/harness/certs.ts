// A throwaway certificate authority for TLS tests, made with the openssl CLI (which
// Haraka itself needs): leaf certificates for servers (with an OCSP responder URL when
// asked) and for clients, each as PEM strings.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

export interface Pem {
  key: string
  cert: string
}

export interface LeafOptions {
  /** subjectAltName DNS names (the CN is one too); IP 127.0.0.1 is always added for servers */
  dns?: string[]
  /** an Authority Information Access OCSP URI, e.g. http://127.0.0.1:1234/ */
  ocspUrl?: string
  /** a client certificate (extendedKeyUsage clientAuth) instead of a server one */
  client?: boolean
}

export interface TestCa extends Pem {
  issue(commonName: string, opts?: LeafOptions): Pem
  /** remove the working directory */
  dispose(): void
}

function openssl(cwd: string, args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
}

function newKey(cwd: string, file: string): void {
  openssl(cwd, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file])
}

export function createTestCa(commonName = 'Test CA'): TestCa {
  const dir = mkdtempSync(path.join(tmpdir(), 'test-ca-'))
  newKey(dir, 'ca.key')
  openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    `/CN=${commonName}`,
  ])
  let serial = 1
  const read = (file: string) => readFileSync(path.join(dir, file), 'utf8')
  return {
    key: read('ca.key'),
    cert: read('ca.pem'),
    issue(cn, opts = {}) {
      const n = serial++
      newKey(dir, `${n}.key`)
      openssl(dir, ['req', '-new', '-key', `${n}.key`, '-out', `${n}.csr`, '-subj', `/CN=${cn}`])
      const ext = opts.client
        ? ['basicConstraints=CA:FALSE', 'keyUsage=digitalSignature', 'extendedKeyUsage=clientAuth']
        : [
            'basicConstraints=CA:FALSE',
            'keyUsage=digitalSignature,keyEncipherment',
            'extendedKeyUsage=serverAuth',
            `subjectAltName=${[cn, ...(opts.dns ?? [])].map((d) => `DNS:${d}`).join(',')},IP:127.0.0.1`,
          ]
      if (opts.ocspUrl) ext.push(`authorityInfoAccess=OCSP;URI:${opts.ocspUrl}`)
      writeFileSync(path.join(dir, `${n}.ext`), `${ext.join('\n')}\n`)
      openssl(dir, [
        'x509',
        '-req',
        '-in',
        `${n}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-set_serial',
        String(1000 + n),
        '-days',
        '2',
        '-sha256',
        '-extfile',
        `${n}.ext`,
        '-out',
        `${n}.pem`,
      ])
      return { key: read(`${n}.key`), cert: read(`${n}.pem`) }
    },
    dispose() {
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
