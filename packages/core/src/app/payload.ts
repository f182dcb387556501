/**
 * Payload validation for application handlers. Decoding the body into a payload is
 * message-converter.ts's job (an invalid JSON body there is a {@link PayloadValidationError} too,
 * so it reaches the exception handler like any invalid payload).
 *
 * Validation accepts either a Standard Schema validator (https://standardschema.dev — zod 3.24+,
 * valibot, arktype…; recognised structurally by its `~standard.validate`, so stompkit depends on
 * none of them) or a plain function that returns the (possibly transformed) payload and throws
 * when it is invalid. Either may be async. A failure becomes a non-fatal
 * {@link PayloadValidationError} (code STOMP_ERR_VALIDATION) carrying the issues.
 */
import { StompError } from '../errors';

/** The Standard Schema v1 interface, structurally (https://standardschema.dev). */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

export type StandardSchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardSchemaIssue> };

export interface StandardSchemaIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/** A schema, or a function returning the valid payload and throwing when it is not. */
export type PayloadValidator<P = unknown> = StandardSchemaV1<unknown, P> | ((payload: unknown) => P | Promise<P>);

/** An invalid payload (schema issues, a throwing validator function, or unparseable JSON). Never fatal. */
export class PayloadValidationError extends StompError {
  override name = 'PayloadValidationError';
  readonly issues: ReadonlyArray<StandardSchemaIssue>;

  constructor(issues: ReadonlyArray<StandardSchemaIssue>, cause?: unknown) {
    super('STOMP_ERR_VALIDATION', `invalid payload: ${describeIssues(issues)}`, { fatal: false, cause });
    this.issues = issues;
  }
}

/** Runs `validator` on `payload`; returns the validated value (or a promise of it). */
export function validatePayload<P>(validator: PayloadValidator<P>, payload: unknown): P | Promise<P> {
  if (typeof validator === 'function') {
    let out: P | Promise<P>;
    try {
      out = validator(payload);
    } catch (err) {
      throw toValidationError(err);
    }
    return isThenable(out) ? Promise.resolve(out).catch((err: unknown) => Promise.reject(toValidationError(err))) : out;
  }
  const result = validator['~standard'].validate(payload);
  return isThenable(result) ? Promise.resolve(result).then(unwrapResult) : unwrapResult(result);
}

export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  return typeof value === 'object' && value !== null && typeof (value as StandardSchemaV1)['~standard']?.validate === 'function';
}

export function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<T>).then === 'function';
}

function unwrapResult<P>(result: StandardSchemaResult<P>): P {
  if (result.issues !== undefined) throw new PayloadValidationError(result.issues);
  return result.value;
}

function toValidationError(err: unknown): PayloadValidationError {
  if (err instanceof PayloadValidationError) return err;
  const message = err instanceof Error && err.message ? err.message : typeof err === 'string' ? err : 'rejected by validator';
  return new PayloadValidationError([{ message }], err);
}

function describeIssues(issues: ReadonlyArray<StandardSchemaIssue>): string {
  if (issues.length === 0) return 'rejected by validator';
  return issues
    .map((issue) => {
      const path = issue.path?.map((p) => String(typeof p === 'object' ? p.key : p)).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}
