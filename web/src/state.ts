// The view's state, kept in the URL's hash so that a link reproduces it.

export interface ViewState {
  tab: string;
  selected: string[];
  measurement: string;
  x: string;
  overlay: boolean;
  period: string; // days; "" = no folding
  search: string;
  sort: string;
  descending: boolean;
  epoch: string;
  norm: string;
  cmap: string;
  pmin: string;
  pmax: string;
  size: string;
}

const defaults: ViewState = {
  tab: "overview",
  selected: [],
  measurement: "",
  x: "epoch_mjd",
  overlay: false,
  period: "",
  search: "",
  sort: "index",
  descending: false,
  epoch: "coadd",
  norm: "asinh",
  cmap: "gray",
  pmin: "1",
  pmax: "99.5",
  size: "256",
};

export function readState(): ViewState {
  const params = new URLSearchParams(location.hash.slice(1));
  const state: ViewState = { ...defaults, selected: [] };
  for (const key of Object.keys(defaults) as (keyof ViewState)[]) {
    const value = params.get(key);
    if (value === null) continue;
    if (key === "selected") state.selected = value ? value.split(",") : [];
    else if (key === "overlay" || key === "descending") state[key] = value === "1";
    else state[key] = value;
  }
  return state;
}

export function writeState(state: ViewState): void {
  const params = new URLSearchParams();
  for (const key of Object.keys(defaults) as (keyof ViewState)[]) {
    const value = state[key];
    const text = Array.isArray(value) ? value.join(",") : typeof value === "boolean" ? (value ? "1" : "0") : value;
    const fallback = defaults[key];
    const defaultText = Array.isArray(fallback) ? fallback.join(",") : typeof fallback === "boolean" ? (fallback ? "1" : "0") : fallback;
    if (text !== defaultText) params.set(key, text);
  }
  history.replaceState(null, "", `#${params.toString()}`);
}
