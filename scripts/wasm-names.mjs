// Where the bytes of a wasm module go: the size of every function body (code section) under
// the name the name section gives it, grouped by crate and by module. The name section is
// what wasm-opt keeps with `-g`; scripts/build-pkg.mjs optimises once with names kept, saves
// that module for this report, and ships the same module with the name section removed
// (`stripNames`), which is byte-identical to optimising without `-g`.

/** Reads an unsigned LEB128 at `pos`; returns `[value, nextPos]`. */
function leb(buf, pos) {
  let value = 0;
  let shift = 0;
  let byte;
  do {
    byte = buf[pos++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [value, pos];
}

/** The sections of a wasm module: `[{ id, name, start, end, headerStart }]` (`name` for custom ones). */
export function sections(buf) {
  if (buf.readUInt32LE(0) !== 0x6d736100) throw new Error("not a wasm module");
  const out = [];
  let pos = 8;
  while (pos < buf.length) {
    const headerStart = pos;
    const id = buf[pos++];
    let size;
    [size, pos] = leb(buf, pos);
    const start = pos;
    let name = null;
    if (id === 0) {
      let n;
      [n, pos] = leb(buf, pos);
      name = buf.subarray(pos, pos + n).toString("utf8");
    }
    out.push({ id, name, start, end: start + size, headerStart });
    pos = start + size;
  }
  return out;
}

/** The module without its `name` custom section (what ships). */
export function stripNames(buf) {
  const kept = sections(buf).filter((s) => !(s.id === 0 && s.name === "name"));
  return Buffer.concat([buf.subarray(0, 8), ...kept.map((s) => buf.subarray(s.headerStart, s.end))]);
}

/** Number of imported functions (they come first in the function index space). */
function importedFunctions(buf, section) {
  let pos = section.start;
  let count;
  [count, pos] = leb(buf, pos);
  let funcs = 0;
  for (let i = 0; i < count; i++) {
    for (let s = 0; s < 2; s++) {
      let n;
      [n, pos] = leb(buf, pos);
      pos += n;
    }
    const kind = buf[pos++];
    if (kind === 0) {
      funcs++;
      [, pos] = leb(buf, pos);
    } else if (kind === 1) {
      pos++; // reftype
      const flags = buf[pos++];
      [, pos] = leb(buf, pos);
      if (flags & 1) [, pos] = leb(buf, pos);
    } else if (kind === 2) {
      const flags = buf[pos++];
      [, pos] = leb(buf, pos);
      if (flags & 1) [, pos] = leb(buf, pos);
    } else if (kind === 3) {
      pos += 2; // valtype, mutability
    } else if (kind === 4) {
      pos++;
      [, pos] = leb(buf, pos);
    } else {
      throw new Error(`unknown import kind ${kind}`);
    }
  }
  return funcs;
}

/** Function names by function index, from the name section's subsection 1. */
function functionNames(buf, section) {
  const names = new Map();
  let pos = section.start;
  let n;
  [n, pos] = leb(buf, pos);
  pos += n; // "name"
  while (pos < section.end) {
    const sub = buf[pos++];
    let size;
    [size, pos] = leb(buf, pos);
    const end = pos + size;
    if (sub === 1) {
      let count;
      [count, pos] = leb(buf, pos);
      for (let i = 0; i < count; i++) {
        let index;
        let len;
        [index, pos] = leb(buf, pos);
        [len, pos] = leb(buf, pos);
        names.set(index, buf.subarray(pos, pos + len).toString("utf8"));
        pos += len;
      }
    }
    pos = end;
  }
  return names;
}

/**
 * Every function body with its size in bytes and its name (`null` when the module has none for
 * it), plus the sizes of the sections that are not code: `{ functions, other, total }`.
 */
export function functionSizes(buf) {
  const all = sections(buf);
  const imports = all.find((s) => s.id === 2);
  const code = all.find((s) => s.id === 10);
  const nameSection = all.find((s) => s.id === 0 && s.name === "name");
  if (!code) throw new Error("the module has no code section");
  const firstLocal = imports ? importedFunctions(buf, imports) : 0;
  const names = nameSection ? functionNames(buf, nameSection) : new Map();
  const functions = [];
  let pos = code.start;
  let count;
  [count, pos] = leb(buf, pos);
  for (let i = 0; i < count; i++) {
    const entry = pos;
    let size;
    [size, pos] = leb(buf, pos);
    pos += size;
    functions.push({ name: names.get(firstLocal + i) ?? null, bytes: pos - entry });
  }
  const label = { 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory", 6: "global", 7: "export",
    8: "start", 9: "element", 10: "code", 11: "data", 12: "datacount" };
  const other = all.filter((s) => s.id !== 10 && !(s.id === 0 && s.name === "name"))
    .map((s) => ({ section: s.id === 0 ? `custom "${s.name}"` : label[s.id] ?? `#${s.id}`, bytes: s.end - s.headerStart }));
  const total = all.filter((s) => !(s.id === 0 && s.name === "name")).reduce((n, s) => n + s.end - s.headerStart, 8);
  return { functions, other, total };
}

/** Index of the `>` closing the `<` at `open`, skipping nested `<...>` (and `->` arrows). */
function closing(s, open) {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === "<") depth++;
    else if (s[i] === ">" && s[i - 1] !== "-") {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** `s` split at `sep` where it is not inside `<...>`, `(...)` or `[...]`. */
function splitTop(s, sep) {
  const parts = [];
  let depth = 0;
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "<" || c === "(" || c === "[") depth++;
    else if ((c === ">" && s[i - 1] !== "-") || c === ")" || c === "]") depth--;
    else if (depth === 0 && s.startsWith(sep, i)) {
      parts.push(s.slice(last, i));
      last = i + sep.length;
      i += sep.length - 1;
    }
  }
  parts.push(s.slice(last));
  return parts;
}

const isModule = (seg) => /^[a-z_][a-z0-9_]*$/.test(seg) && seg !== "_";

/**
 * The path a function is attributed to, as module segments (`["eventfold", "sync", "client"]`):
 * the type a method or a drop belongs to (`<T as Trait>::f` counts for `T`,
 * `drop_in_place<T>` for `T`), else the function's own path. Generic parameters alone
 * (`<&T as Display>`) fall back to the trait's path. `[]` when nothing is known.
 */
export function ownerPath(name) {
  let s = name.replace(/::h[0-9a-f]{16}$/, "").replace(/\[[0-9a-f]{8,}\]/g, "").trim();
  for (let guard = 0; guard < 8; guard++) {
    s = s.replace(/^(&mut |&|\*const |\*mut |dyn |\[|\()+/, "");
    const drop = /^core::ptr::drop_in_place<(.*)>$/.exec(s);
    if (drop) {
      s = drop[1];
      continue;
    }
    if (s.startsWith("<")) {
      const end = closing(s, 0);
      if (end < 0) break;
      const [self, trait] = splitTop(s.slice(1, end), " as ");
      const bare = self.replace(/^(&mut |&|\*const |\*mut |dyn |\[|\()+/, "");
      s = /^[A-Z][A-Za-z0-9]*$/.test(bare) && trait ? trait : self;
      continue;
    }
    break;
  }
  const path = [];
  for (const seg of splitTop(s, "::")) {
    const bare = seg.replace(/<.*$/s, "");
    if (!isModule(bare)) break;
    path.push(bare);
    if (bare !== seg) break;
  }
  return path;
}

/** The crate and the module (`eventfold::a::b`, `other::a`) a named function counts for. */
export function groupOf(name) {
  if (name === null) return { crate: "(unnamed)", module: "(unnamed)" };
  // Exported methods (`eventstore_append`, `bus_start`) and wasm-bindgen's shims of them
  // (`eventstore_append externref shim`), often with the Rust body inlined by wasm-opt.
  // Grouped by the JS class (the prefix).
  const shim = /^([a-z0-9]+)_[A-Za-z0-9_]*( (externref|multivalue) shim)*$/.exec(name);
  if (shim) return { crate: "(exports)", module: `(exports) ${shim[1]}_*` };
  const path = ownerPath(name);
  if (path.length === 0 || (path.length === 1 && !name.includes("::"))) {
    // wasm-bindgen's own helpers and the allocator's entry points carry flat names.
    return { crate: "(flat names)", module: "(flat names)" };
  }
  const depth = path[0] === "eventfold" ? 3 : 2;
  return { crate: path[0], module: path.slice(0, depth).join("::") };
}

/** `[{ key, bytes, functions }]` summed over `groupOf(name)[by]`, largest first. */
export function contributors(functions, by) {
  const sums = new Map();
  for (const f of functions) {
    const key = groupOf(f.name)[by];
    const e = sums.get(key) ?? { key, bytes: 0, functions: 0 };
    e.bytes += f.bytes;
    e.functions++;
    sums.set(key, e);
  }
  return [...sums.values()].sort((a, b) => b.bytes - a.bytes);
}
