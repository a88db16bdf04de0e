package logging

import (
	"context"
	"log/slog"
)

// maskingHandler masks the value of every Phone attribute before the
// wrapped handler sees it. Doing it in the handler means no call site can
// forget it. It only rebuilds records that hold a phone: a ReplaceAttr
// function would run on every attribute of every line, and cost the hot
// path of the sender about a microsecond a line.
type maskingHandler struct{ slog.Handler }

func (h maskingHandler) Handle(ctx context.Context, r slog.Record) error {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = hasPhone(a)
		return !found
	})
	if !found {
		return h.Handler.Handle(ctx, r)
	}
	masked := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		masked.AddAttrs(maskAttr(a))
		return true
	})
	return h.Handler.Handle(ctx, masked)
}

func (h maskingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = maskAttr(a)
	}
	return maskingHandler{h.Handler.WithAttrs(out)}
}

func (h maskingHandler) WithGroup(name string) slog.Handler {
	return maskingHandler{h.Handler.WithGroup(name)}
}

func hasPhone(a slog.Attr) bool {
	if a.Key == Phone {
		return true
	}
	if a.Value.Kind() == slog.KindGroup {
		for _, g := range a.Value.Group() {
			if hasPhone(g) {
				return true
			}
		}
	}
	return false
}

// maskAttr masks a as a Phone attribute, or the Phone attributes inside
// the group a.
func maskAttr(a slog.Attr) slog.Attr {
	switch {
	case a.Key == Phone:
		return slog.String(Phone, MaskPhone(a.Value.Resolve().String()))
	case a.Value.Kind() == slog.KindGroup:
		group := a.Value.Group()
		out := make([]slog.Attr, len(group))
		for i, g := range group {
			out[i] = maskAttr(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	}
	return a
}
