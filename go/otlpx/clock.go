// This file owns the direct API's clock: Unix nanoseconds from one
// monotonic clock read (time.Since) on an anchor re-taken every second,
// instead of time.Now's two reads (wall and monotonic). Must not block.
package otlpx

import (
	"sync/atomic"
	"time"
)

type anchor struct {
	wall int64     // Unix nanoseconds at mono
	mono time.Time // carries a monotonic reading
}

type clock struct{ a atomic.Pointer[anchor] }

func (c *clock) now() int64 {
	a := c.a.Load()
	if a != nil {
		if d := time.Since(a.mono); d >= 0 && d < time.Second {
			return a.wall + int64(d)
		}
	}
	t := time.Now()
	c.a.Store(&anchor{wall: t.UnixNano(), mono: t})
	return t.UnixNano()
}
