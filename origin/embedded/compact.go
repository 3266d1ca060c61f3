package embedded

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
	bolterr "go.etcd.io/bbolt/errors"
)

// compactSuffix names the copy Compact writes next to the file; a copy
// left by a crash is never opened and is replaced by the next Compact.
const compactSuffix = ".compact"

// compactTxMaxSize bounds one transaction of the copy, so compacting a
// large file does not hold all of it in one transaction's dirty pages.
const compactTxMaxSize = 64 << 20

// CompactResult is what Compact did: the file's size before and after.
type CompactResult struct {
	Path   string
	Before int64
	After  int64
}

// Compact rewrites the closed store in cfg.Dir into a new file holding
// only the pages in use and replaces the old file with it. A bbolt file
// never shrinks: pages freed by deletes (the cold tier's mover, trimming)
// are reused by later writes, but the file keeps its high-water size.
// Compact gives that space back, as etcd's defrag does.
//
// It needs the file to itself: it takes the file lock (waiting up to
// cfg.LockTimeout), so it fails while an origin has the store open. It is
// crash-safe: the copy is written to a temporary file, synced, checked
// and renamed over the original in one step, so a crash at any point
// leaves either the old file or the new one, each complete.
func Compact(cfg Config) (CompactResult, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return CompactResult{}, err
	}
	path := cfg.Path()
	res := CompactResult{Path: path}
	st, err := os.Stat(path)
	if err != nil {
		return res, fmt.Errorf("embedded: compact: %w", err)
	}
	res.Before = st.Size()
	src, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: cfg.LockTimeout, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, bolterr.ErrTimeout) {
			return res, fmt.Errorf("embedded: compact: %s is in use by a running origin or Store (waited %v for its lock): %w", path, cfg.LockTimeout, err)
		}
		return res, fmt.Errorf("embedded: compact: opening %s: %w", path, err)
	}
	defer src.Close()
	format, parts, err := readMeta(src)
	if err != nil {
		return res, err
	}
	if !bytes.Equal(format, formatValue) {
		return res, fmt.Errorf("embedded: compact: %s is not a shortstock store (format %q)", path, format)
	}

	tmp := path + compactSuffix
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return res, fmt.Errorf("embedded: compact: %w", err)
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{NoSync: true, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return res, fmt.Errorf("embedded: compact: creating %s: %w", tmp, err)
	}
	fail := func(err error) (CompactResult, error) {
		_ = dst.Close()
		_ = os.Remove(tmp)
		return res, err
	}
	if err := bolt.Compact(dst, src, compactTxMaxSize); err != nil {
		return fail(fmt.Errorf("embedded: compact: copying %s: %w", path, err))
	}
	// The copy must say what the original said before it replaces it.
	f2, p2, err := readMeta(dst)
	if err != nil {
		return fail(err)
	}
	if !bytes.Equal(f2, format) || !bytes.Equal(p2, parts) {
		return fail(fmt.Errorf("embedded: compact: the copy's metadata differs (format %q/%q, partitions %x/%x)", f2, format, p2, parts))
	}
	var inUse int64
	if err := dst.View(func(tx *bolt.Tx) error { inUse = tx.Size(); return nil }); err != nil {
		return fail(err)
	}
	if err := dst.Close(); err != nil {
		_ = os.Remove(tmp)
		return res, fmt.Errorf("embedded: compact: closing %s: %w", tmp, err)
	}
	// bbolt grows a file ahead of its data (to its mmap size, or 16 MB
	// past it); the copy needs only its pages in use, below the high-water
	// mark, and grows again when written.
	if err := finishCopy(tmp, inUse); err != nil {
		_ = os.Remove(tmp)
		return res, fmt.Errorf("embedded: compact: %w", err)
	}
	// Renamed while the original's lock is still held, so no origin can
	// open the old file in between.
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return res, fmt.Errorf("embedded: compact: replacing %s: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return res, fmt.Errorf("embedded: compact: %w", err)
	}
	if st, err := os.Stat(path); err == nil {
		res.After = st.Size()
	}
	return res, nil
}

// readMeta returns the format and partition count records of db's meta
// bucket (copies: they outlive the transaction).
func readMeta(db *bolt.DB) (format, parts []byte, err error) {
	err = db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if m == nil {
			return fmt.Errorf("embedded: compact: %s is not a shortstock store (no meta bucket)", db.Path())
		}
		format = bytes.Clone(m.Get(keyFormat))
		parts = bytes.Clone(m.Get(keyParts))
		return nil
	})
	return format, parts, err
}

// finishCopy truncates the copy to size and syncs it.
func finishCopy(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && size > 0 && st.Size() > size {
		if err := f.Truncate(size); err != nil {
			return err
		}
	}
	return f.Sync()
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
