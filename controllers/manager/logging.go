package manager

import "github.com/go-logr/logr"

// MaxLogVerbosity is the most verbose level Vigil's logger emits. client-go logs request and
// response bodies from level 8 (headers from 7) through the contextual logger the
// controller hands it; those bodies are Secrets. No log level may show a secret value, so
// everything above this level is dropped whatever --zap-log-level asks for.
const MaxLogVerbosity = 5

// CapVerbosity returns a logger that drops messages above MaxLogVerbosity.
func CapVerbosity(l logr.Logger) logr.Logger {
	return logr.New(cappedSink{sink: l.GetSink()})
}

type cappedSink struct{ sink logr.LogSink }

func (s cappedSink) Init(info logr.RuntimeInfo) { s.sink.Init(info) }
func (s cappedSink) Enabled(level int) bool {
	return level <= MaxLogVerbosity && s.sink.Enabled(level)
}
func (s cappedSink) Info(level int, msg string, kv ...any) {
	if level <= MaxLogVerbosity {
		s.sink.Info(level, msg, kv...)
	}
}
func (s cappedSink) Error(err error, msg string, kv ...any) { s.sink.Error(err, msg, kv...) }
func (s cappedSink) WithValues(kv ...any) logr.LogSink {
	return cappedSink{sink: s.sink.WithValues(kv...)}
}
func (s cappedSink) WithName(name string) logr.LogSink {
	return cappedSink{sink: s.sink.WithName(name)}
}

// WithCallDepth keeps the caller annotation pointing at Vigil's code, not this wrapper.
func (s cappedSink) WithCallDepth(depth int) logr.LogSink {
	if d, ok := s.sink.(logr.CallDepthLogSink); ok {
		return cappedSink{sink: d.WithCallDepth(depth + 1)}
	}
	return s
}
