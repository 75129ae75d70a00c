package manager

import (
	"slices"

	"github.com/go-logr/logr"
)

// MaxLogVerbosity is the most verbose level Vigil's logger emits. client-go logs request and
// response bodies from level 8 (headers from 7) through the contextual logger the
// controller hands it; those bodies are Secrets. No log level may show a secret value, so
// everything above this level is dropped whatever --zap-log-level asks for.
const MaxLogVerbosity = 5

// CapVerbosity returns a logger that drops messages above MaxLogVerbosity.
//
// It also holds back the values a logger is given (WithValues) until it writes a message:
// zap encodes them at once, and controller-runtime builds a logger with the object's name
// and a reconcile ID for every reconcile, most of which log nothing (2 % of the
// controller's CPU in a cold start, docs/performance.md).
func CapVerbosity(l logr.Logger) logr.Logger {
	return logr.New(cappedSink{sink: l.GetSink()})
}

type cappedSink struct {
	sink logr.LogSink
	// values were given to WithValues and not yet to sink.
	values []any
}

// resolved is sink with the values held back.
func (s cappedSink) resolved() logr.LogSink {
	if len(s.values) == 0 {
		return s.sink
	}
	return s.sink.WithValues(s.values...)
}

func (s cappedSink) Init(info logr.RuntimeInfo) { s.sink.Init(info) }
func (s cappedSink) Enabled(level int) bool {
	return level <= MaxLogVerbosity && s.sink.Enabled(level)
}
func (s cappedSink) Info(level int, msg string, kv ...any) {
	if level <= MaxLogVerbosity {
		s.resolved().Info(level, msg, kv...)
	}
}
func (s cappedSink) Error(err error, msg string, kv ...any) { s.resolved().Error(err, msg, kv...) }

// WithValues copies the values held (slices.Clip): two loggers made from one never share
// an array to append to.
func (s cappedSink) WithValues(kv ...any) logr.LogSink {
	return cappedSink{sink: s.sink, values: append(slices.Clip(s.values), kv...)}
}
func (s cappedSink) WithName(name string) logr.LogSink {
	return cappedSink{sink: s.sink.WithName(name), values: s.values}
}

// WithCallDepth keeps the caller annotation pointing at Vigil's code, not this wrapper.
func (s cappedSink) WithCallDepth(depth int) logr.LogSink {
	if d, ok := s.sink.(logr.CallDepthLogSink); ok {
		return cappedSink{sink: d.WithCallDepth(depth + 1), values: s.values}
	}
	return s
}
