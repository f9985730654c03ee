/** A GET with an optional bearer token: its status and body text. */
export const getAs = (url: string, token?: string) =>
  fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} }).then(async (r) => ({
    status: r.status,
    body: await r.text(),
  }))

/** One structured CloudEvent, as text, for requests where only the sender's key matters. */
export const anyEvent = (id: string) =>
  JSON.stringify({
    specversion: '1.0',
    id,
    source: 'urn:auth-test',
    type: 'retail.order.created',
    subject: 'SO-A1',
    time: new Date().toISOString(),
  })
