// Self-signed certificate for the demo and test instances. Production installs
// configure their own key/cert in config/tls.ini; this only fills the gap at first start.
import { existsSync, writeFileSync } from 'node:fs'
import { generate } from 'selfsigned'

export interface KeyPair {
  key: string
  cert: string
}

/** A fresh self-signed server certificate for `hostname`, valid for loopback too. */
export async function generateSelfSigned(hostname: string): Promise<KeyPair> {
  const pems = await generate([{ name: 'commonName', value: hostname }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: hostname },
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  })
  return { key: pems.private, cert: pems.cert }
}

/** Write key and cert files unless both already exist; true when it generated them. */
export async function ensureCertFiles(keyPath: string, certPath: string, hostname: string): Promise<boolean> {
  if (existsSync(keyPath) && existsSync(certPath)) return false
  const pair = await generateSelfSigned(hostname)
  writeFileSync(keyPath, pair.key, { mode: 0o600 })
  writeFileSync(certPath, pair.cert)
  return true
}
