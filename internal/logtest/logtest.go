// Package logtest holds what scimd's tests use to read what a running server
// writes: its log, go-redis's, and scimd's output. It is imported only by
// tests, of any package (it imports nothing of scimd's), which is why it is
// internal to the module and not under one of its layers.
package logtest

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer that a server may write to while a test reads it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
