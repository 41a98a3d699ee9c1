/**
 * Typed domain errors with stable codes. Exactly one place (src/platform/http/api-handler.ts) maps them
 * to HTTP; everything else throws these and never builds responses.
 */
export type ErrorCode =
  | 'VALIDATION_ERROR'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'TASK_NOT_FOUND'
  | 'TOO_MANY_PENDING'
  | 'TASK_ALREADY_COMPLETED'
  | 'MONTHLY_LIMIT_REACHED'
  | 'CREDIT_LIMIT_REACHED'
  | 'NO_LOCAL_EXECUTOR'
  | 'PROJECT_NOT_FOUND'
  | 'SPACE_NOT_FOUND'
  | 'OVERRIDE_REQUEST_NOT_FOUND'
  | 'OVERRIDE_REQUEST_DECIDED'
  | 'CONFLICT'
  | 'IDEMPOTENCY_CONFLICT'
  | 'TASK_NOT_FINISHED'
  | 'NOTHING_TO_RERUN'
  | 'PAYLOAD_TOO_LARGE'
  | 'SERVICE_UNAVAILABLE';

export const ERROR_STATUS: Record<ErrorCode, number> = {
  VALIDATION_ERROR: 400,
  TOO_MANY_PENDING: 400,
  TASK_ALREADY_COMPLETED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  MONTHLY_LIMIT_REACHED: 403,
  CREDIT_LIMIT_REACHED: 403,
  NOT_FOUND: 404,
  TASK_NOT_FOUND: 404,
  PROJECT_NOT_FOUND: 404,
  SPACE_NOT_FOUND: 404,
  OVERRIDE_REQUEST_NOT_FOUND: 404,
  OVERRIDE_REQUEST_DECIDED: 409,
  CONFLICT: 409,
  IDEMPOTENCY_CONFLICT: 409,
  TASK_NOT_FINISHED: 409,
  NOTHING_TO_RERUN: 409,
  NO_LOCAL_EXECUTOR: 409,
  PAYLOAD_TOO_LARGE: 413,
  SERVICE_UNAVAILABLE: 503,
};

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: unknown }) {
    super(message, options);
    this.name = 'DomainError';
    this.code = code;
    this.details = options?.details;
  }
}

export class ValidationError extends DomainError {
  constructor(message: string, details?: unknown) {
    super('VALIDATION_ERROR', message, { details });
    this.name = 'ValidationError';
  }
}

export class TaskNotFoundError extends DomainError {
  constructor(taskId: string) {
    super('TASK_NOT_FOUND', `Task ${taskId} was not found`);
    this.name = 'TaskNotFoundError';
  }
}

/** A project that does not exist or that the caller may not use (the two look the same). */
export class ProjectNotFoundError extends DomainError {
  constructor(projectId: string) {
    super('PROJECT_NOT_FOUND', `Project ${projectId} was not found`);
    this.name = 'ProjectNotFoundError';
  }
}

export class UnauthorizedError extends DomainError {
  constructor(message = 'A valid bearer token or API key is required') {
    super('UNAUTHORIZED', message);
    this.name = 'UnauthorizedError';
  }
}

export class ForbiddenError extends DomainError {
  constructor(message = 'You are not allowed to do this') {
    super('FORBIDDEN', message);
    this.name = 'ForbiddenError';
  }
}

/** An optimistic write lost a race more times than it may retry. */
export class ContentionError extends DomainError {
  constructor(what: string) {
    super('CONFLICT', `Too much concurrent activity on ${what}; try again`);
    this.name = 'ContentionError';
  }
}

/** A setting (environment variable or bundled configuration file) is missing or invalid; thrown at cold start. */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}
