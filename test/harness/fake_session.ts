// A stand-in for the Haraka connection auth_stamp's data_post hook sees: alice,
// authenticated, one transaction from alice@example.com with a From: field.
// Hook tests override the log and results callbacks they watch.

export interface FakeSessionHooks {
  logwarn?: (plugin: unknown, msg: string) => void
  logerror?: (plugin: unknown, msg: string) => void
  addLeadingHeader: (name: string, value: string) => void
  addResult: (plugin: unknown, result: Record<string, unknown>) => void
}

export function fakeAuthenticatedSession(hooks: FakeSessionHooks) {
  return {
    notes: { auth_user: 'alice' },
    local: { host: 'mail.example.com' },
    remote: { ip: '192.0.2.7' },
    results: { get: () => undefined },
    auth_results: () => '',
    lognotice: () => undefined,
    logwarn: hooks.logwarn ?? (() => undefined),
    logerror: hooks.logerror ?? (() => undefined),
    transaction: {
      mail_from: { address: 'alice@example.com', host: 'example.com' },
      header: { header_list: ['From: alice@example.com\n'], headers: {}, headers_decoded: {} },
      add_leading_header: hooks.addLeadingHeader,
      results: { add: hooks.addResult },
    },
  }
}
