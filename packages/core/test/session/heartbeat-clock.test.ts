import { HeartbeatClock } from '../../src/session/heartbeat-clock';

describe('HeartbeatClock', () => {
  it('ticks every member of a period with its arg, keeps ticking the others when one throws, and stops when empty', async () => {
    const created: NodeJS.Timeout[] = [];
    const setIntervalSpy = jest.spyOn(global, 'setInterval').mockImplementation(((...args: Parameters<typeof setInterval>) => {
      const timer = (jest.requireActual('node:timers') as typeof import('node:timers')).setInterval(...args);
      created.push(timer);
      return timer;
    }) as typeof setInterval);
    const ticks: string[] = [];
    const errors: string[] = [];
    let wake: () => void = () => {};
    const clock = new HeartbeatClock<string>(
      (member, arg) => {
        ticks.push(`${member}:${arg}`);
        if (member === 'bad') throw new Error('boom');
        if (member === 'b') wake();
      },
      (err, member) => errors.push(`${member} ${(err as Error).message}`),
    );
    const tickOfB = (): Promise<void> => new Promise<void>((resolve) => (wake = resolve));
    clock.add('a', 5, 10);
    clock.add('bad', 5, 10);
    clock.add('b', 5, 10);
    clock.add('c', 7, 14);
    expect(clock.size).toBe(4);
    await tickOfB();
    // One interval walks the period's members in order; the throw did not cost 'b' its tick.
    expect(ticks.slice(ticks.indexOf('a:10'), ticks.indexOf('a:10') + 3)).toEqual(['a:10', 'bad:10', 'b:10']);
    expect(errors[0]).toBe('bad boom');
    clock.remove('bad', 10);
    clock.remove('a', 10);
    ticks.length = 0;
    await tickOfB();
    expect(ticks.filter((t) => t.endsWith(':10'))).toEqual(['b:10']);
    clock.remove('b', 10);
    clock.remove('c', 14);
    clock.remove('c', 14); // unknown: no effect
    expect(clock.size).toBe(0);
    setIntervalSpy.mockRestore();
    // One interval per period, and none left running (Node marks a cleared timer `_destroyed`).
    expect(created).toHaveLength(2);
    expect(created.map((t) => (t as unknown as { _destroyed: boolean })._destroyed)).toEqual([true, true]);
  });
});
