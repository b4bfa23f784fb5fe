#!/usr/bin/env node
// Local Step Functions: runs the real statemachine/*.asl.json with aws-local-stepfunctions behind the
// subset of the Step Functions JSON 1.0 API that EcpayEvents uses (StartExecution, DescribeExecution,
// ListExecutions, GetExecutionHistory, StopExecution, CreateStateMachine, DescribeStateMachine).
// Lambda Task states become an HTTP POST of the task input to the service's /events URL, as Lambda
// Web Adapter (LWA) 1.0.0 does on AWS, answers included (see lambdaHandler). Dev and tests only: no auth, binds 127.0.0.1.
//
//   node stepfunctions-server.mjs [--port 4584] \
//     [--state-machine ARN=FILE]...      default: payment-timeout = <repo>/statemachine/payment-timeout.asl.json
//     [--lambda NAME=URL]...             NAME: a ${Placeholder} of the definition (e.g. ReconcileFunctionArn)
//                                         or a Task Resource ARN; URL: where to POST the task input
//     [--lambda-error-status-codes 400-599]  like AWS_LWA_ERROR_STATUS_CODES (template.yaml, TimeoutsFunction):
//                                         these statuses fail the task as LWA 1.0.0 does; others are its output
//     [--substitute NAME=VALUE]...       other ${NAME} placeholders, like SAM's DefinitionSubstitutions
//     [--wait-override STATE=MS]...      a Wait state pauses MS milliseconds instead (e.g. WaitForSettlement=2000)
//     [--retry-interval-override STATE=MS[,MS...]]...  a Task state's retries wait MS ms (one per retrier)
//     [--data FILE]                      keep executions in this JSON file across restarts
//     [--region us-east-1] [--account 000000000000]
//
// --port 0 picks a free port; the first stdout line is always {"Timestamp":…,"LogLevel":"Information","Message":"listening on http://127.0.0.1:<port>"}.
// Every line is one JSON object (Timestamp, LogLevel, Message, and ExecutionName, MerchantTradeNo, Operation… where they apply).

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { StateMachine } from 'aws-local-stepfunctions';

// Node's setTimeout fires after 1 ms for delays above 2^31-1 ms (~24.8 days), and the library's
// Wait state is a plain setTimeout: ATM/CVS payments can expire further out than that.
const MAX_TIMER_MS = 2 ** 31 - 1;
const nativeSetTimeout = globalThis.setTimeout;
const nativeClearTimeout = globalThis.clearTimeout;
class LongTimer {
  constructor(fn, ms, args) {
    this.due = Date.now() + ms;
    this.arm = () => {
      const left = this.due - Date.now();
      this.handle = left > MAX_TIMER_MS ? nativeSetTimeout(this.arm, MAX_TIMER_MS) : nativeSetTimeout(fn, Math.max(0, left), ...args);
    };
    this.arm();
  }
}
globalThis.setTimeout = (fn, ms, ...args) => (ms > MAX_TIMER_MS ? new LongTimer(fn, ms, args) : nativeSetTimeout(fn, ms, ...args));
globalThis.clearTimeout = (t) => nativeClearTimeout(t instanceof LongTimer ? t.handle : t);

// ---------------------------------------------------------------- options

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');

function parseArgs(argv) {
  const opts = {
    port: 4584, stateMachines: [], lambdas: [], substitutions: [], data: null, region: 'us-east-1', account: '000000000000',
    // What template.yaml sets as AWS_LWA_ERROR_STATUS_CODES for the TimeoutsFunction.
    lambdaErrorStatusCodes: parseStatusCodes('400-599'), waitTimeOverrides: {}, retryIntervalOverrides: {},
  };
  const milliseconds = (flag, text) => {
    const ms = Number(text);
    if (!Number.isInteger(ms) || ms < 0) fail(`${flag}: ${JSON.stringify(text)} is not a whole number of milliseconds`);
    return ms;
  };
  const pair = (flag, value) => {
    const i = value?.indexOf('=') ?? -1;
    if (i <= 0) fail(`${flag} expects NAME=VALUE, got ${JSON.stringify(value)}`);
    return [value.slice(0, i), value.slice(i + 1)];
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    switch (flag) {
      case '--port': opts.port = Number(value); i++; break;
      case '--state-machine': opts.stateMachines.push(pair(flag, value)); i++; break;
      case '--lambda': opts.lambdas.push(pair(flag, value)); i++; break;
      case '--substitute': opts.substitutions.push(pair(flag, value)); i++; break;
      case '--lambda-error-status-codes': opts.lambdaErrorStatusCodes = parseStatusCodes(value ?? ''); i++; break;
      case '--wait-override': {
        const [state, ms] = pair(flag, value);
        opts.waitTimeOverrides[state] = milliseconds(flag, ms);
        i++;
        break;
      }
      case '--retry-interval-override': {
        const [state, list] = pair(flag, value);
        const each = list.split(',').map((ms) => milliseconds(flag, ms));
        opts.retryIntervalOverrides[state] = each.length === 1 ? each[0] : each;
        i++;
        break;
      }
      case '--data': opts.data = value; i++; break;
      case '--region': opts.region = value; i++; break;
      case '--account': opts.account = value; i++; break;
      case '--exit-with-stdin': opts.exitWithStdin = true; break;
      case '-h': case '--help':
        console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1).filter((l, i, all) => all.slice(0, i + 1).every((x) => x.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
        process.exit(0);
      default: fail(`unknown option ${flag} (see --help)`);
    }
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) fail('--port must be 0..65535');
  if (opts.stateMachines.length === 0) {
    opts.stateMachines.push([
      `arn:aws:states:${opts.region}:${opts.account}:stateMachine:payment-timeout`,
      path.join(repoRoot, 'statemachine', 'payment-timeout.asl.json'),
    ]);
  }
  return opts;
}

// AWS_LWA_ERROR_STATUS_CODES' syntax: "500,502-504,422". Like LWA, a part it cannot parse is ignored (with a warning).
function parseStatusCodes(text) {
  const codes = new Set();
  for (const raw of text.split(',')) {
    const part = raw.trim();
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range) for (let c = Number(range[1]); c <= Number(range[2]); c++) codes.add(c);
    else if (/^\d+$/.test(part)) codes.add(Number(part));
    else if (part !== '') console.error(`stepfunctions-server: ignoring status code ${JSON.stringify(part)} (as Lambda Web Adapter would)`);
  }
  return codes;
}

function describeCodes(codes) {
  const sorted = [...codes].sort((a, b) => a - b);
  const parts = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j;
  }
  return parts.join(',') || 'none';
}

function fail(message) {
  console.error(`stepfunctions-server: ${message}`);
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
const lambdaUrls = new Map(); // Task Resource (after substitution) -> URL

// Like SAM's DefinitionSubstitutions: a placeholder with a --lambda URL becomes a local function ARN.
function substitute(text) {
  return text.replace(/\$\{([A-Za-z0-9_.-]+)\}/g, (whole, name) => {
    const explicit = opts.substitutions.find(([k]) => k === name);
    if (explicit) return explicit[1];
    if (opts.lambdas.some(([k]) => k === name)) return `arn:aws:lambda:${opts.region}:${opts.account}:function:${name}`;
    return whole;
  });
}

for (const [name, url] of opts.lambdas) {
  try { new URL(url); } catch { fail(`--lambda ${name}: ${JSON.stringify(url)} is not a URL`); }
  lambdaUrls.set(name.startsWith('arn:') ? name : `arn:aws:lambda:${opts.region}:${opts.account}:function:${name}`, url);
}

// ---------------------------------------------------------------- state machines

const stateMachines = new Map(); // arn -> { arn, name, definitionText, definition, machine, creationDate, roleArn }

function taskStates(definition) {
  const found = [];
  const visit = (states) => {
    for (const [name, state] of Object.entries(states ?? {})) {
      if (state.Type === 'Task') found.push([name, state]);
      for (const branch of state.Branches ?? []) visit(branch.States);
      if (state.Iterator) visit(state.Iterator.States);
      if (state.ItemProcessor) visit(state.ItemProcessor.States);
    }
  };
  visit(definition.States);
  return found;
}

function registerStateMachine(arn, rawText, roleArn) {
  const definitionText = substitute(rawText);
  const definition = JSON.parse(definitionText);
  for (const [stateName, state] of taskStates(definition)) {
    if (!lambdaUrls.has(state.Resource)) {
      throw new ApiError('InvalidDefinition', `Task state ${stateName}: no --lambda URL for Resource ${state.Resource}`);
    }
  }
  let machine;
  try {
    machine = new StateMachine(definition);
  } catch (error) {
    throw new ApiError('InvalidDefinition', error.message);
  }
  const entry = { arn, name: arn.split(':').pop(), definitionText, definition, machine, roleArn, creationDate: Date.now() / 1000 };
  stateMachines.set(arn, entry);
  return entry;
}

// ---------------------------------------------------------------- executions

/** name -> execution; names are unique per state machine, as on AWS (a closed name is never reused). */
const executions = new Map();
const key = (stateMachineArn, name) => `${stateMachineArn}\u0000${name}`;
const executionArn = (stateMachineArn, name) => stateMachineArn.replace(':stateMachine:', ':execution:') + `:${name}`;
const epoch = (ms) => ms / 1000;

function addEvent(execution, type, detailsKey, details, timestampMs = Date.now()) {
  const id = execution.events.length + 1;
  const event = { timestamp: epoch(timestampMs), type, id, previousEventId: id - 1 };
  if (detailsKey) event[detailsKey] = details;
  execution.events.push(event);
  persistSoon();
}

const json = (value) => (value === undefined ? 'null' : JSON.stringify(value));
const payload = (name, value) => ({ [name]: json(value), [`${name}Details`]: { truncated: false } });

// Maps the library's event log to AWS history event types and details.
function recordLibraryEvent(execution, e) {
  if (execution.status !== 'RUNNING') return; // e.g. stopped: the run winds down on its own
  const state = e.state;
  const isTask = state?.type === 'Task';
  switch (e.type) {
    case 'ExecutionStarted':
      if (execution.events.length > 0) return; // resumed after a restart: already recorded
      addEvent(execution, 'ExecutionStarted', 'executionStartedEventDetails',
        { ...payload('input', e.input), roleArn: execution.roleArn }, e.timestamp);
      return;
    case 'StateEntered':
      addEvent(execution, `${state.type}StateEntered`, 'stateEnteredEventDetails', { name: state.name, ...payload('input', state.input) }, e.timestamp);
      if (isTask) scheduleLambdaEvents(execution, state, e.timestamp);
      return;
    case 'StateRetried':
      if (isTask) scheduleLambdaEvents(execution, state, e.timestamp);
      return;
    case 'StateFailed':
      if (isTask) {
        const timedOut = e.Error === 'States.Timeout';
        addEvent(execution, timedOut ? 'LambdaFunctionTimedOut' : 'LambdaFunctionFailed',
          timedOut ? 'lambdaFunctionTimedOutEventDetails' : 'lambdaFunctionFailedEventDetails',
          { error: e.Error, cause: causeText(e.Cause) }, e.timestamp);
      }
      return;
    case 'StateCaught':
      execution.caught = true; // the StateExited that follows carries the catcher's output
      return;
    case 'StateExited':
      if (isTask && !execution.caught) {
        addEvent(execution, 'LambdaFunctionSucceeded', 'lambdaFunctionSucceededEventDetails',
          payload('output', execution.lastLambdaOutput), e.timestamp);
      }
      execution.caught = false;
      addEvent(execution, `${state.type}StateExited`, 'stateExitedEventDetails', { name: state.name, ...payload('output', state.output) }, e.timestamp);
      return;
    case 'ExecutionSucceeded':
      complete(execution, 'SUCCEEDED', { output: json(e.output) }, e.timestamp);
      addEvent(execution, 'ExecutionSucceeded', 'executionSucceededEventDetails', payload('output', e.output), e.timestamp);
      return;
    case 'ExecutionFailed':
      complete(execution, 'FAILED', { error: e.Error, cause: causeText(e.Cause) }, e.timestamp);
      addEvent(execution, 'ExecutionFailed', 'executionFailedEventDetails', { error: e.Error, cause: causeText(e.Cause) }, e.timestamp);
      return;
    case 'ExecutionTimeout':
      complete(execution, 'TIMED_OUT', {}, e.timestamp);
      addEvent(execution, 'ExecutionTimedOut', 'executionTimedOutEventDetails', { error: 'States.Timeout' }, e.timestamp);
      return;
    default:
      return; // Map/Parallel iteration events: not used by our state machines
  }
}

function scheduleLambdaEvents(execution, state, timestampMs) {
  const definition = stateMachines.get(execution.stateMachineArn).definition.States[state.name] ?? {};
  addEvent(execution, 'LambdaFunctionScheduled', 'lambdaFunctionScheduledEventDetails', {
    resource: definition.Resource,
    ...payload('input', state.input),
    timeoutInSeconds: definition.TimeoutSeconds ?? 60,
  }, timestampMs);
  addEvent(execution, 'LambdaFunctionStarted', null, null, timestampMs);
}

const causeText = (cause) => (cause === undefined || cause === null ? undefined : typeof cause === 'string' ? cause : JSON.stringify(cause));

function complete(execution, status, fields, timestampMs = Date.now()) {
  execution.status = status;
  execution.stopDate = epoch(timestampMs);
  Object.assign(execution, fields);
  execution.run = undefined;
  log(`execution ${execution.name} ${status}${fields.error ? ` error=${fields.error}` : ''}`, executionFields(execution, { Status: status, Error: fields.error }), status === 'SUCCEEDED' ? 'Information' : 'Warning');
  persistSoon();
}

// The errorType Lambda reports when Lambda Web Adapter fails an invocation. LWA 1.0.0 (src/lib.rs,
// fetch_response) returns lambda_http::Error::from(String), a Box<dyn Error + Send + Sync>; lambda_runtime
// 1.1 turns it into a Diagnostic whose errorType is std::any::type_name of a reference to that box
// (diagnostic.rs, `type_name_of_val(&self)`: its tests show "&anyhow::Error" for anyhow). Rust does not
// promise type_name's text, so nothing may depend on it: the state machine catches States.ALL, and our
// own error name travels inside the cause.
const LWA_ERROR_TYPE = '&alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>';

// The Lambda task: POST the task input to the service's /events, and answer as Lambda Web Adapter 1.0.0
// and Lambda do on AWS (Resource = the function's ARN):
// - a status in --lambda-error-status-codes fails the invocation with the error message
//   {"statusCode":N,"body":"<the body as a JSON string>"}; Step Functions' error is the errorType
//   (LWA_ERROR_TYPE, not ours) and its cause is the Lambda error JSON {"errorType","errorMessage"};
// - any other status is a success: the status and headers are dropped and the output is the body
//   parsed as JSON, or null when it is not JSON (lambda_http's pass-through response);
// - the app unreachable fails the invocation the same way, with the HTTP client's error as message.
function lambdaHandler(execution, resource) {
  return async (input) => {
    const url = lambdaUrls.get(resource);
    const controller = execution.abortController;
    let response;
    let text;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(input),
        signal: AbortSignal.any([controller.signal, AbortSignal.timeout(5 * 60_000)]),
      });
      text = await response.text();
    } catch (error) {
      throw lambdaError(`client error (POST ${url}: ${error.cause?.message ?? error.message})`);
    }
    if (opts.lambdaErrorStatusCodes.has(response.status)) {
      throw lambdaError(`{"statusCode":${response.status},"body":${JSON.stringify(text)}}`);
    }
    let output;
    try {
      output = text.trim() === '' ? null : JSON.parse(text);
    } catch {
      output = null;
    }
    execution.lastLambdaOutput = output;
    return output;
  };
}

// A Lambda function error as Step Functions reports it for a Lambda task: error = errorType, cause = the error JSON.
function lambdaError(errorMessage) {
  const error = new Error(JSON.stringify({ errorType: LWA_ERROR_TYPE, errorMessage }));
  error.name = LWA_ERROR_TYPE;
  return error;
}

function run(execution) {
  const sm = stateMachines.get(execution.stateMachineArn);
  execution.abortController = new AbortController();
  const taskResourceLocalHandlers = {};
  for (const [stateName, state] of taskStates(sm.definition)) taskResourceLocalHandlers[stateName] = lambdaHandler(execution, state.Resource);
  const started = sm.machine.run(JSON.parse(execution.input), {
    overrides: { taskResourceLocalHandlers, waitTimeOverrides: opts.waitTimeOverrides, retryIntervalOverrides: opts.retryIntervalOverrides },
    noThrowOnAbort: true,
    context: {
      Execution: { Id: execution.executionArn, Name: execution.name, RoleArn: execution.roleArn },
      StateMachine: { Id: sm.arn, Name: sm.name },
    },
  });
  execution.run = started;
  (async () => {
    try {
      for await (const e of started.eventLogs) recordLibraryEvent(execution, e);
    } catch (error) {
      log(`execution ${execution.name} event log error: ${error.message}`, executionFields(execution), 'Error');
    }
  })();
  // The event log carries the outcome; this only covers a failure it could not report.
  started.result.catch((error) => {
    nativeSetTimeout(() => {
      if (execution.status !== 'RUNNING' || execution.run !== started) return;
      const inner = error.cause ?? error;
      const cause = causeText(inner.message);
      complete(execution, 'FAILED', { error: inner.name ?? 'States.Runtime', cause });
      addEvent(execution, 'ExecutionFailed', 'executionFailedEventDetails', { error: execution.error, cause });
    }, 100);
  });
}

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(type, message) {
    super(message);
    this.type = type;
  }
}

const NAME_PATTERN = /^[A-Za-z0-9_-]{1,80}$/; // AWS allows a few more characters; ours are MerchantTradeNos

function requireString(body, field) {
  if (typeof body[field] !== 'string' || body[field] === '') throw new ApiError('ValidationException', `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`);
  return body[field];
}

function findStateMachine(arn) {
  if (!arn.startsWith('arn:aws:states:') || !arn.includes(':stateMachine:')) throw new ApiError('InvalidArn', `Invalid Arn: '${arn}'`);
  const sm = stateMachines.get(arn);
  if (!sm) throw new ApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
  return sm;
}

function findExecution(arn) {
  if (!arn.startsWith('arn:aws:states:') || !arn.includes(':execution:')) throw new ApiError('InvalidArn', `Invalid Arn: '${arn}'`);
  for (const execution of executions.values()) if (execution.executionArn === arn) return execution;
  throw new ApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
}

function sameJson(a, b) {
  try { return canonical(JSON.parse(a)) === canonical(JSON.parse(b)); } catch { return a === b; }
}
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  return JSON.stringify(value);
}

function page(items, body, defaultMax = 100) {
  const max = body.maxResults ? Math.min(Math.max(1, body.maxResults), 1000) : defaultMax;
  let start = 0;
  if (body.nextToken) {
    start = Number.parseInt(Buffer.from(body.nextToken, 'base64').toString('utf8'), 10);
    if (!Number.isInteger(start) || start < 0) throw new ApiError('InvalidToken', 'Invalid token');
  }
  const slice = items.slice(start, start + max);
  const next = start + max < items.length ? Buffer.from(String(start + max)).toString('base64') : undefined;
  return { slice, next };
}

const operations = {
  StartExecution(body) {
    const sm = findStateMachine(requireString(body, 'stateMachineArn'));
    const name = body.name ?? crypto.randomUUID();
    if (!NAME_PATTERN.test(name)) throw new ApiError('InvalidName', `Invalid Name: '${name}'`);
    const input = body.input ?? '{}';
    try {
      const parsed = JSON.parse(input);
      if (parsed === null || typeof parsed !== 'object') throw new Error('not an object');
    } catch (error) {
      throw new ApiError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${error.message}'`);
    }
    const existing = executions.get(key(sm.arn, name));
    if (existing) {
      // AWS: idempotent while RUNNING with the same input; otherwise the name is taken for good.
      if (existing.status === 'RUNNING' && sameJson(existing.input, input)) {
        return { executionArn: existing.executionArn, startDate: existing.startDate };
      }
      throw new ApiError('ExecutionAlreadyExists', `Execution Already Exists: '${existing.executionArn}'`);
    }
    const execution = {
      executionArn: executionArn(sm.arn, name), stateMachineArn: sm.arn, name,
      status: 'RUNNING', startDate: epoch(Date.now()), input, roleArn: sm.roleArn, events: [],
    };
    executions.set(key(sm.arn, name), execution);
    run(execution);
    return { executionArn: execution.executionArn, startDate: execution.startDate };
  },

  DescribeExecution(body) {
    const e = findExecution(requireString(body, 'executionArn'));
    return {
      executionArn: e.executionArn, stateMachineArn: e.stateMachineArn, name: e.name, status: e.status,
      startDate: e.startDate, stopDate: e.stopDate,
      input: e.input, inputDetails: { included: true },
      output: e.output, outputDetails: e.output === undefined ? undefined : { included: true },
      error: e.error, cause: e.cause,
      redriveCount: e.redriveCount, redriveDate: e.redriveDate,
    };
  },

  ListExecutions(body) {
    const sm = findStateMachine(requireString(body, 'stateMachineArn'));
    const statuses = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'];
    if (body.statusFilter !== undefined && !statuses.includes(body.statusFilter)) {
      throw new ApiError('ValidationException', `Value '${body.statusFilter}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [${statuses.join(', ')}]`);
    }
    const matching = [...executions.values()]
      .filter((e) => e.stateMachineArn === sm.arn && (!body.statusFilter || e.status === body.statusFilter))
      .sort((a, b) => b.startDate - a.startDate); // newest first, as AWS lists them
    const { slice, next } = page(matching, body);
    return {
      executions: slice.map((e) => ({
        executionArn: e.executionArn, stateMachineArn: e.stateMachineArn, name: e.name,
        status: e.status, startDate: e.startDate, stopDate: e.stopDate,
      })),
      nextToken: next,
    };
  },

  GetExecutionHistory(body) {
    const e = findExecution(requireString(body, 'executionArn'));
    let events = e.events;
    if (body.reverseOrder) events = [...events].reverse();
    const { slice, next } = page(events, body);
    const withData = body.includeExecutionData !== false;
    return {
      events: withData ? slice : slice.map(stripData),
      nextToken: next,
    };
  },

  StopExecution(body) {
    const e = findExecution(requireString(body, 'executionArn'));
    if (e.status === 'RUNNING') {
      const run = e.run;
      complete(e, 'ABORTED', { error: body.error, cause: body.cause });
      addEvent(e, 'ExecutionAborted', 'executionAbortedEventDetails', { error: body.error, cause: body.cause });
      e.abortController?.abort();
      run?.abort();
    }
    return { stopDate: e.stopDate };
  },

  CreateStateMachine(body) {
    const name = requireString(body, 'name');
    const definition = requireString(body, 'definition');
    if (body.type && body.type !== 'STANDARD') throw new ApiError('ValidationException', 'Only STANDARD state machines run locally');
    const arn = `arn:aws:states:${opts.region}:${opts.account}:stateMachine:${name}`;
    const existing = stateMachines.get(arn);
    if (existing) {
      if (existing.definitionText === substitute(definition)) return { stateMachineArn: arn, creationDate: existing.creationDate };
      throw new ApiError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`);
    }
    const sm = registerStateMachine(arn, definition, body.roleArn);
    return { stateMachineArn: sm.arn, creationDate: sm.creationDate };
  },

  DescribeStateMachine(body) {
    const sm = findStateMachine(requireString(body, 'stateMachineArn'));
    return {
      stateMachineArn: sm.arn, name: sm.name, status: 'ACTIVE', definition: sm.definitionText,
      roleArn: sm.roleArn, type: 'STANDARD', creationDate: sm.creationDate,
    };
  },
};

function stripData(event) {
  const copy = structuredClone(event);
  for (const details of Object.values(copy)) {
    if (details && typeof details === 'object') {
      for (const field of ['input', 'output']) {
        if (field in details) { delete details[field]; details[`${field}Details`] = { included: false }; }
      }
    }
  }
  return copy;
}

// ---------------------------------------------------------------- persistence

const savedShape = ({ run: _run, abortController: _ac, lastLambdaOutput: _lo, caught: _c, ...rest }) => rest;

let persistTimer;
function persistSoon() {
  if (!opts.data || persistTimer) return;
  persistTimer = nativeSetTimeout(() => {
    persistTimer = undefined;
    const saved = [...executions.values()].map(savedShape);
    const tmp = `${opts.data}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ executions: saved }, null, 1));
    fs.renameSync(tmp, opts.data);
  }, 200);
}

function load() {
  if (!opts.data || !fs.existsSync(opts.data)) return;
  const saved = JSON.parse(fs.readFileSync(opts.data, 'utf8'));
  for (const execution of saved.executions ?? []) {
    if (!stateMachines.has(execution.stateMachineArn)) continue;
    executions.set(key(execution.stateMachineArn, execution.name), execution);
    // A run does not survive a restart; starting over is safe because the wait is on an absolute
    // timestamp and Reconcile is idempotent. (An extension is re-learned from Reconcile.)
    // The history keeps the first run's events; a marker says where the replay starts, so the states
    // entered again are not read as a loop. It is AWS's ExecutionRedriven event (a real type that
    // clients already parse), though AWS redrives only closed executions, from the failed state.
    if (execution.status === 'RUNNING') {
      log(`execution ${execution.name} resumed from the start after a restart`, executionFields(execution));
      execution.redriveCount = (execution.redriveCount ?? 0) + 1;
      execution.redriveDate = epoch(Date.now());
      addEvent(execution, 'ExecutionRedriven', 'executionRedrivenEventDetails', { redriveCount: execution.redriveCount });
      run(execution);
    }
  }
}

// ---------------------------------------------------------------- HTTP

// One JSON object per line, like the services' logs: Timestamp (UTC), LogLevel, Message, then named values
// (ExecutionName, MerchantTradeNo, Operation…), so one filter on MerchantTradeNo finds an execution's lines too.
function log(message, fields = {}, level = 'Information') {
  const line = { Timestamp: new Date().toISOString(), LogLevel: level, Message: message };
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== '') line[k] = v;
  console.log(JSON.stringify(line));
}

function executionFields(execution, more = {}) {
  let merchantTradeNo;
  try {
    merchantTradeNo = JSON.parse(execution.input ?? '{}').merchantTradeNo;
  } catch {
    merchantTradeNo = undefined;
  }
  return { ExecutionName: execution.name, MerchantTradeNo: typeof merchantTradeNo === 'string' ? merchantTradeNo : undefined, ...more };
}

function send(res, status, body, extraHeaders = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': crypto.randomUUID(),
    ...extraHeaders,
  });
  res.end(text);
}

const server = http.createServer((req, res) => {
  const started = Date.now();
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      return;
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('AWSStepFunctions.') ? target.slice('AWSStepFunctions.'.length) : '';
    let status = 200;
    let body;
    let subject = '';
    try {
      if (req.method !== 'POST' || !Object.hasOwn(operations, operation)) {
        throw new ApiError('UnknownOperationException', `Unknown operation ${JSON.stringify(target)}`);
      }
      let request;
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        request = text.trim() === '' ? {} : JSON.parse(text);
      } catch {
        throw new ApiError('SerializationException', 'Request body is not JSON');
      }
      subject = request.name ?? request.executionArn?.split(':').pop() ?? request.stateMachineArn?.split(':').pop() ?? '';
      body = operations[operation](request);
    } catch (error) {
      if (!(error instanceof ApiError)) {
        log(`internal error: ${error.message}`, { Exception: error.stack }, 'Error');
        error = new ApiError('InternalFailure', error.message);
        status = 500;
      } else {
        status = 400;
      }
      body = { __type: error.type, message: error.message };
    }
    send(res, status, body);
    log(`${operation || `${req.method} ${req.url}`} ${subject} -> ${status}${status !== 200 ? ` ${body.__type}` : ''} (${Date.now() - started} ms)`,
      { Operation: operation || `${req.method} ${req.url}`, ExecutionName: subject, Status: status, Error: status !== 200 ? body.__type : undefined, ElapsedMs: Date.now() - started },
      status === 200 ? 'Information' : status === 500 ? 'Error' : 'Warning');
  });
});

try {
  for (const [arn, file] of opts.stateMachines) {
    if (!/^arn:aws:states:[^:]+:[^:]+:stateMachine:[A-Za-z0-9_-]+$/.test(arn)) fail(`--state-machine: ${arn} is not a state machine ARN`);
    registerStateMachine(arn, fs.readFileSync(path.resolve(file), 'utf8'), `arn:aws:iam::${opts.account}:role/local-stepfunctions`);
  }
  load();
} catch (error) {
  fail(error.message);
}

server.listen(opts.port, '127.0.0.1', () => {
  log(`listening on http://127.0.0.1:${server.address().port}`);
  for (const sm of stateMachines.values()) log(`state machine ${sm.arn}`);
  for (const [resource, url] of lambdaUrls) log(`lambda ${resource} -> ${url}`);
  log(`lambda error status codes (AWS_LWA_ERROR_STATUS_CODES): ${describeCodes(opts.lambdaErrorStatusCodes)}`);
  for (const [state, ms] of Object.entries(opts.waitTimeOverrides)) log(`wait override: ${state} waits ${ms} ms`);
  for (const [state, ms] of Object.entries(opts.retryIntervalOverrides)) log(`retry interval override: ${state} retries after ${ms} ms`);
});

// Started by a test with a stdin pipe: exit with the parent, even if it dies without cleaning up.
if (opts.exitWithStdin) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (persistTimer) { nativeClearTimeout(persistTimer); persistTimer = undefined; }
    if (opts.data) {
      const saved = [...executions.values()].map(savedShape);
      fs.writeFileSync(opts.data, JSON.stringify({ executions: saved }, null, 1));
    }
    process.exit(0);
  });
}
