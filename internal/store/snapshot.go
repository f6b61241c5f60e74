package store

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/batonhq/baton/api"
)

// snapshotVersion is the format of Save's output.
const snapshotVersion = 1

type snapshotHeader struct {
	Format   string `json:"format"`
	Version  int    `json:"version"`
	Revision uint64 `json:"revision"`
}

type snapshotRecord struct {
	Kind   string          `json:"kind"`
	Object json.RawMessage `json:"object"`
}

const snapshotFormat = "baton-store-snapshot"

// Save writes every object, and the revision they are at, to w as JSON
// lines: a header, then one record per object. It writes one consistent
// snapshot and does not block writers.
func (s *Store) Save(w io.Writer) error {
	v := s.current.Load()
	tx := &readTx{txn: v.db.Txn(false), rev: v.rev}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(snapshotHeader{Format: snapshotFormat, Version: snapshotVersion, Revision: v.rev}); err != nil {
		return fmt.Errorf("store: save: %w", err)
	}
	for _, kind := range Kinds() {
		var err error
		tx.Each(kind, "", func(o api.Object) bool {
			var raw []byte
			if raw, err = json.Marshal(o); err != nil {
				return false
			}
			err = enc.Encode(snapshotRecord{Kind: kind, Object: raw})
			return err == nil
		})
		if err != nil {
			return fmt.Errorf("store: save %s: %w", kind, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("store: save: %w", err)
	}
	return nil
}

// Restore loads a snapshot written by Save into a store that is still empty
// (revision 0, no subscribers). Objects keep their uid and resourceVersion,
// and the store resumes at the snapshot's revision. On error the store is
// left empty.
func (s *Store) Restore(r io.Reader) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.rev != 0 || len(s.subs) != 0 {
		return fmt.Errorf("store: restore needs an empty store with no watchers: %w", api.ErrFailedPrecondition)
	}
	dec := json.NewDecoder(bufio.NewReader(r))
	var header snapshotHeader
	if err := dec.Decode(&header); err != nil {
		return fmt.Errorf("store: restore: reading header: %w", err)
	}
	if header.Format != snapshotFormat || header.Version != snapshotVersion {
		return fmt.Errorf("store: restore: not a version %d %s (format %q version %d): %w",
			snapshotVersion, snapshotFormat, header.Format, header.Version, api.ErrInvalid)
	}
	txn := s.db.Txn(true)
	for n := 1; ; n++ {
		var rec snapshotRecord
		if err := dec.Decode(&rec); err == io.EOF {
			break
		} else if err != nil {
			txn.Abort()
			return fmt.Errorf("store: restore: record %d: %w", n, err)
		}
		obj, err := api.NewObject(rec.Kind)
		if err != nil {
			txn.Abort()
			return fmt.Errorf("store: restore: record %d: %w", n, err)
		}
		if err := json.Unmarshal(rec.Object, obj); err != nil {
			txn.Abort()
			return fmt.Errorf("store: restore: record %d (%s): %w", n, rec.Kind, err)
		}
		if err := txn.Insert(rec.Kind, obj); err != nil {
			txn.Abort()
			return fmt.Errorf("store: restore: record %d (%s %s): %w", n, rec.Kind, obj.GetObjectMeta().Key(), err)
		}
	}
	txn.Commit()
	s.rev = header.Revision
	s.history.reset(header.Revision)
	s.current.Store(&view{db: s.db.Snapshot(), rev: s.rev})
	return nil
}
