import { type AuthContext, readsPersonalData } from '../auth/middleware.ts'
import { maskEncrypted, type PayloadVault } from '../core/payload-vault.ts'

/** How a stored exception payload is shown to one caller. */
export type PayloadView = (payload: unknown, exceptionId: string) => unknown

/**
 * Encrypted fields opened for roles that may read personal data, masked for the rest. A value whose
 * key has left the key ring is shown masked rather than failing the whole list.
 */
export function payloadView(vault: PayloadVault, c: AuthContext): PayloadView {
  if (!readsPersonalData(c)) return maskEncrypted
  return (payload, exceptionId) => {
    try {
      return vault.reveal(payload, exceptionId)
    } catch {
      return maskEncrypted(payload)
    }
  }
}
