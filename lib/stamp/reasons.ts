// The reasons of auth_stamp's rules, as its results labels `rule(reason)` show
// them (README, Results), added to lib/decisions' Reasons at the end; the judges
// in lib/stamp (plan, identity, bare_cr) decide them.
import type { SignObstacle, VerifyFailure } from './sign'

/** stamp(...): what was done to a message from an authenticated session (or with a verified stamp) */
export type StampReason =
  | 'identity'
  | 'identity_from_stamp'
  | 'signed'
  | 'date_added'
  | 'message_id_added'
  | 'unauthenticated'
  | 'internal_error'

/** sign(...): why a message sign mode would sign was not signed */
export type SignReason = SignObstacle | 'body_unreadable'

/** verify(...): the verify-mode verdict on the stamp of a message from an unauthenticated session */
export type VerifyReason = 'valid' | VerifyFailure

/** address(...): the identity_value=address lookup of the login's primary address */
export type AddressReason =
  'primary' | 'no_entry' | 'no_address' | 'directory_unavailable' | 'directory_not_configured'

/** bare_cr(...): a message whose data has a bare CR, by the bare_cr mode; not_scanned: not looked at */
export type BareCrReason = 'refused' | 'removed' | 'allowed' | 'not_scanned'

declare module '../decisions' {
  interface Reasons {
    stamp: StampReason
    address: AddressReason
    verify: VerifyReason
    sign: SignReason
    bare_cr: BareCrReason
  }
}
