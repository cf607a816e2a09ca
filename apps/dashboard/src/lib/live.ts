// One socket.io connection for the whole page, its connection state as a React store, and a hook to
// listen to a typed server event for as long as a component is mounted.

import { useEffect, useRef, useSyncExternalStore } from 'react';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '@contracts/api';

export type LiveSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
export type ConnectionState = 'connecting' | 'live' | 'reconnecting';

let socket: LiveSocket | null = null;
let state: ConnectionState = 'connecting';
let lastError: string | null = null;
const listeners = new Set<() => void>();

function setState(next: ConnectionState, error: string | null = null): void {
  if (next === state && error === lastError) return;
  state = next;
  lastError = error;
  for (const l of listeners) l();
}

export function getSocket(): LiveSocket {
  if (!socket) {
    // Same origin, default path: the app serves the page, the API and socket.io from one port.
    socket = io({ path: '/socket.io', reconnectionDelay: 500, reconnectionDelayMax: 5000 });
    socket.on('connect', () => setState('live'));
    socket.on('disconnect', (reason) => {
      setState('reconnecting');
      // socket.io does not reconnect by itself after a server-side disconnect; a restarting server
      // must not leave the page dead.
      if (reason === 'io server disconnect') setTimeout(() => socket?.connect(), 1000);
    });
    let retry = 0;
    socket.on('connect', () => {
      retry = 0;
    });
    socket.on('connect_error', (err) => {
      setState(state === 'connecting' ? 'connecting' : 'reconnecting', err.message);
      // A refusal from a server middleware leaves the socket inactive: socket.io will not retry it.
      if (!socket?.active) {
        retry = Math.min(retry + 1, 6);
        setTimeout(() => socket?.connect(), Math.min(5000, 250 * 2 ** retry));
      }
    });
  }
  return socket;
}

function subscribeState(cb: () => void): () => void {
  getSocket();
  listeners.add(cb);
  return () => listeners.delete(cb);
}

export function useConnection(): { state: ConnectionState; error: string | null } {
  const s = useSyncExternalStore(subscribeState, () => state);
  const e = useSyncExternalStore(subscribeState, () => lastError);
  return { state: s, error: e };
}

type EventName = keyof ServerToClientEvents;

/** Listens to one server event; the latest handler is always called without re-binding on every render. */
export function useSocketEvent<E extends EventName>(event: E, handler: ServerToClientEvents[E]): void {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => {
    const s = getSocket();
    const fn = ((...args: unknown[]) => (ref.current as (...a: unknown[]) => void)(...args)) as never;
    s.on(event, fn);
    return () => {
      s.off(event, fn);
    };
  }, [event]);
}

/** Calls `cb` on every reconnect (not the first connect): views refetch what may have changed meanwhile. */
export function useReconnect(cb: () => void): void {
  const ref = useRef(cb);
  ref.current = cb;
  useEffect(() => {
    const s = getSocket();
    let first = !s.connected;
    const fn = () => {
      if (first) {
        first = false;
        return;
      }
      ref.current();
    };
    s.on('connect', fn);
    return () => {
      s.off('connect', fn);
    };
  }, []);
}
