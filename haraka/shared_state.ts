// The process's one StateStore (lib/state) for the abuse limits, shared by
// ldap_auth (the AUTH limiter) and auth_relay (containment) through server.notes:
// per-process memory by default. (The Redis-backed store, through haraka-plugin-redis
// with a per-process fallback, plugs in here.)
import type { Connection } from 'haraka'
import { MemoryStateStore } from '../lib/state/memory'
import type { StateStore } from '../lib/state/store'

const NOTE = 'ldap_submission_state'

type WithServer = { server?: { notes?: Record<string, unknown> } }

/** The store of the process this session runs in. */
export function sharedState(connection: Connection): StateStore {
  const server = (connection as Connection & WithServer).server
  const notes = server?.notes
  if (!notes) return processFallback
  let store = notes[NOTE] as StateStore | undefined
  if (!store) {
    store = new MemoryStateStore()
    notes[NOTE] = store
  }
  return store
}

/** For a session that has no server object (test doubles): one store per process all the same. */
const processFallback: StateStore = new MemoryStateStore()
