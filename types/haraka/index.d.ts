// The small part of Haraka's plugin API that our plugins touch. No haraka
// package ships typings, so we own these (checked against Haraka 3.3.4).

export type Next = (code?: number, msg?: unknown) => void

export interface Results {
  add(plugin: { name: string } | Plugin, obj: Record<string, unknown>): void
  get(name: string | { name: string }): Record<string, any> | undefined
}

/**
 * @haraka/email-address 3.x Address. `address` and `host` are strings, or,
 * when Haraka core wraps the object for legacy plugins, callable string-likes:
 * read them through haraka/address.ts, never directly.
 */
export interface Address {
  readonly user: unknown
  readonly host: unknown
  readonly address: unknown
  original: string
  isNull(): boolean
  format(): string
}

export interface Header {
  get(key: string): string
  get_all(key: string): readonly string[]
  remove(key: string): void
  lines(): readonly string[]
  decode_header(value: string): string
  /** Haraka's own reading of header lines into header_list and the lookup maps */
  parse(lines: readonly string[]): void
  header_list: string[]
  headers: Record<string, string[]>
  headers_decoded: Record<string, string[]>
}

export interface Transaction {
  uuid: string
  mail_from: Address
  rcpt_to: Address[]
  header: Header
  notes: Record<string, any>
  results: Results
  add_header(key: string, value: string): void
  add_leading_header(key: string, value: string): void
  remove_header(key: string): void
  /** Haraka's store for one DATA line (wire form, CRLF-terminated); connection.accumulate_data calls it */
  add_data(line: Buffer | string): void
  message_stream: NodeJS.ReadableStream & {
    pipe(dest: NodeJS.WritableStream, opts?: Record<string, unknown>): NodeJS.WritableStream
  }
}

export interface Connection {
  uuid: string
  remote: { ip: string; port: number; host?: string; is_private?: boolean; is_local?: boolean }
  local: { ip: string; port: number; host: string }
  hello: { verb: string | null; host: string | null }
  tls: { enabled: boolean }
  notes: Record<string, any>
  results: Results
  transaction: Transaction | null
  relaying: boolean
  /** haraka-constants connection.state; DISCONNECTING and later: the client is gone */
  state: number
  capabilities: string[]
  authheader?: string
  /** the last reply Haraka wrote, CRLF-terminated lines (set by respond() before its callback runs) */
  last_response: string | null
  respond(code: number, msg: string | string[], cb?: () => void): void
  auth_results(message?: string): string
  reset_transaction(cb?: () => void): void
  disconnect(): void
  logdebug(plugin: unknown, msg: string): void
  loginfo(plugin: unknown, msg: string): void
  lognotice(plugin: unknown, msg: string): void
  logwarn(plugin: unknown, msg: string): void
  logerror(plugin: unknown, msg: string): void
}

export interface ConfigGetOptions {
  booleans?: string[]
}

export interface Config {
  get(
    name: string,
    type?: string | ConfigGetOptions | (() => void),
    cb?: (() => void) | ConfigGetOptions,
    options?: ConfigGetOptions,
  ): any
}

export interface Plugin {
  name: string
  config: Config
  timeout: number
  register_hook(hook: string, method: string, priority?: number): void
  logdebug(msg: string): void
  loginfo(msg: string): void
  lognotice(msg: string): void
  logwarn(msg: string): void
  logerror(msg: string): void
  logcrit(msg: string): void
}

export interface Server {
  notes: Record<string, any>
}
