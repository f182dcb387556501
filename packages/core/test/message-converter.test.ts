/**
 * Message conversion: every row of the default table (message-converter.ts) as a unit, then the
 * `messageConverters` option end to end — the same converters decode a handler's payload and
 * encode its reply and what the template sends.
 */
import { CompositeMessageConverter, PayloadValidationError, noContentTypeConverter, toBody, type MessageConverter } from '../src';
import type { TestServer } from './helpers/server';
import { Clients, nextMessage, startAppServer, subscribeLive, untilReceipt } from './app/support';

const convert = new CompositeMessageConverter();
const from = (body: string | Buffer, contentType?: string): unknown => convert.fromMessage(Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'), contentType);

describe('default conversion of a body into a payload', () => {
  it('parses application/json, with parameters and in any case', () => {
    expect(from('{"name":"Ada"}', 'application/json')).toEqual({ name: 'Ada' });
    expect(from('[1,2]', 'Application/JSON; charset=utf-8')).toEqual([1, 2]);
  });

  it('parses +json media types', () => {
    expect(from('{"a":1}', 'application/vnd.example+json')).toEqual({ a: 1 });
  });

  it('refuses an invalid application/json body with a non-fatal PayloadValidationError', () => {
    let error: unknown;
    try {
      from('{oops', 'application/json');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PayloadValidationError);
    expect((error as PayloadValidationError).fatal).toBe(false);
    expect((error as PayloadValidationError).message).toMatch(/^invalid payload: body is not valid JSON/);
  });

  it('gives text/* as a UTF-8 string, even when it looks like JSON', () => {
    expect(from('{"a":1}', 'text/plain')).toBe('{"a":1}');
    expect(from('<b>é</b>', 'text/html;charset=utf-8')).toBe('<b>é</b>');
  });

  it('gives application/octet-stream as the Buffer, even when it is JSON text', () => {
    const payload = from('{"a":1}', 'application/octet-stream');
    expect(Buffer.isBuffer(payload) && (payload as Buffer).toString()).toBe('{"a":1}');
  });

  it('parses a body without content-type as JSON when it is JSON (what @stomp/stompjs publish sends)', () => {
    expect(from('{"name":"Ada"}')).toEqual({ name: 'Ada' });
    expect(from(' [true, null]\n')).toEqual([true, null]);
    expect(from('42')).toBe(42);
    expect(from('"quoted"')).toBe('quoted');
  });

  it('gives a body without content-type that is not JSON as a UTF-8 string', () => {
    expect(from('hello')).toBe('hello');
    expect(from('{not json')).toBe('{not json');
    expect(from('')).toBe('');
    expect(from('héllo wörld')).toBe('héllo wörld');
  });

  it('gives a body without content-type as the Buffer only when it is not valid UTF-8', () => {
    const payload = from(Buffer.from([0x7b, 0xff, 0xfe, 0x00]));
    expect(Buffer.isBuffer(payload) && [...(payload as Buffer)]).toEqual([0x7b, 0xff, 0xfe, 0x00]);
  });

  it('gives any other content-type as the Buffer', () => {
    const payload = from('GIF89a', 'image/gif');
    expect(Buffer.isBuffer(payload) && (payload as Buffer).toString()).toBe('GIF89a');
  });
});

describe('default conversion of a payload into a body', () => {
  it('sends a Buffer or Uint8Array as application/octet-stream bytes', () => {
    expect(toBody(Buffer.from([1, 2]))).toEqual({ body: Buffer.from([1, 2]), contentType: 'application/octet-stream' });
    const view = new Uint8Array([9, 8, 7]).subarray(1);
    expect(toBody(view)).toEqual({ body: Buffer.from([8, 7]), contentType: 'application/octet-stream' });
  });

  it('sends a string as text/plain;charset=utf-8', () => {
    expect(toBody('héllo')).toEqual({ body: Buffer.from('héllo', 'utf8'), contentType: 'text/plain;charset=utf-8' });
  });

  it('sends anything else as application/json', () => {
    expect(toBody({ a: [1] })).toEqual({ body: Buffer.from('{"a":[1]}'), contentType: 'application/json' });
    expect(toBody(7)).toEqual({ body: Buffer.from('7'), contentType: 'application/json' });
    expect(toBody(null)).toEqual({ body: Buffer.from('null'), contentType: 'application/json' });
  });

  it('uses an explicit content-type instead of the chosen one', () => {
    expect(toBody({ a: 1 }, 'application/vnd.a+json')).toEqual({ body: Buffer.from('{"a":1}'), contentType: 'application/vnd.a+json' });
  });
});

/** A stand-in for a MessagePack converter: `application/x-reversed` bodies are reversed text. */
const reversed: MessageConverter = {
  fromMessage(body, _contentType, mediaType) {
    return mediaType === 'application/x-reversed' ? { text: [...body.toString('utf8')].reverse().join('') } : undefined;
  },
  toMessage(payload, contentType) {
    if (contentType !== 'application/x-reversed' && !(typeof payload === 'object' && payload !== null && 'reverse' in payload)) return undefined;
    const text = String((payload as { text?: unknown }).text ?? '');
    return { body: Buffer.from([...text].reverse().join(''), 'utf8'), contentType: 'application/x-reversed' };
  },
};

describe('the messageConverters option', () => {
  it('asks an array of converters before the defaults, which still handle the rest', () => {
    const c = new CompositeMessageConverter([reversed]);
    expect(c.fromMessage(Buffer.from('olleh'), 'application/x-reversed')).toEqual({ text: 'hello' });
    expect(c.fromMessage(Buffer.from('{"a":1}'), undefined)).toEqual({ a: 1 });
    expect(c.toMessage({ text: 'abc', reverse: true })).toEqual({ body: Buffer.from('cba'), contentType: 'application/x-reversed' });
    expect(c.toMessage({ text: 'abc' })).toEqual({ body: Buffer.from('{"text":"abc"}'), contentType: 'application/json' });
  });

  it('replaces the defaults when given a function of them', () => {
    const strict = new CompositeMessageConverter((defaults) => defaults.filter((d) => d !== noContentTypeConverter));
    // Without the no-content-type converter, such a body falls through to the Buffer.
    expect(Buffer.isBuffer(strict.fromMessage(Buffer.from('{"a":1}'), undefined))).toBe(true);
    const onlyMine = new CompositeMessageConverter(() => [reversed]);
    expect(() => onlyMine.toMessage('text')).toThrow('no message converter can write a payload of type string');
  });

  it('refuses something that is not a list of converters', () => {
    expect(() => new CompositeMessageConverter('json' as never)).toThrow(/messageConverters must be/);
    expect(() => new CompositeMessageConverter(() => [null as never])).toThrow(/converter objects/);
  });
});

describe('the messageConverters option end to end', () => {
  let server: TestServer;
  const clients = new Clients(() => server);

  afterEach(async () => {
    clients.closeAll();
    await server?.close();
  });

  it('decodes a handler payload, and encodes its reply and template sends, with the same converters', async () => {
    server = await startAppServer({ messageConverters: [reversed] });
    const seen: unknown[] = [];
    server.broker.handle('/echo', (message) => {
      seen.push(message.payload);
      return { text: `${(message.payload as { text: string }).text}!`, reverse: true };
    });
    const c = await clients.connect();
    await subscribeLive(c, '/topic/echo');
    c.send('SEND', { destination: '/app/echo', 'content-type': 'application/x-reversed', receipt: 'r' }, 'olleh');
    const [reply] = await untilReceipt(c, 'r'); // the reply was published before the RECEIPT
    expect(seen).toEqual([{ text: 'hello' }]);
    expect(reply.headers['content-type']).toBe('application/x-reversed');
    expect(reply.body.toString()).toBe('!olleh');

    await server.broker.template.send('/topic/echo', { text: 'abc' }, { contentType: 'application/x-reversed' });
    const sent = await nextMessage(c);
    expect([sent.headers['content-type'], sent.body.toString()]).toEqual(['application/x-reversed', 'cba']);
  });

  it('gives a handler the object a SEND without content-type carries as JSON', async () => {
    server = await startAppServer();
    const seen: unknown[] = [];
    server.broker.handle('/hello', (message) => {
      seen.push(message.payload);
      return { content: `Hello, ${message.payload.name}!` };
    });
    const c = await clients.connect();
    await subscribeLive(c, '/topic/hello');
    c.send('SEND', { destination: '/app/hello' }, JSON.stringify({ name: 'Ada' }));
    expect(JSON.parse((await nextMessage(c)).body.toString())).toEqual({ content: 'Hello, Ada!' });
    expect(seen).toEqual([{ name: 'Ada' }]);
  });
});
