// Executors: what turns a task into a running process. Re-exports only.
export { type Executor, type StartResult, type ExitResult, ExecutorError } from './executor.js';
export { SimulatedExecutor, type SimulatedExecutorOptions, type SimulatedRule } from './simulated-executor.js';
