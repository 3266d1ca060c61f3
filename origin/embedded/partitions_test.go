package embedded

import (
	"errors"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// The partition count is recorded in the file when the store is created and
// checked at every Open; a file from before it was recorded reads as 64.
func TestPartitionCountRecordedAndChecked(t *testing.T) {
	dir := t.TempDir()
	open := func(n int) (*Store, error) {
		cfg := DefaultConfig(dir)
		cfg.NoSync, cfg.Partitions = true, n
		return Open(cfg)
	}
	s, err := open(128)
	if err != nil || s.Partitions().N() != 128 {
		t.Fatalf("Open(128): %v", err)
	}
	s.Close()
	_, err = open(1024)
	var pm *store.PartitionMismatchError
	if !errors.Is(err, store.ErrPartitionMismatch) || !errors.As(err, &pm) || pm.Stored != 128 || pm.Configured != 1024 {
		t.Fatalf("Open with another count: %v", err)
	}
	if s, err = open(128); err != nil {
		t.Fatalf("Open with the recorded count: %v", err)
	}
	// Make it a legacy file: no recorded count.
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(keyParts) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err = open(1024); !errors.As(err, &pm) || pm.Stored != keys.LegacyPartitions {
		t.Fatalf("Open of a legacy file at 1024: %v; want a mismatch naming 64", err)
	}
	if s, err = open(keys.LegacyPartitions); err != nil {
		t.Fatalf("Open of a legacy file at 64: %v", err)
	}
	s.Close()
	if _, err := open(1000); !errors.Is(err, store.ErrConfig) {
		t.Fatalf("Open(1000): %v, want ErrConfig", err)
	}
}
