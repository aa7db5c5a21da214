// Document validation against spec/schemas (JSON Schema 2020-12) plus the checks
// a bare schema validator cannot make (spec/vectors/README.md, "document").
import Ajv2020 from "ajv/dist/2020";
import * as fs from "node:fs";
import * as path from "node:path";

const validators = new Map<string, (doc: unknown) => boolean>();

function defaultSchemasDir(): string {
  return path.resolve(__dirname, "..", "..", "..", "spec", "schemas");
}

function compile(schema: string, dir: string): (doc: unknown) => boolean {
  const ajv = new Ajv2020({ strict: false, allErrors: false });
  let main: any = null;
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".schema.json"))) {
    const s = JSON.parse(fs.readFileSync(path.join(dir, f), "utf-8"));
    ajv.addSchema(s);
    if (f === `${schema}.schema.json`) main = s;
  }
  if (!main) throw new Error(`no schema ${schema} in ${dir}`);
  return ajv.getSchema(main.$id)! as (doc: unknown) => boolean;
}

export function validate(schema: string, document: unknown, dir: string = defaultSchemasDir()): boolean {
  const key = `${dir}:${schema}`;
  let v = validators.get(key);
  if (!v) {
    v = compile(schema, dir);
    validators.set(key, v);
  }
  if (!v(document)) return false;
  if (schema === "h5maps") return h5mapsBeyondSchema(document);
  if (schema === "scan") {
    const h5 = (document as any)?.info?.h5maps;
    if (h5 !== undefined && h5 !== null) return h5mapsBeyondSchema(h5);
  }
  return true;
}

// -- what the schema cannot say: raw arrays are rectangular, compound columns unique and equal shapes
function shapeOf(value: unknown): number[] | null {
  if (!Array.isArray(value)) return [];
  if (!value.length) return [0];
  const inner = value.map(shapeOf);
  if (inner.some((s) => s === null || JSON.stringify(s) !== JSON.stringify(inner[0]))) return null;
  return [value.length, ...inner[0]!];
}

function valueShape(v: any): number[] | null | undefined {
  if (v && typeof v === "object" && !Array.isArray(v)) {
    if (v.type === "inline") return shapeOf(v.value);
    if (v.type === "inline_b64") return v.shape ?? undefined;
    if (v.type === "compound") return compoundOk(v) ? colShape(v.columns[0][1]) : null;
    return undefined;
  }
  return shapeOf(v);
}

function colShape(v: any): number[] | null | undefined {
  return valueShape(v);
}

function compoundOk(v: any): boolean {
  const names = v.columns.map((c: any) => c[0]);
  if (new Set(names).size !== names.length) return false;
  const shapes = v.columns.map((c: any) => valueShape(c[1]));
  if (shapes.some((s: any) => s === null)) return false;
  const known = shapes.filter((s: any) => s !== undefined).map((s: any) => JSON.stringify(s));
  return new Set(known).size <= 1;
}

function valueOk(v: any): boolean {
  return valueShape(v) !== null;
}

function itemOk(item: any): boolean {
  if (item && typeof item === "object" && !Array.isArray(item) && typeof item.type === "string") {
    for (const a of Object.values(item.attributes ?? {})) if (!valueOk(a)) return false;
    if (item.type === "group") return Object.values(item.children ?? {}).every(itemOk);
    if (item.type === "dataset") return valueOk(item.value);
    if (["inline", "inline_b64", "compound"].includes(item.type)) return valueOk(item);
    return true;
  }
  return valueOk(item);
}

function h5mapsBeyondSchema(h5: unknown): boolean {
  if (!h5 || typeof h5 !== "object") return true;
  return Object.values(h5 as object).every(itemOk);
}
