// A stand-in for the Haraka connection auth_stamp's data_post hook sees: alice,
// authenticated, one transaction from alice@example.com with a From: field
// (no Date or Message-ID: auth_stamp adds them with add_header, at the end).
// Hook tests override the log and results callbacks they watch.

export interface FakeSessionHooks {
  loginfo?: (plugin: unknown, msg: string) => void
  lognotice?: (plugin: unknown, msg: string) => void
  logwarn?: (plugin: unknown, msg: string) => void
  logerror?: (plugin: unknown, msg: string) => void
  addLeadingHeader: (name: string, value: string) => void
  addResult: (plugin: unknown, result: Record<string, unknown>) => void
}

export function fakeAuthenticatedSession(hooks: FakeSessionHooks) {
  const headerList = ['From: alice@example.com\n']
  return {
    notes: { auth_user: 'alice' },
    local: { host: 'mail.example.com' },
    remote: { ip: '192.0.2.7' },
    results: { get: () => undefined },
    auth_results: () => '',
    loginfo: hooks.loginfo ?? (() => undefined),
    lognotice: hooks.lognotice ?? (() => undefined),
    logwarn: hooks.logwarn ?? (() => undefined),
    logerror: hooks.logerror ?? (() => undefined),
    transaction: {
      mail_from: { address: 'alice@example.com', host: 'example.com' },
      header: { header_list: headerList, headers: {}, headers_decoded: {} },
      add_header: (name: string, value: string) => void headerList.push(`${name}: ${value}\n`),
      add_leading_header: hooks.addLeadingHeader,
      results: { add: hooks.addResult },
    },
  }
}
