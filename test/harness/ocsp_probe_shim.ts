// Preloaded into a test Haraka (NODE_OPTIONS=--require) to get past a bug in Haraka
// 3.3.4: tls_socket's OCSPRequest handler does `await ocspCache.probe(req.id)`, but
// @haraka/ocsp's Cache#probe takes a callback and calls it unconditionally, so the
// first client that asks for a stapled OCSP response (with a servername) throws
// "callback is not a function" and Haraka shuts down. This shim lets probe() also
// answer as a promise when no callback is given, so the stapling path can be tested.
import path from 'node:path'
import { REPO } from './paths'

interface OcspCache {
  cache: Record<string, unknown>
}
type Probe = (this: OcspCache, id: string, cb?: (err: Error | null, hit: unknown) => void) => unknown

const ocsp = require(
  require.resolve('@haraka/ocsp', { paths: [path.join(REPO, 'node_modules/Haraka')] }),
) as { Cache: { prototype: { probe: Probe } } }
const probe = ocsp.Cache.prototype.probe
ocsp.Cache.prototype.probe = function (this: OcspCache, id, cb) {
  if (typeof cb === 'function') return probe.call(this, id, cb)
  return new Promise((resolve) => probe.call(this, id, (_err, hit) => resolve(hit)))
}
