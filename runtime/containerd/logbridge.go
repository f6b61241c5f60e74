package containerd

import (
	"io"

	ctrdlog "github.com/containerd/log"
	"github.com/sirupsen/logrus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// containerdLogger returns a logger for containerd's client code (which
// logs through logrus, to stderr unless told otherwise) that hands its
// entries to l instead: warnings and errors as warnings, the rest as debug
// messages. The Runtime puts it in the context of every call.
func containerdLogger(l *zap.Logger) *ctrdlog.Entry {
	lg := logrus.New()
	lg.Out = io.Discard
	lg.Level = logrus.WarnLevel
	if l.Core().Enabled(zapcore.DebugLevel) {
		lg.Level = logrus.DebugLevel
	}
	lg.AddHook(zapHook{l.WithOptions(zap.AddCallerSkip(1)).Named("containerd")})
	return logrus.NewEntry(lg)
}

// zapHook forwards logrus entries to a zap logger.
type zapHook struct{ l *zap.Logger }

func (zapHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h zapHook) Fire(e *logrus.Entry) error {
	fields := make([]zap.Field, 0, len(e.Data))
	for k, v := range e.Data {
		fields = append(fields, zap.Any(k, v))
	}
	if e.Level <= logrus.WarnLevel {
		h.l.Warn(e.Message, fields...)
	} else {
		h.l.Debug(e.Message, fields...)
	}
	return nil
}
