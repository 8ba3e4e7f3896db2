// Filter and DN templates with %u/%l/%d placeholders, compiled once at config
// load into tokens, so a bad template is a load error and rendering is a join.

export type Placeholder = 'u' | 'l' | 'd'

export type Token = { kind: 'text'; text: string } | { kind: 'slot'; name: Placeholder }

export interface LoginParts {
  /** %u: the whole login as given (trimmed) */
  u: string
  /** %l: the part before the last `@` (the whole login when it has none) */
  l: string
  /** %d: the part after the last `@`, lower-cased ('' when there is none) */
  d: string
}

const PLACEHOLDERS = new Set<string>(['u', 'l', 'd'])

/** Compile a template; `%%` is a literal percent. Throws on unknown or dangling placeholders. */
export function compileTemplate(template: string): Token[] {
  const tokens: Token[] = []
  let text = ''
  for (let i = 0; i < template.length; i++) {
    const ch = template[i]
    if (ch !== '%') {
      text += ch
      continue
    }
    const next = template[i + 1]
    i++
    if (next === '%') {
      text += '%'
      continue
    }
    if (next === undefined || !PLACEHOLDERS.has(next)) {
      throw new Error(
        `unknown placeholder %${next ?? ''} in ${JSON.stringify(template)} (use %u, %l, %d or %%)`,
      )
    }
    if (text) tokens.push({ kind: 'text', text })
    text = ''
    tokens.push({ kind: 'slot', name: next as Placeholder })
  }
  if (text) tokens.push({ kind: 'text', text })
  return tokens
}

export function hasSlot(tokens: readonly Token[]): boolean {
  return tokens.some((t) => t.kind === 'slot')
}

/** Render with every slot value passed through `escape` (RFC 4515 or RFC 4514). */
export function renderTemplate(
  tokens: readonly Token[],
  parts: LoginParts,
  escape: (v: string) => string,
): string {
  return tokens.map((t) => (t.kind === 'text' ? t.text : escape(parts[t.name]))).join('')
}

/** Split a login into the placeholder values. */
export function loginParts(login: string): LoginParts {
  const at = login.lastIndexOf('@')
  if (at < 0) return { u: login, l: login, d: '' }
  return { u: login, l: login.slice(0, at), d: login.slice(at + 1).toLowerCase() }
}
