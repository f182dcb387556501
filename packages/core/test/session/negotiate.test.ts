/**
 * The per-session heart-beat offer (sessionOffer) and what the spec's negotiation makes of it.
 */
import { negotiateHeartbeat, sessionOffer } from '../../src/session/negotiate';

describe('sessionOffer', () => {
  it('keeps the configured offer for clients asking for the same rate or slower', () => {
    expect(sessionOffer([10000, 10000], [10000, 10000], 1000)).toEqual([10000, 10000]);
    expect(sessionOffer([60000, 60000], [10000, 10000], 1000)).toEqual([10000, 10000]);
    expect(sessionOffer([0, 0], [10000, 10000], 1000)).toEqual([10000, 10000]);
  });

  it('lowers each direction to what the client asks, rounded up to a multiple of the floor', () => {
    expect(sessionOffer([1000, 1000], [10000, 10000], 1000)).toEqual([1000, 1000]);
    expect(sessionOffer([4000, 2500], [10000, 10000], 1000)).toEqual([3000, 4000]);
    expect(sessionOffer([0, 2500], [10000, 10000], 1000)).toEqual([3000, 10000]);
  });

  it('never goes below the floor, nor above the configured offer', () => {
    expect(sessionOffer([100, 1], [10000, 10000], 1000)).toEqual([1000, 1000]);
    expect(sessionOffer([100, 100], [500, 500], 1000)).toEqual([500, 500]);
    expect(sessionOffer([9500, 9500], [10000, 10000], 3000)).toEqual([10000, 10000]);
  });

  it('keeps a direction the server switched off', () => {
    expect(sessionOffer([1000, 1000], [0, 10000], 1000)).toEqual([0, 1000]);
  });

  it('makes the spec negotiation land on the client\'s rate both ways', () => {
    const client: [number, number] = [2000, 1000];
    expect(negotiateHeartbeat(client, sessionOffer(client, [10000, 10000], 1000))).toEqual({ send: 1000, receive: 2000 });
  });
});
