#!/usr/bin/env node
// Counts `any` in the package's public declarations (every .d.ts under pkg/, or the folder given):
// the public types carry the user's types, so each `any` is a hole in them. It passes when every
// `any` is explained: by a comment holding "any:" on its line or the line above (why no precise
// type exists), or by the declaration it sits in being listed in PENDING below with the reason.
// Prints each one and the totals; exits 1 on an unexplained `any`.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";

// Declarations still typed `any` for a reason given here, by name (empty since issue 12 replaced
// SyncEngine by the typed class Sync). Keep this list shrinking: a name here that no longer holds
// an `any` fails the check.
const PENDING = new Map(Object.entries({}));

const root = process.argv[2] ?? join(import.meta.dirname, "..", "pkg");
const files = [];
(function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else if (entry.name.endsWith(".d.ts")) files.push(path);
  }
})(root);

function owner(node) {
  for (let n = node.parent; n; n = n.parent) {
    if ((ts.isClassDeclaration(n) || ts.isInterfaceDeclaration(n) || ts.isTypeAliasDeclaration(n) ||
      ts.isFunctionDeclaration(n) || ts.isVariableStatement(n)) && n.name) return n.name.text;
  }
  return "(top level)";
}

const unexplained = [];
const explained = [];
const pending = [];
for (const file of files) {
  const text = readFileSync(file, "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const lines = text.split("\n");
  (function visit(node) {
    if (node.kind === ts.SyntaxKind.AnyKeyword) {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
      const where = `${relative(root, file)}:${line + 1} (${owner(node)}): ${lines[line].trim()}`;
      const name = owner(node);
      if (/\/\/.*\bany:|\/\*.*\bany:/.test(lines[line]) || /\/\/.*\bany:|\/\*.*\bany:/.test(lines[line - 1] ?? "")) {
        explained.push(where);
      } else if (PENDING.has(name)) {
        pending.push({ where, name });
      } else {
        unexplained.push(where);
      }
    }
    ts.forEachChild(node, visit);
  })(source);
}

const stale = [...PENDING.keys()].filter((name) => !pending.some((p) => p.name === name));
for (const w of explained) console.log(`explained  ${w}`);
for (const p of pending) console.log(`pending    ${p.where}\n             why: ${PENDING.get(p.name)}`);
for (const w of unexplained) console.log(`UNEXPLAINED ${w}`);
for (const name of stale) console.log(`STALE      PENDING lists ${name}, which holds no any: remove it`);
const total = explained.length + pending.length + unexplained.length;
console.log(`any in public declarations (${files.length} files): ${total} = ${explained.length} explained + ` +
  `${pending.length} pending + ${unexplained.length} unexplained`);
if (unexplained.length || stale.length) process.exit(1);
