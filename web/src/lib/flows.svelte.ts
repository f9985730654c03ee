import { api, type Flows, read } from './api.ts'

export type Flow = Flows['flows'][number]

/**
 * The configured flows (`GET /api/flows`, flows.yaml), read once when first asked for: the
 * navigation, the overview and the entity pages are built from them, so a flow added to the
 * configuration shows here with no change to the web app.
 */
class ConfiguredFlows {
  #list = $state<readonly Flow[]>([])
  #loaded: Promise<readonly Flow[]> | undefined

  /** The flows once read; a refusal (sign-in needed) rejects, for the page to show. */
  get loaded(): Promise<readonly Flow[]> {
    if (!this.#loaded) {
      this.#loaded = read(api.flows.$get()).then((r) => r.flows)
      this.#loaded.then(
        (flows) => {
          this.#list = flows
        },
        () => {},
      )
    }
    return this.#loaded
  }

  /** The flows read so far (none until `loaded` settles). */
  get list(): readonly Flow[] {
    void this.loaded
    return this.#list
  }

  /** The flow an entity type goes through, once the flows are read. */
  of(entityType: string): Flow | undefined {
    return this.list.find((f) => f.entity === entityType)
  }
}

export const configuredFlows = new ConfiguredFlows()
