/**
 * Fake customers with realistic-looking personal data (names, emails, street addresses), so that
 * redaction and masking are exercised on data that looks like the real thing. Deterministic per index.
 */
const FIRST = [
  'Ada',
  'Grace',
  'Alan',
  'Margaret',
  'Linus',
  'Barbara',
  'Dennis',
  'Frances',
  'Ken',
  'Radia',
  'Tim',
  'Hedy',
]
const LAST = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Hamilton',
  'Torvalds',
  'Liskov',
  'Ritchie',
  'Allen',
  'Thompson',
  'Perlman',
  'Berners-Lee',
  'Lamarr',
]
const STREETS = [
  'Market Street',
  'High Street',
  'Station Road',
  'Church Lane',
  'Mill Road',
  'Park Avenue',
  'Harbour Way',
]
const CITIES: Array<[string, string]> = [
  ['London', 'N1 7AA'],
  ['Manchester', 'M1 4BT'],
  ['Leeds', 'LS1 5DL'],
  ['Bristol', 'BS1 6QH'],
  ['Glasgow', 'G1 3SL'],
]

export interface Customer {
  readonly name: string
  readonly email: string
  readonly phone: string
  readonly address: { readonly line1: string; readonly city: string; readonly postalCode: string }
}

export function customer(n: number): Customer {
  const first = FIRST[n % FIRST.length] as string
  const last = LAST[Math.floor(n / FIRST.length) % LAST.length] as string
  const [city, postalCode] = CITIES[n % CITIES.length] as [string, string]
  return {
    name: `${first} ${last}`,
    email: `${first}.${last}.${n}@example.com`.toLowerCase(),
    phone: `+44 7700 ${String(900000 + (n % 99999)).slice(-6)}`,
    address: { line1: `${1 + (n % 180)} ${STREETS[n % STREETS.length]}`, city, postalCode },
  }
}
