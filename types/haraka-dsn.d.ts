declare module 'haraka-dsn' {
  class DSN {
    code: number
    reply: string | string[]
    static create(code: number, msg: string, subject?: number, detail?: number): DSN
  }
  export = DSN
}
declare module 'haraka-constants' {
  export const cont: number
  export const stop: number
  export const deny: number
  export const denysoft: number
  export const denydisconnect: number
  export const denysoftdisconnect: number
  export const disconnect: number
  export const ok: number
  export const next_hook: number
  /** Connection states; DISCONNECTING and later: the client is gone */
  export const connection: { state: { DISCONNECTING: number; DISCONNECTED: number } & Record<string, number> }
}
