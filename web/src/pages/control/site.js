// The community's places and watched residents, shared by the tree, the site plan, the
// occupancy panel and the wall screen; reloaded when the stream says an alert or a device
// changed (several changes in a burst make one reload).
import { reactive } from "vue";
import { get } from "../../api.js";
import { can } from "../../session.js";

const SETTLE_MS = 400;

export function useSite(community) {
  // `version` counts the loads: the charts reload with it, once per burst of changes.
  const site = reactive({ places: null, watch: null, loaded: false, version: 0 });
  let timer = null;

  async function load() {
    const id = community();
    if (!id) return;
    const [places, watch] = await Promise.all([
      get(`communities/${id}/places`).catch(() => null),
      can("residents:read") ? get(`communities/${id}/watch`).catch(() => null) : null,
    ]);
    Object.assign(site, { places, watch, loaded: true, version: site.version + 1 });
  }

  function reload() {
    clearTimeout(timer);
    timer = setTimeout(load, SETTLE_MS);
  }

  /** Every building, with its grid, in the order of the tree. */
  function buildings() {
    return (site.places?.grids || []).flatMap((g) => (g.buildings || []).map((b) => ({ ...b, grid: g.id, gridName: g.name })));
  }

  return { site, load, reload, buildings };
}
