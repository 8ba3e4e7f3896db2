// The swaks transcript reader, on a fixed transcript (no swaks run): multi-line replies,
// TLS and error prefixes, enhanced codes, and the lines swaks sent.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseTranscript } from './swaks'

const TRANSCRIPT = [
  '=== Trying 127.0.0.1:2587...',
  '<-  220 mail.example.com ESMTP Haraka/3.3.4 ready',
  ' -> EHLO client.example.net',
  '<-  250-mail.example.com Hello',
  '<-  250 STARTTLS',
  ' -> STARTTLS',
  '<-  220 Go ahead.',
  '=== TLS started with cipher TLSv1.3:TLS_AES_256_GCM_SHA384:256',
  ' ~> AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAFBST1ZJREVEX0JVVF9SRU1PVkVE',
  '<~  235 2.7.0 Authentication successful',
  ' ~> MAIL FROM:<bob@example.com>',
  '<~* 553 5.7.1 Sender address not owned',
  '*~> QUIT',
  '<** 550 5.7.1 relaying denied',
  '<~  250 ',
].join('\n')

test('replies: code, enhanced code, text, TLS; sent lines without their prefix', () => {
  const { replies, sent } = parseTranscript(TRANSCRIPT)
  assert.deepEqual(
    replies.map((r) => [r.code, r.enhanced, r.text, r.tls]),
    [
      [220, undefined, 'mail.example.com ESMTP Haraka/3.3.4 ready', false],
      [250, undefined, 'mail.example.com Hello | STARTTLS', false],
      [220, undefined, 'Go ahead.', false],
      [235, '2.7.0', 'Authentication successful', true],
      [553, '5.7.1', 'Sender address not owned', true],
      [550, '5.7.1', 'relaying denied', false],
      [250, undefined, '', true],
    ],
  )
  assert.deepEqual(sent, [
    'EHLO client.example.net',
    'STARTTLS',
    'AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAFBST1ZJREVEX0JVVF9SRU1PVkVE',
    'MAIL FROM:<bob@example.com>',
    'QUIT',
  ])
})
