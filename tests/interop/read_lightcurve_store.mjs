#!/usr/bin/env node
// Reads a light-curve store written by `lcstore create | populate | rechunk`
// with zarrita, the way a JavaScript client would, and prints what it sees
// as JSON on stdout for tests/lightcurve_cli_test.cpp to compare with
// lcstore's own answers.
//
//   node read_lightcurve_store.mjs STORE [ROW,ROW,...]
//
// Output:
//  {"attributes": root group attributes, "consolidated": bool,
//   "arrays": {NAME: {"shape", "data_type", "chunks", "dimension_names",
//                     "attributes", "values"}},   every array the
//             consolidated metadata lists, opened through it, all values in
//             C order (NaN as "NaN")
//   "rows": {LAYOUT: {ROW: values}}}   for LAYOUT lightcurves and (when
//             present) lightcurves_by_object, the [measurement, value,
//             epoch] block of each object ROW read with a slice selection
//             (a partial read, one inner chunk of a shard), C order.
// Any failure prints the error (with its causes) on stderr and exits 1.
import * as fs from "node:fs";
import * as path from "node:path";

import { FileSystemStore } from "@zarrita/storage";
import * as zarr from "zarrita";

function jsonValue(value) {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN";
    if (value === Infinity) return "Infinity";
    if (value === -Infinity) return "-Infinity";
  }
  return value;
}

// The elements of a zarrita chunk ({data, shape, stride}) in C order.
function valuesInCOrder(chunk) {
  const { data, shape, stride } = chunk;
  const at = typeof data.get === "function" ? (i) => data.get(i) : (i) => data[i];
  const total = shape.reduce((a, b) => a * b, 1);
  const values = new Array(total);
  const index = new Array(shape.length).fill(0);
  for (let n = 0; n < total; n++) {
    let offset = 0;
    for (let d = 0; d < shape.length; d++) offset += index[d] * stride[d];
    values[n] = jsonValue(at(offset));
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return values;
}

function describeError(error) {
  const lines = [];
  for (let e = error; e; e = e.cause) lines.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  return lines.join("\n  caused by ");
}

async function main(argv) {
  if (argv.length < 1 || argv.length > 2) throw new Error("usage: node read_lightcurve_store.mjs STORE [ROW,ROW,...]");
  const root = path.resolve(argv[0]);
  if (!fs.existsSync(path.join(root, "zarr.json"))) throw new Error(`${root}: no zarr.json (not a Zarr v3 node)`);
  const rows = argv.length === 2 ? argv[1].split(",").filter((s) => s !== "").map(Number) : [];

  const store = await zarr.withMaybeConsolidatedMetadata(new FileSystemStore(root), { format: "v3" });
  const consolidated = typeof store.contents === "function";
  if (!consolidated) throw new Error(`${root}: the group has no consolidated metadata zarrita understands`);
  const group = await zarr.open.v3(zarr.root(store), { kind: "group" });

  const arrays = {};
  const opened = {};
  const entries = store.contents().filter((entry) => entry.kind === "array");
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const entry of entries) {
    const name = entry.path.replace(/^\//, "");
    const array = await zarr.open.v3(zarr.root(store).resolve(name), { kind: "array" });
    opened[name] = array;
    arrays[name] = {
      shape: array.shape,
      data_type: array.dtype,
      chunks: array.chunks,
      dimension_names: array.dimensionNames ?? null,
      attributes: array.attrs,
      values: valuesInCOrder(await zarr.get(array)),
    };
  }

  const rowValues = {};
  for (const layout of ["lightcurves", "lightcurves_by_object"]) {
    if (!(layout in opened)) continue;
    rowValues[layout] = {};
    for (const row of rows) {
      const block = await zarr.get(opened[layout], [zarr.slice(row, row + 1), null, null, null]);
      rowValues[layout][row] = valuesInCOrder(block);
    }
  }
  process.stdout.write(`${JSON.stringify({ attributes: group.attrs, consolidated, arrays, rows: rowValues })}\n`);
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`read_lightcurve_store: ${describeError(error)}\n`);
  process.exitCode = 1;
});
