package coldtier

import (
	"context"
	"errors"
	"testing"
	"time"

	"gocloud.dev/blob/fileblob"
)

// A crash between writing a segment and listing it leaves an orphan:
// DeleteOrphans removes it once old enough and never touches a live one.
func TestDeleteOrphans(t *testing.T) {
	ctx := context.Background()
	b, err := fileblob.OpenBucket(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tr, err := Open(ctx, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Put(ctx, sampleLinks(10)); err != nil {
		t.Fatal(err)
	}
	crash := errors.New("crash")
	tr.Hook = func(step string) error {
		if step == "verified" {
			return crash
		}
		return nil
	}
	if err := tr.Put(ctx, sampleLinks(5)); !errors.Is(err, crash) {
		t.Fatalf("put: %v", err)
	}
	tr.Hook = nil
	if n, err := tr.DeleteOrphans(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("a recent orphan was deleted: %d, %v", n, err)
	}
	if n, err := tr.DeleteOrphans(ctx, 0); err != nil || n != 1 {
		t.Fatalf("DeleteOrphans = %d, %v; want 1", n, err)
	}
	tr2, err := Open(ctx, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := tr2.Stats(); st.Segments != 1 || st.Links != 10 || st.Corrupt != 0 {
		t.Fatalf("after: %+v", st)
	}
	if l, err := tr2.Get(ctx, "c00003"); err != nil || l.Version != 4 {
		t.Fatalf("live segment: %+v, %v", l, err)
	}
}
