package attachment

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Forget erases the files with these object keys ("sha256/…") from the
// attachments object store so that nothing of them is left in the store
// files: every chunk message and the object's description (its file name)
// are overwritten by the server (SecureDeleteMsg) and deleted. The object
// store's own Delete would not do: it purges the chunks, which only marks
// them deleted in the block files, and leaves a marker that still holds
// the file's name. Keys already gone are skipped. It returns how many files
// it erased.
func Forget(ctx context.Context, js jetstream.JetStream, keys []string) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	obs, err := js.ObjectStore(ctx, bus.BucketAttachment)
	if err != nil {
		return 0, fmt.Errorf("attachment: forget: open bucket: %w", err)
	}
	stream, err := js.Stream(ctx, "OBJ_"+bus.BucketAttachment)
	if err != nil {
		return 0, fmt.Errorf("attachment: forget: stream: %w", err)
	}
	n := 0
	for _, key := range keys {
		if sha, ok := strings.CutPrefix(key, "sha256/"); !ok || len(sha) != 64 || strings.Trim(sha, "0123456789abcdef") != "" {
			return n, fault.E(fault.Invalid, fmt.Errorf("attachment: forget: %q is not an object key", key))
		}
		info, err := obs.GetInfo(ctx, key, jetstream.GetObjectInfoShowDeleted())
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			continue
		}
		if err != nil {
			return n, fault.E(fault.Transient, fmt.Errorf("attachment: forget: info %s: %w", key, err))
		}
		// Chunks first: should this stop half way, the description is still
		// there to find them by next time.
		for _, subject := range []string{
			"$O." + bus.BucketAttachment + ".C." + info.NUID,
			"$O." + bus.BucketAttachment + ".M." + base64.URLEncoding.EncodeToString([]byte(key)),
		} {
			if err := eraseSubject(ctx, stream, subject); err != nil {
				return n, fault.E(fault.Transient, fmt.Errorf("attachment: forget %s: %w", key, err))
			}
		}
		n++
	}
	return n, nil
}

// eraseSubject erases every message of stream on subject, found one after
// the other by the server's index of subjects.
func eraseSubject(ctx context.Context, stream jetstream.Stream, subject string) error {
	for seq := uint64(1); ; {
		m, err := stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("find %s: %w", subject, err)
		}
		if err := bus.Erase(ctx, stream, m.Sequence); err != nil {
			return err
		}
		seq = m.Sequence + 1
	}
}
