/**
 * What the big-plan scenario runs inside the page (Chromium), as plain
 * JavaScript text: tsx compiles the bench with helpers (`__name`) that a
 * function handed to `page.evaluate` would carry into a page without them,
 * so these are strings, not functions. Installed with `page.addInitScript`
 * before the page's own code runs.
 *
 * It knows nothing of the page's code: markers are found by waypoint id in the
 * map element (`[data-testid=map]`, any element with `data-wp-id`, `data-id`
 * or `data-testid="marker-<id>"`), so it measures the SVG map and a Leaflet one
 * alike, and the baseline build as well as the current one.
 */
export const PROBE = String.raw`
(() => {
  const B = {
    recording: false,
    frames: [],
    longtasks: [],
    keys: [],
    moves: [],
    watchId: undefined,
    watchEl: undefined,
    lastPos: undefined,
  };
  window.__bench = B;
  try {
    new PerformanceObserver((list) => {
      if (!B.recording) return;
      for (const e of list.getEntries()) B.longtasks.push(e.duration);
    }).observe({ type: "longtask", buffered: false });
  } catch {}
  B.marker = (id) => {
    const map = document.querySelector('[data-testid="map"]');
    if (!map) return null;
    const q = CSS.escape(id);
    const el = map.querySelector('[data-wp-id="' + q + '"], [data-id="' + q + '"], [data-testid="marker-' + q + '"]');
    if (!el) return null;
    return el.querySelector(".shape") || el;
  };
  B.centre = (el) => {
    const r = el.getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2, w: r.width, h: r.height };
  };
  /** A marker well inside the map whose centre hits itself (no label or other marker on top). */
  B.pickMarker = (fromX, fromY) => {
    const map = document.querySelector('[data-testid="map"]');
    const box = map.getBoundingClientRect();
    const cx = box.left + box.width * fromX;
    const cy = box.top + box.height * fromY;
    const els = [...map.querySelectorAll("[data-wp-id], [data-id], [data-testid^='marker-']")];
    const found = [];
    for (const el of els) {
      const id = el.dataset.wpId || el.dataset.id || (el.dataset.testid || "").replace(/^marker-/, "");
      if (!id) continue;
      const target = el.querySelector(".shape") || el;
      const c = B.centre(target);
      if (c.w === 0 || c.x < box.left + 40 || c.x > box.right - 40 || c.y < box.top + 40 || c.y > box.bottom - 40) continue;
      const hit = document.elementFromPoint(c.x, c.y);
      const owner = hit && hit.closest("[data-wp-id], [data-id], [data-testid^='marker-']");
      if (owner !== el) continue;
      found.push({ id, x: c.x, y: c.y, d: (c.x - cx) ** 2 + (c.y - cy) ** 2 });
    }
    found.sort((a, b) => a.d - b.d);
    return found[0] || null;
  };
  B.start = () => {
    B.frames = [];
    B.longtasks = [];
    B.keys = [];
    B.moves = [];
    B.recording = true;
    let last;
    const loop = (t) => {
      if (!B.recording) return;
      if (last !== undefined) B.frames.push(t - last);
      last = t;
      if (B.watchId) {
        // Found once and kept while it is in the page: a search of the map's 2,000 markers
        // every frame cost the follower ~2 ms a frame (a trace of scenario 12), the probe's
        // own load on the machine it measures.
        if (!B.watchEl || !B.watchEl.isConnected) B.watchEl = B.marker(B.watchId);
        const el = B.watchEl;
        if (el) {
          const c = B.centre(el);
          const key = Math.round(c.x * 10) + "," + Math.round(c.y * 10);
          if (B.lastPos !== undefined && key !== B.lastPos) B.moves.push(Date.now());
          B.lastPos = key;
        }
      }
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  };
  B.stop = () => {
    B.recording = false;
    return { frames: B.frames, longtasks: B.longtasks, keys: B.keys, moves: B.moves };
  };
  /** The follower: every frame, whether the watched marker moved on screen (one count per distinct place). */
  B.watch = (id) => {
    B.watchId = id;
    B.watchEl = undefined;
    B.lastPos = undefined;
  };
  /** Typing: input event -> the next animation frame, per keystroke. */
  B.timeKeys = (selector) => {
    const el = document.querySelector(selector);
    el.addEventListener("input", (e) => {
      if (!B.recording) return;
      const t0 = e.timeStamp;
      requestAnimationFrame(() => B.keys.push(performance.now() - t0));
    });
  };
  /** The nearest scrolling ancestor of the route list (the list itself once it virtualises). */
  B.scroller = () => {
    let el = document.querySelector('[data-testid="route-list"]');
    while (el && el !== document.body) {
      const st = getComputedStyle(el);
      if (/(auto|scroll)/.test(st.overflowY) && el.scrollHeight > el.clientHeight + 1) return el;
      el = el.parentElement;
    }
    return document.scrollingElement;
  };
})();
`;
