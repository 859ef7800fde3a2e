package backend

import (
	"bytes"
	"context"
	"testing"

	"github.com/scimd/scimd/resources"
)

// TestPositionTimeLayout: a position read from a dateTime index (seekIndex)
// and one made from a document (seekMatches) encode a time alike, so a walk
// may pass from one to the other.
func TestPositionTimeLayout(t *testing.T) {
	if resources.PositionTimeLayout != tsFormat {
		t.Errorf("resources.PositionTimeLayout = %q, tsFormat = %q: they must be the same", resources.PositionTimeLayout, tsFormat)
	}
}

// TestCursorKey: the first call makes the key, every later one, from any
// process sharing the store, reads the same.
func TestCursorKey(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		k1, err := s.CursorKey(ctx)
		if err != nil || len(k1) != 32 {
			t.Fatalf("CursorKey = %x, %v; want 32 bytes", k1, err)
		}
		k2, err := s.CursorKey(ctx)
		if err != nil || !bytes.Equal(k1, k2) {
			t.Errorf("CursorKey again = %x, %v; want %x", k2, err, k1)
		}
	})
}
