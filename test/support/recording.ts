import { Effect, Layer, Logger, Tracer } from "effect"

/** A span as recorded: its name, attributes and events. */
export interface RecordedSpan {
  readonly name: string
  readonly status: Tracer.SpanStatus
  readonly attributes: ReadonlyMap<string, unknown>
  readonly events: ReadonlyArray<readonly [string, bigint, Record<string, unknown>]>
}

/**
 * A tracer that records every span (delegating to the default tracer, whose spans keep their
 * attributes and events) and a logger that records every log line, as text.
 */
export const makeRecorder = Effect.gen(function*() {
  const spans: Array<RecordedSpan> = []
  const logs: Array<string> = []
  const base = yield* Effect.tracer
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      const span = base.span(name, parent, context, links, startTime, kind, options)
      spans.push(span as unknown as RecordedSpan)
      return span
    },
    context: base.context
  })
  const logger = Logger.make(({ annotations, cause, logLevel, message }) => {
    logs.push(`${logLevel.label} ${JSON.stringify(message)} ${JSON.stringify([...annotations])} ${String(cause)}`)
  })
  const layer = Layer.mergeAll(Layer.setTracer(tracer), Logger.replace(Logger.defaultLogger, logger))
  return { spans, logs, layer }
})
