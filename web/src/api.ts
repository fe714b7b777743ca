// The JSON API of `lcstore serve` (docs/openapi.yaml).

export interface Info {
  shape: number[];
  n_objects: number;
  measurements: string[];
  values: string[];
  epochs: Record<string, (string | number)[]>;
  epoch_variables: string[];
  ra_range: number[];
  dec_range: number[];
  write_layout: { chunks: number[]; shards?: number[] };
  read_layout: { status: "absent" | "current" | "stale"; shards?: number[] };
  images: string[];
  limits: { max_page: number; max_curves: number; max_ids: number; max_cutout_pixels: number };
}

export interface ObjectRow {
  object: string;
  index: number;
  ra: number;
  dec: number;
  x: number;
  y: number;
  separation_arcsec?: number;
}

export interface ObjectPage {
  total: number;
  objects: ObjectRow[];
}

export interface LightCurve extends ObjectRow {
  data: Record<string, Record<string, (number | null)[]>>;
}

export interface CutoutMarkers {
  size: number;
  markers: { object: string; x: number; y: number }[];
}

export class ApiError extends Error {
  constructor(
    readonly kind: string,
    readonly subject: string,
    readonly reason: string,
  ) {
    super(`${subject}: ${reason}`);
  }
}

export async function getJson<T>(path: string, params: Record<string, string | number | undefined> = {}): Promise<T> {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) query.set(name, String(value));
  const text = query.toString();
  const response = await fetch(text ? `${path}?${text}` : path);
  const body = await response.json();
  if (!response.ok) throw new ApiError(body.error.kind, body.error.subject, body.error.reason);
  return body as T;
}

// Every object, a page at a time.
export async function allObjects(info: Info): Promise<ObjectRow[]> {
  const rows: ObjectRow[] = [];
  const limit = info.limits.max_page;
  for (let offset = 0; offset < info.n_objects; offset += limit) {
    const page = await getJson<ObjectPage>("api/objects", { offset, limit });
    rows.push(...page.objects);
  }
  return rows;
}

export function queryString(params: Record<string, string | number | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== "") query.set(name, String(value));
  return query.toString();
}
