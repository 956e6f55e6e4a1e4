/**
 * Standard Schema → JSON Schema, through the Standard JSON Schema interface
 * (`schema['~standard'].jsonSchema`, standardschema.dev/json-schema), which zod ≥ 4.2 and
 * arktype ≥ 2.1.28 implement. A schema library without it is bridged by the `jsonSchema` adapter
 * option; strata imports no schema library.
 */
import { AppError } from '../errors.ts';
import type { StandardSchemaV1 } from '../standard-schema.ts';

/** A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1), as a plain object. */
export type JsonSchema = Record<string, unknown>;

/**
 * Converts a schema the Standard JSON Schema interface does not cover. `io` says which side:
 * `'input'` for request parts (what a client sends), `'output'` for responses. Return
 * `undefined` to fall back to the interface.
 *
 * @example
 * // zod before 4.2, or a schema built with zod's classic API only:
 * import { z } from 'zod';
 * const jsonSchema: JsonSchemaAdapter = (schema, io) =>
 *   schema['~standard'].vendor === 'zod' ? z.toJSONSchema(schema as z.ZodType, { io }) : undefined;
 */
export type JsonSchemaAdapter = (schema: StandardSchemaV1, io: 'input' | 'output') => JsonSchema | undefined;

interface StandardJsonSchemaConverter {
  input(options: { target: string; libraryOptions?: Record<string, unknown> | undefined }): JsonSchema;
  output(options: { target: string; libraryOptions?: Record<string, unknown> | undefined }): JsonSchema;
}

/**
 * Turns schemas into JSON Schemas fit to embed in one OpenAPI document: `$defs` move to
 * `components.schemas` (a `$ref: '#/$defs/X'` would resolve against the document's root, not
 * the schema's), a schema that refers to itself (`$ref: '#'`) becomes a component too, and
 * `$schema` goes (the document's dialect is 2020-12).
 */
export class SchemaConverter {
  /** The shared definitions, for `components.schemas`. */
  readonly components: Record<string, JsonSchema>;
  #adapter: JsonSchemaAdapter | undefined;
  #libraryOptions: Record<string, unknown> | undefined;
  /** Each component's JSON, to tell a repeated definition from a clash of names. */
  #seen: Map<string, string>;

  constructor(adapter: JsonSchemaAdapter | undefined, libraryOptions: Record<string, unknown> | undefined) {
    this.components = {};
    this.#adapter = adapter;
    this.#libraryOptions = libraryOptions;
    this.#seen = new Map();
  }

  /**
   * The JSON Schema of `schema`, ready to embed. `where` names the route and part for errors;
   * `name` is the component a self-referring root schema becomes.
   */
  convert(schema: StandardSchemaV1, io: 'input' | 'output', where: string, name: string): JsonSchema {
    const raw = this.#raw(schema, io, where);
    const { $defs, $schema: _dialect, ...root } = raw as JsonSchema & { $defs?: Record<string, JsonSchema> };
    const renames = new Map<string, string>();
    if ($defs !== undefined && typeof $defs === 'object') {
      for (const key of Object.keys($defs)) renames.set(key, this.#reserve(key, $defs[key]!));
    }
    const selfRef = containsRef(root, '#');
    const rootName = selfRef ? this.#uniqueName(name) : undefined;
    const rewrite = (node: unknown): unknown => {
      if (Array.isArray(node)) return node.map(rewrite);
      if (typeof node !== 'object' || node === null) return node;
      const out: JsonSchema = {};
      for (const [k, v] of Object.entries(node)) {
        if (k === '$ref' && typeof v === 'string') out[k] = this.#target(v, renames, rootName, where);
        else out[k] = rewrite(v);
      }
      return out;
    };
    if ($defs !== undefined) {
      for (const [key, def] of Object.entries($defs))
        this.#store(renames.get(key)!, rewrite(def) as JsonSchema);
    }
    const converted = rewrite(root) as JsonSchema;
    if (rootName === undefined) return converted;
    this.#store(rootName, converted);
    return { $ref: `#/components/schemas/${rootName}` };
  }

  #raw(schema: StandardSchemaV1, io: 'input' | 'output', where: string): JsonSchema {
    let out: JsonSchema | undefined;
    try {
      out = this.#adapter?.(schema, io);
      if (out === undefined) {
        const converter = (schema['~standard'] as { jsonSchema?: StandardJsonSchemaConverter }).jsonSchema;
        if (converter === undefined || typeof converter[io] !== 'function') {
          throw new AppError(
            'STRATA_ERR_OPENAPI_SCHEMA',
            `${where}: the ${schema['~standard'].vendor} schema does not implement Standard JSON Schema (~standard.jsonSchema); pass a jsonSchema adapter to openapi(), or hide the route with describeRoute({ hidden: true })`,
          );
        }
        out = converter[io]({ target: 'draft-2020-12', libraryOptions: this.#libraryOptions });
      }
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError(
        'STRATA_ERR_OPENAPI_SCHEMA',
        `${where}: the schema cannot be written as JSON Schema (${err instanceof Error ? err.message : String(err)}); change the schema, pass a jsonSchema adapter (or libraryOptions) to openapi(), or hide the route with describeRoute({ hidden: true })`,
      );
    }
    if (typeof out !== 'object' || out === null || Array.isArray(out)) {
      throw new AppError(
        'STRATA_ERR_OPENAPI_SCHEMA',
        `${where}: the JSON Schema conversion did not return an object`,
      );
    }
    return out;
  }

  #target(ref: string, renames: Map<string, string>, rootName: string | undefined, where: string): string {
    if (ref === '#' && rootName !== undefined) return `#/components/schemas/${rootName}`;
    const m = /^#\/\$defs\/(.+)$/.exec(ref);
    if (m !== null) {
      const name = renames.get(decodePointer(m[1]!));
      if (name !== undefined) return `#/components/schemas/${name}`;
    }
    if (ref.startsWith('#')) {
      throw new AppError(
        'STRATA_ERR_OPENAPI_SCHEMA',
        `${where}: the JSON Schema holds a reference the document cannot resolve (${ref})`,
      );
    }
    return ref;
  }

  /** The component name for a definition: its own name, unless another definition took it. */
  #reserve(key: string, def: JsonSchema): string {
    const base = key.replace(/[^A-Za-z0-9._-]/g, '_') || 'Schema';
    const json = JSON.stringify(def);
    if (this.#seen.get(base) === json) return base;
    return this.#uniqueName(base, json);
  }

  #uniqueName(base: string, json = ''): string {
    let name = base;
    for (let i = 2; this.#seen.has(name); i++) {
      if (json !== '' && this.#seen.get(name) === json) return name;
      name = `${base}${i}`;
    }
    this.#seen.set(name, json);
    return name;
  }

  #store(name: string, schema: JsonSchema): void {
    this.components[name] = schema;
  }
}

function containsRef(node: unknown, ref: string): boolean {
  if (Array.isArray(node)) return node.some((n) => containsRef(n, ref));
  if (typeof node !== 'object' || node === null) return false;
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && v === ref) return true;
    if (containsRef(v, ref)) return true;
  }
  return false;
}

/** RFC 6901 §4: `~1` is "/", `~0` is "~"; the pointer is also percent-encoded in a URI fragment. */
function decodePointer(token: string): string {
  let decoded = token;
  try {
    decoded = decodeURIComponent(token);
  } catch {
    // keep it as it is: no definition will match, and the caller reports the reference
  }
  return decoded.replace(/~1/g, '/').replace(/~0/g, '~');
}
