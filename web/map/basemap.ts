/**
 * The offline basemap: Natural Earth countries from the world-atlas package
 * (TopoJSON, converted with topojson-client), land filled and borders stroked
 * on a canvas, over a sea background (the container's colour). No network:
 * the 1:110m set (108 kB of JSON) is in the page's bundle and draws at once;
 * the 1:50m set (756 kB of JSON, its own chunk from the page's own origin) is
 * loaded the first time the view is zoomed in to `DETAIL_ZOOM`, where 110m
 * coastlines are visibly off (tens of kilometres). 1:10m (3.7 MB) is not
 * shipped: at field zoom any scale is a sketch, a tile server (relay-config's
 * map.tileUrl) or a georeferenced chart is the real answer.
 */
import type { FeatureCollection } from "geojson";
import * as L from "leaflet";
import { feature } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";
import countries110 from "world-atlas/countries-110m.json" with { type: "json" };

/** From this zoom on the 1:50m set is drawn. */
export const DETAIL_ZOOM = 4;

export function toFeatures(topology: unknown): FeatureCollection {
  const t = topology as Topology<{ countries: GeometryCollection }>;
  return feature(t, t.objects.countries) as FeatureCollection;
}

const STYLE: L.PathOptions = {
  color: "#4a5a6a",
  weight: 0.8,
  fillColor: "#1c2530",
  fillOpacity: 1,
  opacity: 1,
  interactive: false,
};

/** Adds the basemap to `map` in `pane` (own canvas); tells `onScale` which set is drawn ("110m" / "50m"). */
export function addBasemap(map: L.Map, pane: string, onScale: (scale: string, features: number) => void): void {
  const renderer = L.canvas({ pane, padding: 0.3 });
  const coarse = toFeatures(countries110);
  let layer = L.geoJSON(coarse, { style: () => STYLE, renderer } as L.GeoJSONOptions).addTo(map);
  onScale("110m", coarse.features.length);
  let loading = false;
  const maybeDetail = () => {
    if (loading || map.getZoom() < DETAIL_ZOOM) return;
    loading = true;
    map.off("zoomend", maybeDetail);
    import("world-atlas/countries-50m.json", { with: { type: "json" } }).then(
      (m) => {
        const fine = toFeatures((m as { default: unknown }).default ?? m);
        const next = L.geoJSON(fine, { style: () => STYLE, renderer } as L.GeoJSONOptions).addTo(map);
        layer.remove();
        layer = next;
        onScale("50m", fine.features.length);
      },
      () => {
        // The chunk could not load (an old cached page after an upgrade): 110m stays.
      },
    );
  };
  map.on("zoomend", maybeDetail);
  map.whenReady(maybeDetail);
}
