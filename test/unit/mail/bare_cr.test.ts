// lib/mail/bare_cr: finding a CR that no LF follows in DATA lines (wire form), and removing it
// without breaking dot-stuffing (the verdict per mode: test/unit/stamp/bare_cr).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { BareCrScan, countBareCr, removeBareCr, type BareCrMode } from '../../../lib/mail/bare_cr'

const b = (s: string) => Buffer.from(s, 'latin1')
const text = (buf: Buffer) => buf.toString('latin1')

describe('countBareCr', () => {
  test('a CRLF line ending is not a bare CR', () => {
    assert.equal(countBareCr(b('Subject: hello\r\n')), 0)
    assert.equal(countBareCr(b('\r\n')), 0)
    assert.equal(countBareCr(b('')), 0)
  })
  test('every CR not directly followed by LF counts, wherever it is', () => {
    assert.equal(countBareCr(b('line one\r.\rMAIL FROM:<ceo@example.com>\r\n')), 2)
    assert.equal(countBareCr(b('\rX: y\r\n')), 1)
    assert.equal(countBareCr(b('abc\r\r\n')), 1, 'the broken CR CR LF ending has one bare CR')
    assert.equal(countBareCr(b('\r\r\r\n')), 2)
    assert.equal(countBareCr(b('ends in a CR\r')), 1)
  })
  test('a lone LF is not counted (Haraka refuses a bare LF itself)', () => {
    assert.equal(countBareCr(b('a\nb\r\n')), 0)
  })
})

describe('removeBareCr', () => {
  test('removes bare CRs and keeps the CRLF ending', () => {
    assert.equal(text(removeBareCr(b('line one\rline two\r\n'))), 'line oneline two\r\n')
    assert.equal(text(removeBareCr(b('abc\r\r\n'))), 'abc\r\n')
    assert.equal(text(removeBareCr(b('\r\r\r\n'))), '\r\n')
  })
  test('a line that then begins with "." is dot-stuffed, never the end-of-data line', () => {
    assert.equal(text(removeBareCr(b('\r.\r\n'))), '..\r\n')
    assert.equal(text(removeBareCr(b('\r.\rMAIL FROM:<x@y>\r\n'))), '..MAIL FROM:<x@y>\r\n')
  })
  test("the client's own dot-stuffing is kept, and undone where it no longer applies", () => {
    assert.equal(text(removeBareCr(b('..\rx\r\n'))), '..x\r\n', 'content ".\\rx" becomes ".x": stuffed')
    assert.equal(text(removeBareCr(b('.\r.x\r\n'))), '..x\r\n', 'content "\\r.x" becomes ".x": stuffed')
  })
  test('a line without a bare CR comes back the same', () => {
    for (const s of ['plain\r\n', '..stuffed\r\n', '\r\n']) assert.equal(text(removeBareCr(b(s))), s)
  })
})

function scanned(mode: BareCrMode, lines: string[]): { scan: BareCrScan; stored: string } {
  const scan = new BareCrScan(mode)
  const stored = lines.map((l) => text(scan.next(b(l)))).join('')
  return { scan, stored }
}

const HOSTILE = [
  'From: a@example.com\r\n',
  'Subject: hi\r\n',
  '\r\n',
  'line one\r.\rMAIL FROM:<ceo@example.com>\r\n',
  'bye\r\n',
]

describe('BareCrScan', () => {
  test('counts bare CRs, the lines holding them, and where the first one is', () => {
    const { scan, stored } = scanned('refuse', HOSTILE)
    assert.equal(scan.lines, 5)
    assert.equal(scan.bareCrs, 2)
    assert.equal(scan.linesWithBareCr, 1)
    assert.equal(scan.firstLine, 4)
    assert.equal(scan.firstIn, 'body')
    assert.equal(stored, HOSTILE.join(''), 'refuse and allow store the lines as sent')
  })
  test('a bare CR in the header section is found as such', () => {
    const { scan } = scanned('allow', ['Subject: hi\rBcc: x@example.com\r\n', '\r\n', 'body\r\n'])
    assert.equal(scan.firstLine, 1)
    assert.equal(scan.firstIn, 'header')
  })
  test('remove: the stored lines have no bare CR; a CR CR LF blank line still ends the header section', () => {
    const { scan, stored } = scanned('remove', ['Subject: hi\r\r\n', '\r\r\n', 'a\rb\r\n', 'c\r\n'])
    assert.equal(stored, 'Subject: hi\r\n\r\nab\r\nc\r\n')
    assert.equal(countBareCr(b(stored)), 0)
    assert.equal(scan.bareCrs, 3)
    assert.equal(scan.firstIn, 'header')
  })
})
