package store

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/encryption"
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
	Object json.RawMessage `json:"object,omitempty"`
	// Sealed holds the object encrypted, for Secrets.
	Sealed []byte `json:"sealed,omitempty"`
}

const snapshotFormat = "baton-store-snapshot"

// Save writes every object, and the revision they are at, to w as JSON
// lines: a header, then one record per object. Secrets are sealed with
// keys; when there are Secrets and keys is nil, Save writes nothing and
// fails, since it would otherwise write them in plaintext. It writes one
// consistent snapshot and does not block writers.
func (s *Store) Save(w io.Writer, keys encryption.KeySource) error {
	v := s.current.Load()
	tx := &readTx{txn: v.db.Txn(false), rev: v.rev}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(snapshotHeader{Format: snapshotFormat, Version: snapshotVersion, Revision: v.rev}); err != nil {
		return fmt.Errorf("store: save: %w", err)
	}
	if keys == nil {
		secrets := 0
		tx.Each(api.KindSecret, "", func(api.Object) bool { secrets++; return true })
		if secrets > 0 {
			return fmt.Errorf("store: save: %d Secrets would be written in plaintext; give the store encryption keys: %w", secrets, api.ErrFailedPrecondition)
		}
	}
	for _, kind := range Kinds() {
		var err error
		tx.Each(kind, "", func(o api.Object) bool {
			var raw []byte
			if raw, err = json.Marshal(o); err != nil {
				return false
			}
			rec := snapshotRecord{Kind: kind, Object: raw}
			if kind == api.KindSecret {
				if rec.Sealed, err = encryption.Encrypt(keys, raw); err != nil {
					return false
				}
				rec.Object = nil
			}
			err = enc.Encode(rec)
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
// (revision 0, no subscribers), opening sealed Secrets with keys. Objects
// keep their uid and resourceVersion, and the store resumes at the
// snapshot's revision. On error the store is left empty.
func (s *Store) Restore(r io.Reader, keys encryption.KeySource) error {
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
		if rec.Sealed != nil {
			if keys == nil {
				txn.Abort()
				return fmt.Errorf("store: restore: record %d (%s) is encrypted; give the store the keys it was saved with: %w", n, rec.Kind, api.ErrFailedPrecondition)
			}
			if rec.Object, err = encryption.Decrypt(keys, rec.Sealed); err != nil {
				txn.Abort()
				return fmt.Errorf("store: restore: record %d (%s): %w", n, rec.Kind, err)
			}
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
