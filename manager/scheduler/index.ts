/** The scheduler's pure core: re-exports only. */
export { schedule, type ScheduleInput } from './scheduler.js';
export { parseConstraint, parseConstraints, ConstraintError, type Constraint } from './constraint.js';
export type * from './types.js';
