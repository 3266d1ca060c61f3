package embedded

import (
	"errors"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
	bolterr "go.etcd.io/bbolt/errors"
)

// verifyFile reads every page of an existing database once, in a
// read-only open, before the real open.
//
// Why: without a synced freelist (SyncFreelist false), bbolt's Open
// rebuilds the freelist by walking the file in a goroutine of its own, and
// a page damaged on disk makes that goroutine panic, which no recover can
// catch: the process would die instead of Open returning an error. Walking
// the same pages here first, in this goroutine, turns such damage into an
// error. bbolt never damages pages itself (it copies on write and
// checksums its meta pages), so this only catches disk faults and
// tampering; the cost is one extra read of the file at startup.
func verifyFile(cfg Config) (err error) {
	st, err := os.Stat(cfg.Path())
	if errors.Is(err, os.ErrNotExist) || err == nil && st.Size() == 0 {
		return nil // a new database: nothing to check
	}
	if err != nil {
		return fmt.Errorf("embedded: %w", err)
	}
	db, err := bolt.Open(cfg.Path(), 0o600, &bolt.Options{Timeout: cfg.LockTimeout, ReadOnly: true})
	if err != nil {
		if errors.Is(err, bolterr.ErrTimeout) {
			return fmt.Errorf("embedded: %s is locked by another process or Store (waited %v): %w", cfg.Path(), cfg.LockTimeout, err)
		}
		return fmt.Errorf("embedded: opening %s: %w", cfg.Path(), err)
	}
	defer db.Close()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("embedded: %s is damaged: %v", cfg.Path(), p)
		}
	}()
	return db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return walk(b) })
	})
}

// walk reads every key and value of b and its sub-buckets, which touches
// every page they use.
func walk(b *bolt.Bucket) error {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil {
			if sub := b.Bucket(k); sub != nil {
				if err := walk(sub); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
