/** `@gatos/gatosd/daemon`: gatosd, the daemon (refs watcher, bus service, HTTP API with SSE, writer thread). */
export * from './config.js';
export * from './lock.js';
export * from './metrics.js';
export * from './sse.js';
export * from './refs-watcher.js';
export * from './bus-service.js';
export * from './server.js';
export { type Daemon, startDaemon } from './main.js';
