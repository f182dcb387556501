/**
 * Decorated controllers: `@MessageMapping`, `@SubscribeMapping`, `@SendTo`, `@SendToUser`,
 * `@MessageExceptionHandler`, `@ValidatePayload`. They work both as TypeScript 5 standard
 * decorators and under `experimentalDecorators`:
 *
 * - Every decorator is a plain function that looks at its arguments: a standard decorator gets
 *   `(value, context)` with `context.kind`; a legacy one gets `(constructor)` for a class or
 *   `(prototype, key, descriptor)` for a method.
 * - Neither mode replaces the method (the decorators return nothing), so the method function on the
 *   prototype is the same object the decorator saw. Metadata is recorded in module-level WeakMaps
 *   keyed by that function (and by the class constructor for class-level decorators). This avoids
 *   `Symbol.metadata` (absent in Node 20) and `reflect-metadata` alike.
 * - `broker.controllers(instance)` walks the instance's prototype chain, most derived first, and
 *   turns each decorated method into the same HandlerEntry `broker.handle()` builds, bound to the
 *   instance. A method overridden without decorators in a subclass is not mapped.
 *
 * Semantics follow Spring: a class-level `@MessageMapping` prefixes the method patterns; method-
 * level `@SendTo` / `@SendToUser` win over class-level ones; `@MessageExceptionHandler` applies to
 * the mappings of its own class (most specific matching error type wins, no types = any error).
 */
import type { PayloadValidator } from './payload';
import { PathPattern, joinPatterns } from './path-pattern';
import { replyRoute, type ExceptionEntry, type HandlerEntry, type MappingKind, type ReplyRoute } from './handler-registry';
import type { HandlerContext, HandlerMessage, SendToUserOption } from './types';

/** A method decorator in both decorator modes. */
export interface StompMethodDecorator {
  (value: Function, context: ClassMethodDecoratorContext<any, any>): void;
  (target: object, propertyKey: string | symbol, descriptor: PropertyDescriptor): void;
}

/** A decorator usable on a class or on a method, in both decorator modes. */
export interface StompClassOrMethodDecorator extends StompMethodDecorator {
  (value: Function, context: ClassDecoratorContext<any>): void;
  (target: Function): void;
}

interface MethodMeta {
  message?: string[];
  subscribe?: string[];
  sendTo?: string[];
  sendToUser?: SendToUserOption;
  exceptionTypes?: Function[];
  validate?: PayloadValidator;
}

interface ClassMeta {
  prefixes?: string[];
  sendTo?: string[];
  sendToUser?: SendToUserOption;
}

const methodMeta = new WeakMap<Function, MethodMeta>();
const classMeta = new WeakMap<Function, ClassMeta>();

/**
 * Maps SEND frames to application destinations (relative to the application prefix):
 * `@MessageMapping('/chat/{room}')`. On a class, prefixes the patterns of its methods.
 */
export function MessageMapping(...patterns: string[]): StompClassOrMethodDecorator {
  checkStrings(patterns, 'MessageMapping');
  return decorator('MessageMapping', {
    method: (meta) => {
      (meta.message ??= []).push(...(patterns.length === 0 ? [''] : patterns));
    },
    cls: (meta) => {
      (meta.prefixes ??= []).push(...patterns);
    },
  }) as StompClassOrMethodDecorator;
}

/** Maps SUBSCRIBE frames: the return value answers that one subscription, once, bypassing the broker. */
export function SubscribeMapping(...patterns: string[]): StompMethodDecorator {
  checkStrings(patterns, 'SubscribeMapping');
  return decorator('SubscribeMapping', {
    method: (meta) => {
      (meta.subscribe ??= []).push(...(patterns.length === 0 ? [''] : patterns));
    },
  });
}

/**
 * Sends the return value to these broker destinations (`{var}` placeholders from path variables).
 * With no destination: the default, '/topic' + the lookup path.
 */
export function SendTo(...destinations: string[]): StompClassOrMethodDecorator {
  checkStrings(destinations, 'SendTo');
  const set = (meta: MethodMeta | ClassMeta): void => {
    (meta.sendTo ??= []).push(...destinations);
  };
  return decorator('SendTo', { method: set, cls: set }) as StompClassOrMethodDecorator;
}

/**
 * Sends the return value to the sending user's destination: every session of the user
 * (`broadcast`, default true) or only the sending session. Default destination '/queue' + the
 * lookup path. `@SendToUser('/queue/errors', { broadcast: false })`.
 */
export function SendToUser(
  destination?: string | { destination?: string; broadcast?: boolean },
  options: { broadcast?: boolean } = {},
): StompClassOrMethodDecorator {
  const option: SendToUserOption =
    typeof destination === 'object'
      ? { ...destination }
      : { destination, broadcast: options.broadcast };
  replyRoute(undefined, option); // validates eagerly
  const set = (meta: MethodMeta | ClassMeta): void => {
    meta.sendToUser = option;
  };
  return decorator('SendToUser', { method: set, cls: set }) as StompClassOrMethodDecorator;
}

/**
 * Marks a method as the exception handler for the mappings of its class, for errors that are
 * instances of one of `types` (none = every error). Called as `(error, message, ctx)`.
 */
export function MessageExceptionHandler(...types: Function[]): StompMethodDecorator {
  for (const t of types) if (typeof t !== 'function') throw new TypeError('@MessageExceptionHandler takes error classes');
  return decorator('MessageExceptionHandler', {
    method: (meta) => {
      (meta.exceptionTypes ??= []).push(...types);
    },
  });
}

/** Validates the payload with a Standard Schema validator or a function before the method runs. */
export function ValidatePayload(validator: PayloadValidator): StompMethodDecorator {
  if (validator === null || (typeof validator !== 'function' && typeof validator !== 'object')) {
    throw new TypeError('@ValidatePayload takes a Standard Schema validator or a function');
  }
  return decorator('ValidatePayload', {
    method: (meta) => {
      meta.validate = validator;
    },
  });
}

/** Whether `instance` has any decorated mapping or exception handler. */
export function isController(instance: unknown): boolean {
  return typeof instance === 'object' && instance !== null && decoratedMethods(instance).length > 0;
}

/**
 * The handler entries of a decorated controller instance, methods bound to it. Throws when the
 * instance has no mapping at all (most likely a forgotten decorator or the wrong object).
 */
export function controllerEntries(instance: object): HandlerEntry[] {
  if (typeof instance !== 'object' || instance === null) throw new TypeError('controllers() takes class instances');
  const className = instance.constructor?.name || 'controller';
  const cls = findClassMeta(instance.constructor);
  const methods = decoratedMethods(instance);
  const exceptionHandlers: ExceptionEntry[] = [];
  for (const { fn, meta } of methods) {
    if (meta.exceptionTypes === undefined) continue;
    exceptionHandlers.push({
      types: meta.exceptionTypes,
      invoke: (error: unknown, message: HandlerMessage<unknown>, ctx: HandlerContext) => fn.call(instance, error, message, ctx),
      ...replyRoute(meta.sendTo, meta.sendToUser),
    });
  }
  const entries: HandlerEntry[] = [];
  for (const { name, fn, meta } of methods) {
    const ownRoute = meta.sendTo !== undefined || meta.sendToUser !== undefined;
    const route: ReplyRoute = ownRoute ? replyRoute(meta.sendTo, meta.sendToUser) : replyRoute(cls?.sendTo, cls?.sendToUser);
    const label = `${className}.${String(name)}`;
    const add = (kind: MappingKind, patterns: string[] | undefined): void => {
      if (patterns === undefined) return;
      const prefixes = cls?.prefixes !== undefined && cls.prefixes.length > 0 ? cls.prefixes : [''];
      for (const prefix of prefixes) {
        for (const pattern of patterns) {
          const full = joinPatterns(prefix, pattern);
          if (full === '') throw new TypeError(`${label}: @${kind === 'message' ? 'MessageMapping' : 'SubscribeMapping'}() needs a pattern here or on the class`);
          entries.push({
            kind,
            pattern: new PathPattern(full),
            invoke: (message, ctx) => fn.call(instance, message, ctx),
            validate: meta.validate,
            exceptionHandlers,
            label,
            ...route,
          });
        }
      }
    };
    add('message', meta.message);
    add('subscribe', meta.subscribe);
  }
  if (entries.length === 0) {
    throw new TypeError(`${className} has no @MessageMapping or @SubscribeMapping methods (is it decorated, and is this an instance?)`);
  }
  return entries;
}

// ---- internals -------------------------------------------------------------------------------

interface Appliers {
  method?: (meta: MethodMeta) => void;
  cls?: (meta: ClassMeta) => void;
}

function decorator(name: string, appliers: Appliers): StompMethodDecorator {
  return function stompDecorator(target: unknown, context?: unknown, descriptor?: PropertyDescriptor): void {
    if (typeof context === 'object' && context !== null && 'kind' in context) {
      // TypeScript 5 / TC39 standard decorator: (value, context).
      const ctx = context as DecoratorContext;
      if (ctx.kind === 'method') {
        const m = ctx as ClassMethodDecoratorContext;
        if (m.private || m.static) throw new TypeError(`@${name} cannot decorate a ${m.private ? 'private' : 'static'} method (${String(m.name)})`);
        applyMethod(name, appliers, target);
        return;
      }
      if (ctx.kind === 'class') {
        applyClass(name, appliers, target);
        return;
      }
      throw new TypeError(`@${name} cannot decorate a ${ctx.kind}`);
    }
    // experimentalDecorators: (constructor) or (prototype, key, descriptor).
    if (context === undefined && typeof target === 'function') {
      applyClass(name, appliers, target);
      return;
    }
    if (typeof target === 'function') throw new TypeError(`@${name} cannot decorate a static method (${String(context)})`);
    if (descriptor === undefined || typeof descriptor.value !== 'function') {
      throw new TypeError(`@${name} can only decorate methods (${String(context)})`);
    }
    applyMethod(name, appliers, descriptor.value);
  } as StompMethodDecorator;
}

function applyMethod(name: string, appliers: Appliers, fn: unknown): void {
  if (appliers.method === undefined || typeof fn !== 'function') throw new TypeError(`@${name} cannot decorate a method`);
  let meta = methodMeta.get(fn);
  if (meta === undefined) methodMeta.set(fn, (meta = {}));
  appliers.method(meta);
}

function applyClass(name: string, appliers: Appliers, ctor: unknown): void {
  if (appliers.cls === undefined || typeof ctor !== 'function') throw new TypeError(`@${name} cannot decorate a class`);
  let meta = classMeta.get(ctor);
  if (meta === undefined) classMeta.set(ctor, (meta = {}));
  appliers.cls(meta);
}

function findClassMeta(ctor: unknown): ClassMeta | undefined {
  for (let c = ctor; typeof c === 'function' && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    const meta = classMeta.get(c as Function);
    if (meta !== undefined) return meta;
  }
  return undefined;
}

function decoratedMethods(instance: object): Array<{ name: string | symbol; fn: Function; meta: MethodMeta }> {
  const out: Array<{ name: string | symbol; fn: Function; meta: MethodMeta }> = [];
  const seen = new Set<string | symbol>();
  for (let proto = Object.getPrototypeOf(instance); proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const key of Reflect.ownKeys(proto)) {
      if (key === 'constructor' || seen.has(key)) continue;
      seen.add(key);
      const value = Object.getOwnPropertyDescriptor(proto, key)?.value;
      if (typeof value !== 'function') continue;
      const meta = methodMeta.get(value);
      if (meta !== undefined) out.push({ name: key, fn: value, meta });
    }
  }
  return out;
}

function checkStrings(values: string[], name: string): void {
  for (const v of values) if (typeof v !== 'string') throw new TypeError(`@${name} takes strings, got ${typeof v}`);
}
