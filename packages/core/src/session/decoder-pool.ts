/**
 * Decoders for the sessions of one server, lent per read.
 *
 * A session needs a decoder only while a frame of its client is incomplete, held back (the
 * session paused reading for an asynchronous frame) or failed. Almost always a WebSocket message
 * holds whole frames, so after a read the decoder is idle again: the session hands it back here
 * and the next read (of any session) takes it. An idle connection therefore holds no decoder (a
 * decoder with its line-mark table is ~750 bytes; at 10,000 idle connections that was a quarter of
 * the server's memory per connection).
 *
 * One spare is kept: reads are synchronous, so the spare is in use by at most one session at a
 * time, and a read nested inside another session's frame callback (an in-process transport)
 * simply gets a new decoder.
 */
import { Decoder, type DecoderHandlers, type DecoderOptions } from '../codec/decoder';
import type { StompVersion } from '../codec/versions';

/** What a returned decoder reports to until it is lent again: nothing (it is idle). */
const UNBOUND: DecoderHandlers = { frame: () => {} };

export class DecoderPool {
  private spare: Decoder | undefined;

  constructor(private readonly options: DecoderOptions) {}

  /** A decoder delivering to `handlers`, unescaping per `version`. */
  take(handlers: DecoderHandlers, version: StompVersion): Decoder {
    const decoder = this.spare;
    if (decoder === undefined) {
      const created = new Decoder(handlers, this.options);
      created.version = version;
      return created;
    }
    this.spare = undefined;
    decoder.rebind(handlers, version);
    return decoder;
  }

  /** Returns an idle decoder (callers check `decoder.idle`); it keeps no reference to its last stream. */
  give(decoder: Decoder): void {
    if (this.spare !== undefined) return;
    decoder.rebind(UNBOUND, '1.2');
    this.spare = decoder;
  }
}
