// auth_relay as its hooks see it, for hook tests: its parsed auth_relay.ini, one fake
// directory behind both of its handles (so `state` counts the searches of either),
// and every log line it writes collected in `logs`.
import assert from 'node:assert/strict'
import { DirectoryHandle } from '../../lib/ldap/handle'
import { parseRelayConfig } from '../../lib/relay/config'
import type { AuthRelay } from '../../plugins/auth_relay/state'
import { fakeDirectory, fakeDirectoryConfig, type FakeEntry } from './fake_directory'

export function fakeRelayPlugin(
  ini: Record<string, Record<string, string>>,
  entries: FakeEntry[],
  props: Record<string, unknown> = {},
) {
  const parsed = parseRelayConfig(ini)
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join())
  const dirCfg = fakeDirectoryConfig()
  const { dir: fake, state } = fakeDirectory(dirCfg, entries)
  const logs: string[] = []
  const log = (msg: string) => void logs.push(msg)
  const plugin = {
    name: 'auth_relay',
    cfg: parsed.cfg,
    dirCfg,
    directory: new DirectoryHandle(() => fake),
    recipients: new DirectoryHandle(() => fake),
    grantFile: undefined,
    localDomains: new Set(['example.com']),
    logdebug: log,
    loginfo: log,
    lognotice: log,
    logwarn: log,
    logerror: log,
    ...props,
  } as unknown as AuthRelay
  plugin.directory.update(dirCfg)
  plugin.recipients.update(dirCfg)
  return { plugin, state, logs, dirCfg }
}
