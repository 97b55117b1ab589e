/** The commit-backed message bus (M3): pure formats and the store operations over injected Object/RefStores. */
export * from './interface.js';
export * from './names.js';
export * from './merkle.js';
export * from './message.js';
export * from './records.js';
export * from './topic.js';
export * from './publish.js';
export * from './consumer.js';
export * from './maintenance.js';
