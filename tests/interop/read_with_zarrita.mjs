#!/usr/bin/env node
// Reads one Zarr v3 node with zarrita, an independent implementation, and
// prints what it sees as JSON on stdout, so tests/interop_test.cpp can compare
// it with what lcstore wrote.
//
//   node read_with_zarrita.mjs PATH
//
// PATH is the directory of the node (the store root). Output:
//  * array: {"node_type": "array", "shape", "data_type", "chunks" (inner chunks
//    when sharded), "fill_value", "dimension_names", "attributes", "values"},
//    with every value in C order; NaN and infinities as the strings "NaN",
//    "Infinity", "-Infinity", negative zero as "-0", 64-bit integers (bigint)
//    as decimal strings, booleans as JSON booleans, strings as strings.
//  * group: {"node_type": "group", "attributes", "consolidated",
//    "children": [{"name", "node_type"}], "nodes": [...]}. With consolidated
//    metadata, children and nodes come from it, and every node listed is
//    opened through it ("nodes": {"path", "node_type", and for arrays "shape",
//    "data_type", "chunks"}); without, children are the subdirectories zarrita
//    opens as nodes.
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
    if (Object.is(value, -0)) return "-0";
  }
  return value;
}

// The elements of a zarrita chunk ({data, shape, stride}) in C order, whatever
// its strides (a transpose codec leaves them in the stored order).
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

async function describeArray(array) {
  const result = await zarr.get(array);
  // A zero-dimensional selection comes back as a bare scalar.
  const values =
    result !== null && typeof result === "object" && "data" in result ? valuesInCOrder(result) : [jsonValue(result)];
  return {
    node_type: "array",
    shape: array.shape,
    data_type: array.dtype,
    chunks: array.chunks,
    fill_value: jsonValue(array.fillValue),
    dimension_names: array.dimensionNames ?? null,
    attributes: array.attrs,
    values,
  };
}

async function describeGroup(store, group) {
  const consolidatedStore = await zarr.withMaybeConsolidatedMetadata(store, { format: "v3" });
  const consolidated = typeof consolidatedStore.contents === "function";
  const children = [];
  const nodes = [];
  if (consolidated) {
    const contents = consolidatedStore.contents().filter((entry) => entry.path !== "/");
    contents.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    for (const entry of contents) {
      // Open each listed node through the consolidated metadata alone.
      const node = await zarr.open.v3(zarr.root(consolidatedStore).resolve(entry.path), { kind: entry.kind });
      const relative = entry.path.replace(/^\//, "");
      const description = { path: relative, node_type: node.kind };
      if (node.kind === "array") Object.assign(description, { shape: node.shape, data_type: node.dtype, chunks: node.chunks });
      nodes.push(description);
      if (!relative.includes("/")) children.push({ name: relative, node_type: node.kind });
    }
  } else {
    const names = fs
      .readdirSync(store.root, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(store.root, entry.name, "zarr.json")))
      .map((entry) => entry.name)
      .sort();
    for (const name of names) {
      const node = await zarr.open.v3(zarr.root(store).resolve(name));
      children.push({ name, node_type: node.kind });
    }
  }
  return { node_type: "group", attributes: group.attrs, consolidated, children, nodes };
}

function describeError(error) {
  const lines = [];
  for (let e = error; e; e = e.cause) lines.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  return lines.join("\n  caused by ");
}

async function main(argv) {
  if (argv.length !== 1) throw new Error("usage: node read_with_zarrita.mjs PATH");
  const root = path.resolve(argv[0]);
  if (!fs.existsSync(path.join(root, "zarr.json"))) throw new Error(`${root}: no zarr.json (not a Zarr v3 node)`);
  const store = new FileSystemStore(root);
  const node = await zarr.open.v3(store);
  const description = node.kind === "array" ? await describeArray(node) : await describeGroup(store, node);
  process.stdout.write(`${JSON.stringify(description)}\n`);
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`read_with_zarrita: ${describeError(error)}\n`);
  process.exitCode = 1;
});
