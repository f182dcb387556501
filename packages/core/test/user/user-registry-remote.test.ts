/** The user registry's view of other nodes (what a relay feeds it); no RabbitMQ needed. */
import { UserRegistry } from '../../src';

describe('UserRegistry with other nodes', () => {
  it('merges other nodes’ users into get, list, count and isOnline, with the nodes of each user', () => {
    const users = new UserRegistry();
    users.setLocalNode('a');
    users.add('alice', 's1');
    users.setRemote('b', { alice: ['s2'], bob: ['s3'] });
    expect(users.count()).toBe(2);
    expect(users.isOnline('bob')).toBe(true);
    expect(users.get('alice')).toEqual({ name: 'alice', sessionIds: ['s1', 's2'], nodes: ['a', 'b'] });
    expect(users.list().map((u) => u.name).sort()).toEqual(['alice', 'bob']);
    expect(users.nodesOf('alice')).toEqual(['b']);
    // sessionIdsOf stays local: it resolves user destinations on this node.
    expect([...users.sessionIdsOf('alice')]).toEqual(['s1']);
    expect(users.localSnapshot()).toEqual({ alice: ['s1'] });
  });

  it('fires online and offline when a user appears or disappears anywhere, once', () => {
    const users = new UserRegistry();
    users.setLocalNode('a');
    const events: string[] = [];
    users.on('online', (name) => events.push(`online ${name}`));
    users.on('offline', (name) => events.push(`offline ${name}`));
    users.addRemote('b', 'carol', 's1');
    users.add('carol', 's2'); // already online elsewhere: no event
    users.addRemote('c', 'carol', 's3');
    users.remove('carol', 's2');
    users.removeRemote('b', 'carol', 's1');
    users.dropNode('c');
    expect(events).toEqual(['online carol', 'offline carol']);
  });

  it('replaces a node’s users on a snapshot, reporting who came and went', () => {
    const users = new UserRegistry();
    users.setLocalNode('a');
    const events: string[] = [];
    users.on('online', (name) => events.push(`online ${name}`));
    users.on('offline', (name) => events.push(`offline ${name}`));
    users.setRemote('b', { x: ['1'], y: ['2'] });
    users.setRemote('b', { y: ['2'], z: ['3'] });
    expect(users.list().map((u) => u.name).sort()).toEqual(['y', 'z']);
    expect(events).toEqual(['online x', 'online y', 'offline x', 'online z']);
  });

  it('reports joins and leaves of this node’s sessions', () => {
    const users = new UserRegistry();
    const seen: string[] = [];
    users.on('join', (name, id) => seen.push(`join ${name} ${id}`));
    users.on('leave', (name, id) => seen.push(`leave ${name} ${id}`));
    users.add('dan', 's1');
    users.remove('dan', 's1');
    users.remove('dan', 's1');
    expect(seen).toEqual(['join dan s1', 'leave dan s1']);
  });
});
