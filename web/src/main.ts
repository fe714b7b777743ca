// The lcstore viewer: Overview, Objects, Light curves, Sky and Image tabs
// over the JSON API of `lcstore serve`. The view's state lives in the URL.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { allObjects, ApiError, CutoutMarkers, getJson, Info, LightCurve, ObjectPage, ObjectRow, queryString } from "./api";
import { readState, ViewState, writeState } from "./state";

const MAX_PANELS = 20;
const TABS: [string, string][] = [
  ["overview", "Overview"],
  ["objects", "Objects"],
  ["curves", "Light curves"],
  ["sky", "Sky"],
  ["image", "Image"],
];

let info: Info;
let objects: ObjectRow[] = [];
let byKey = new Map<string, ObjectRow>();
let state: ViewState = readState();
const page = document.getElementById("page") as HTMLElement;

function element<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, text = ""): HTMLElementTagNameMap[K] {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, value);
  if (text) made.textContent = text;
  return made;
}

function showError(where: HTMLElement, error: unknown): void {
  const message = error instanceof ApiError ? `${error.subject}: ${error.reason}` : String(error);
  where.append(element("p", { class: "error" }, message));
}

function update(change: Partial<ViewState>): void {
  state = { ...state, ...change };
  writeState(state);
  render();
}

function toggleSelected(key: string): void {
  const selected = state.selected.includes(key) ? state.selected.filter((k) => k !== key) : [...state.selected, key];
  update({ selected });
}

function renderTabs(): void {
  const nav = document.getElementById("tabs") as HTMLElement;
  nav.replaceChildren(
    ...TABS.map(([id, label]) => {
      const button = element("button", { "data-tab": id, class: id === state.tab ? "active" : "" }, label);
      button.onclick = () => update({ tab: id });
      return button;
    }),
  );
  const summary = document.getElementById("selection-summary") as HTMLElement;
  summary.textContent = state.selected.length ? `selected: ${state.selected.join(", ")}` : "no object selected";
}

// ---- Overview ---------------------------------------------------------------

function renderOverview(): void {
  const dl = element("dl");
  const add = (term: string, value: string) => dl.append(element("dt", {}, term), element("dd", {}, value));
  add("shape", `${info.shape.join(" x ")} (object, measurement, value, epoch)`);
  add("measurements", info.measurements.join(", "));
  add("values", info.values.join(", "));
  add("write layout", `chunks [${info.write_layout.chunks.join(", ")}]`);
  const read = info.read_layout;
  add("read layout", read.status === "current" ? `current, shards [${read.shards?.join(", ")}]` : `${read.status} (queries read the write layout)`);
  add("RA range", info.ra_range.map((v) => v.toFixed(5)).join(" .. "));
  add("Dec range", info.dec_range.map((v) => v.toFixed(5)).join(" .. "));
  add("images", info.images.join(", ") || "none");
  const table = element("table", { class: "epochs" });
  const columns = ["epoch", ...info.epoch_variables];
  table.append(element("tr"));
  for (const column of columns) table.rows[0].append(element("th", {}, column));
  info.epochs.epoch.forEach((_, e) => {
    const row = element("tr");
    for (const column of columns) row.append(element("td", {}, String(info.epochs[column][e])));
    table.append(row);
  });
  page.replaceChildren(element("h2", {}, "Store"), dl, element("h2", {}, "Epochs"), table);
}

// ---- Objects: a virtualized table of every object --------------------------

const ROW_HEIGHT = 24;

function visibleObjects(): ObjectRow[] {
  const search = state.search.trim();
  const rows = search ? objects.filter((o) => o.object.includes(search)) : [...objects];
  const key = state.sort as keyof ObjectRow;
  rows.sort((a, b) => {
    const left = a[key] as number | string, right = b[key] as number | string;
    const order = key === "object" ? String(left).localeCompare(String(right), undefined, { numeric: true }) : Number(left) - Number(right);
    return state.descending ? -order : order;
  });
  return rows;
}

function renderObjects(): void {
  const rows = visibleObjects();
  const search = element("input", { id: "object-search", placeholder: "search by id", value: state.search });
  search.oninput = () => {
    state.search = search.value;
    writeState(state);
    fill(visibleObjects());
  };
  const count = element("span", { class: "count" });
  const header = element("div", { class: "row header" });
  const columns: [keyof ObjectRow, string][] = [["object", "object"], ["ra", "ra"], ["dec", "dec"], ["x", "x_image"], ["y", "y_image"]];
  header.append(element("span", {}, ""));
  for (const [key, label] of columns) {
    const arrow = state.sort === key ? (state.descending ? " ▼" : " ▲") : "";
    const cell = element("span", { class: "sortable", "data-sort": key }, label + arrow);
    cell.onclick = () => update({ sort: key, descending: state.sort === key ? !state.descending : false });
    header.append(cell);
  }
  const viewport = element("div", { class: "viewport", id: "object-table" });
  const spacer = element("div", { class: "spacer" });
  viewport.append(spacer);
  let shown: ObjectRow[] = rows;
  const draw = () => {
    const first = Math.floor(viewport.scrollTop / ROW_HEIGHT);
    const last = Math.min(shown.length, first + Math.ceil(viewport.clientHeight / ROW_HEIGHT) + 2);
    const made: HTMLElement[] = [];
    for (let i = first; i < last; ++i) {
      const o = shown[i];
      const row = element("div", { class: "row", "data-object": o.object });
      row.style.top = `${i * ROW_HEIGHT}px`;
      const box = element("input", { type: "checkbox" });
      box.checked = state.selected.includes(o.object);
      box.onchange = () => toggleSelected(o.object);
      row.append(box, ...[o.object, o.ra.toFixed(6), o.dec.toFixed(6), o.x.toFixed(1), o.y.toFixed(1)].map((t) => element("span", {}, t)));
      made.push(row);
    }
    spacer.replaceChildren(...made);
  };
  const fill = (next: ObjectRow[]) => {
    shown = next;
    spacer.style.height = `${shown.length * ROW_HEIGHT}px`;
    count.textContent = `${shown.length} of ${objects.length} objects`;
    draw();
  };
  viewport.onscroll = draw;
  const plot = element("button", { id: "plot-selected" }, "Plot the selected");
  plot.onclick = () => update({ tab: "curves" });
  const clear = element("button", {}, "Clear the selection");
  clear.onclick = () => update({ selected: [] });
  page.replaceChildren(element("div", { class: "toolbar" }), header, viewport);
  page.firstElementChild!.append(search, count, plot, clear);
  fill(rows);
}

// ---- Light curves ------------------------------------------------------------

function xValues(): number[] {
  const column = info.epochs[state.x] ?? info.epochs.epoch;
  return column.map((v, e) => (typeof v === "number" ? v : e));
}

function renderCurves(): void {
  const measurement = state.measurement || info.measurements[0];
  const controls = element("div", { class: "toolbar" });
  const pickMeasurement = element("select", { id: "measurement" });
  for (const m of info.measurements) pickMeasurement.append(new Option(m, m, false, m === measurement));
  pickMeasurement.onchange = () => update({ measurement: pickMeasurement.value });
  const pickX = element("select", { id: "x-variable" });
  for (const v of ["epoch", ...info.epoch_variables]) pickX.append(new Option(v, v, false, v === state.x));
  pickX.onchange = () => update({ x: pickX.value });
  const period = element("input", { id: "period", placeholder: "fold: period (x units)", value: state.period, size: "18" });
  period.onchange = () => update({ period: period.value });
  const overlay = element("input", { id: "overlay", type: "checkbox" });
  overlay.checked = state.overlay;
  overlay.onchange = () => update({ overlay: overlay.checked });
  const exportLink = element("a", { id: "export-csv", download: "lightcurves.csv" }, "Export CSV");
  const exportVot = element("a", { id: "export-votable", download: "lightcurves.vot" }, "VOTable");
  const exportEcsv = element("a", { id: "export-ecsv", download: "lightcurves.ecsv" }, "ECSV");
  const ids = state.selected.slice(0, MAX_PANELS).join(",");
  exportLink.href = `api/export?${queryString({ ids, measurement, format: "csv" })}`;
  exportVot.href = `api/export?${queryString({ ids, measurement, format: "votable" })}`;
  exportEcsv.href = `api/export?${queryString({ ids, measurement, format: "ecsv" })}`;
  controls.append("measurement ", pickMeasurement, " x ", pickX, " ", period, element("label", {}, " overlay "), overlay, " ", exportLink, " ", exportEcsv, " ", exportVot);
  const hover = element("div", { id: "hover" }, "");
  const panels = element("div", { class: "panels" });
  page.replaceChildren(controls, hover, panels);
  if (!state.selected.length) {
    panels.append(element("p", {}, "Select objects in the Objects or Sky tab."));
    return;
  }
  if (state.selected.length > MAX_PANELS) panels.append(element("p", {}, `showing the first ${MAX_PANELS} of ${state.selected.length}`));
  getJson<{ curves: LightCurve[] }>("api/lightcurves", { ids, measurement })
    .then(({ curves }) => drawCurves(panels, hover, curves, measurement))
    .catch((error) => showError(panels, error));
}

function drawCurves(panels: HTMLElement, hover: HTMLElement, curves: LightCurve[], measurement: string): void {
  const [magName, errName] = info.values;
  const period = Number(state.period);
  const folding = state.period !== "" && Number.isFinite(period) && period > 0;
  const raw = xValues();
  const x0 = Math.min(...raw.filter(Number.isFinite));
  const xs = folding ? raw.map((v) => (((v - x0) / period) % 1 + 1) % 1) : raw;
  // uPlot wants ascending x: every series is put in this order.
  const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
  const sortedX = order.map((i) => xs[i]);
  const keys = info.epochs.epoch;
  const errorBars = (errors: (number | null)[][]) => (u: uPlot) => {
    const ctx = u.ctx;
    ctx.save();
    ctx.lineWidth = devicePixelRatio;
    u.series.forEach((series, s) => {
      if (s === 0 || !series.show) return;
      ctx.strokeStyle = series.stroke as string;
      const ys = u.data[s];
      for (let i = 0; i < ys.length; ++i) {
        const y = ys[i], e = errors[s - 1][i];
        if (y == null || e == null) continue;
        const px = u.valToPos(u.data[0][i], "x", true);
        ctx.beginPath();
        ctx.moveTo(px, u.valToPos(y - e, "y", true));
        ctx.lineTo(px, u.valToPos(y + e, "y", true));
        ctx.stroke();
      }
    });
    ctx.restore();
  };
  const colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];
  const groups = state.overlay ? [curves] : curves.map((c) => [c]);
  for (const group of groups) {
    const mags = group.map((c) => order.map((i) => c.data[measurement][magName][i]));
    const errors = group.map((c) => order.map((i) => (errName ? c.data[measurement][errName][i] : null)));
    const finite = mags.flat().filter((v) => v !== null).length;
    const panel = element("div", { class: "panel", "data-objects": group.map((c) => c.object).join(","), "data-points": String(finite) });
    panels.append(panel);
    const options: uPlot.Options = {
      title: group.map((c) => `object ${c.object}`).join(", ") + ` (${finite} points${folding ? `, folded at P = ${period}` : ""})`,
      width: Math.min(900, page.clientWidth - 20),
      height: 260,
      scales: { x: { time: false }, y: { dir: -1 } },
      axes: [{ label: folding ? `phase (P = ${period})` : state.x }, { label: `${magName} (${measurement})` }],
      series: [
        {},
        ...group.map((c, k) => ({
          label: c.object,
          stroke: colors[k % colors.length],
          paths: () => null,
          points: { show: true, size: 6, fill: colors[k % colors.length] },
        })),
      ],
      cursor: { drag: { x: true, y: true, uni: 20 } },
      hooks: {
        draw: [errorBars(errors)],
        setCursor: [
          (u: uPlot) => {
            const idx = u.cursor.idx;
            if (idx == null) return;
            const epoch = order[idx];
            const values = group.map((c, k) => `${c.object}: ${mags[k][idx] ?? "missing"}`).join("  ");
            hover.textContent = `epoch ${keys[epoch]} (${state.x} ${raw[epoch]}): ${values}`;
          },
        ],
      },
    };
    new uPlot(options, [sortedX, ...mags] as uPlot.AlignedData, panel);
  }
}

// ---- Sky ----------------------------------------------------------------------

function renderSky(): void {
  const width = Math.min(900, page.clientWidth - 20), height = 600, pad = 20;
  const canvas = element("canvas", { id: "sky", width: String(width), height: String(height) });
  const [raMin, raMax] = info.ra_range, [decMin, decMax] = info.dec_range;
  const raMid = (raMin + raMax) / 2, decMid = (decMin + decMax) / 2;
  // A degree of RA spans cos(dec) degrees on the sky; east is left.
  const raScale = Math.cos((decMid * Math.PI) / 180);
  const scale = Math.min((width - 2 * pad) / ((raMax - raMin) * raScale || 1e-9), (height - 2 * pad) / (decMax - decMin || 1e-9));
  canvas.dataset.projection = JSON.stringify({ raMid, decMid, raScale, scale, width, height });
  const px = (ra: number) => width / 2 - (ra - raMid) * raScale * scale;
  const py = (dec: number) => height / 2 - (dec - decMid) * scale;
  const ctx = canvas.getContext("2d")!;
  const results = element("div", { id: "cone-results" });
  const draw = (circle?: [number, number, number]) => {
    ctx.clearRect(0, 0, width, height);
    for (const o of objects) {
      const selected = state.selected.includes(o.object);
      ctx.fillStyle = selected ? "#d62728" : "#333";
      const r = selected ? 3 : 1.5;
      ctx.fillRect(px(o.ra) - r, py(o.dec) - r, 2 * r, 2 * r);
    }
    if (circle) {
      ctx.strokeStyle = "#1f77b4";
      ctx.beginPath();
      ctx.arc(circle[0], circle[1], circle[2], 0, 2 * Math.PI);
      ctx.stroke();
    }
  };
  const toSky = (x: number, y: number) => ({ ra: raMid - (x - width / 2) / (raScale * scale), dec: decMid - (y - height / 2) / scale });
  let start: [number, number] | null = null;
  canvas.onmousedown = (event) => (start = [event.offsetX, event.offsetY]);
  canvas.onmousemove = (event) => {
    if (start) draw([start[0], start[1], Math.hypot(event.offsetX - start[0], event.offsetY - start[1])]);
  };
  canvas.onmouseup = (event) => {
    if (!start) return;
    const [x, y] = start;
    start = null;
    const radiusPixels = Math.hypot(event.offsetX - x, event.offsetY - y);
    if (radiusPixels < 4) {
      // A click: the nearest object within 8 pixels is plotted.
      let best: ObjectRow | null = null, bestDistance = 8;
      for (const o of objects) {
        const d = Math.hypot(px(o.ra) - x, py(o.dec) - y);
        if (d < bestDistance) [best, bestDistance] = [o, d];
      }
      if (best) update({ selected: [best.object], tab: "curves" });
      return;
    }
    const centre = toSky(x, y);
    const radius = (radiusPixels / scale) * 3600;
    getJson<ObjectPage>("api/objects", { ra: centre.ra, dec: centre.dec, radius, limit: info.limits.max_page })
      .then((found) => {
        const select = element("button", { id: "select-cone" }, `select these ${found.objects.length}`);
        select.onclick = () => update({ selected: found.objects.map((o) => o.object) });
        results.replaceChildren(element("p", {}, `cone of ${radius.toFixed(1)}": ${found.total} objects `), select);
      })
      .catch((error) => showError(results, error));
  };
  draw();
  page.replaceChildren(element("p", {}, "Click an object to plot it; drag a circle for a cone search."), canvas, results);
}

// ---- Image --------------------------------------------------------------------

function renderImage(): void {
  const controls = element("div", { class: "toolbar" });
  if (!info.images.length) {
    page.replaceChildren(element("p", {}, "No images: start lcstore serve with --images DIR or --image-map FILE."));
    return;
  }
  const select = (id: string, choices: string[], value: string, key: keyof ViewState) => {
    const made = element("select", { id });
    for (const c of choices) made.append(new Option(c, c, false, c === value));
    made.onchange = () => update({ [key]: made.value });
    return made;
  };
  const text = (id: string, value: string, key: keyof ViewState) => {
    const made = element("input", { id, value, size: "5" });
    made.onchange = () => update({ [key]: made.value });
    return made;
  };
  controls.append(
    "image ", select("image-epoch", info.images, state.epoch, "epoch"),
    " normalization ", select("norm", ["linear", "sqrt", "log", "asinh"], state.norm, "norm"),
    " colormap ", select("cmap", ["gray", "viridis", "magma", "hot"], state.cmap, "cmap"),
    " percentiles ", text("pmin", state.pmin, "pmin"), text("pmax", state.pmax, "pmax"),
    " size ", text("size", state.size, "size"),
  );
  const centre = byKey.get(state.selected[0]) ?? {
    ra: (info.ra_range[0] + info.ra_range[1]) / 2,
    dec: (info.dec_range[0] + info.dec_range[1]) / 2,
  };
  const holder = element("div", { class: "cutout" });
  page.replaceChildren(controls, holder);
  // Markers: the selected objects and the others near the centre.
  getJson<ObjectPage>("api/objects", { ra: centre.ra, dec: centre.dec, radius: Number(state.size) * 1.5, limit: 200 })
    .then((near) => {
      const markers = [...new Set([...state.selected, ...near.objects.map((o) => o.object)])].slice(0, info.limits.max_ids);
      const params = queryString({ epoch: state.epoch, ra: centre.ra, dec: centre.dec, size: state.size, norm: state.norm, cmap: state.cmap, pmin: state.pmin, pmax: state.pmax, markers: markers.join(",") });
      const image = element("img", { id: "cutout", src: `api/cutout?${params}`, alt: "cutout" });
      holder.append(image);
      return getJson<CutoutMarkers>(`api/cutout/markers?${params}`);
    })
    .then((placed) => {
      for (const marker of placed.markers) {
        const button = element("button", { class: state.selected.includes(marker.object) ? "marker selected" : "marker", "data-object": marker.object, title: `object ${marker.object}` });
        button.style.left = `${marker.x - 7}px`;
        button.style.top = `${marker.y - 7}px`;
        button.onclick = () => toggleSelected(marker.object);
        holder.append(button);
      }
    })
    .catch((error) => showError(holder, error));
}

function render(): void {
  renderTabs();
  const pages: Record<string, () => void> = { overview: renderOverview, objects: renderObjects, curves: renderCurves, sky: renderSky, image: renderImage };
  (pages[state.tab] ?? renderOverview)();
}

async function start(): Promise<void> {
  try {
    info = await getJson<Info>("api/info");
    objects = await allObjects(info);
    byKey = new Map(objects.map((o) => [o.object, o]));
    document.body.dataset.ready = "1";
    render();
  } catch (error) {
    showError(page, error);
  }
}

window.addEventListener("hashchange", () => {
  state = readState();
  render();
});
start();
