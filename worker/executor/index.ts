// Executors: what turns a task into a running process. Re-exports only.
export { type Executor, type StartResult, type ExitResult, ExecutorError, type TaskLogEntry, type TaskLogOptions } from './executor.js';
export { SimulatedExecutor, type SimulatedExecutorOptions, type SimulatedRule } from './simulated-executor.js';
export { EngineExecutor, type EngineExecutorOptions, withoutDigest } from './engine-executor.js';
export {
  createPlan, containerName, containerLabels, expandTemplate, expandTaskTemplates, type TemplateNode, hostModePorts, stopGraceSeconds, healthDisabled, type CreatePlan, type ContainerNetwork,
  LABEL_NODE_ID, LABEL_SERVICE_ID, LABEL_SERVICE_NAME, LABEL_STACK_NAMESPACE, LABEL_TASK, LABEL_TASK_ID, LABEL_TASK_NAME,
} from './container-spec.js';
